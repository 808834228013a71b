"""The stored access token, for tests: where the plaintext might appear, and ageing it."""

from __future__ import annotations

from psycopg import sql


def tables_holding(db, text: str) -> list[str]:
    """The tables with a row whose any column, as text, contains `text`."""
    tables = db.execute(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    ).fetchall()
    found = []
    for (name,) in (tuple(t.values()) for t in tables):
        query = sql.SQL("SELECT 1 FROM {} AS t WHERE t::text LIKE %s LIMIT 1").format(
            sql.Identifier(name)
        )
        if db.execute(query, (f"%{text}%",)).fetchone():
            found.append(name)
    return found


def age_token(db, *, issued_days_ago: float, expires_in_days: float) -> None:
    db.execute(
        "UPDATE graph_access_tokens SET issued_at = now() - make_interval(secs => %s),"
        " expires_at = now() + make_interval(secs => %s)",
        (issued_days_ago * 86400, expires_in_days * 86400),
    )


def token_row(db) -> dict:
    return db.execute("SELECT * FROM graph_access_tokens").fetchone()
