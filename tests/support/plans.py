"""Reading query plans (EXPLAIN (FORMAT JSON)): which tables a query reads in full."""

from __future__ import annotations

from collections.abc import Collection, Iterator


def nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def whole_table_reads(
    plan: dict, partial_indexes: Collection[str], tables: Collection[str]
) -> list[str]:
    """The `tables` that a plan reads in full: a sequential scan, or an index walked end to
    end (no condition, and not a partial index, which holds only what it names)."""
    read = []
    for node in nodes(plan):
        table = node.get("Relation Name")
        if table not in tables:
            continue
        walked = (
            node["Node Type"] in ("Index Scan", "Index Only Scan")
            and "Index Cond" not in node
            and node["Index Name"] not in partial_indexes
        )
        if node["Node Type"] == "Seq Scan" or walked:
            read.append(f"{node['Node Type']} on {table}")
    return read


def partial_indexes(db) -> set[str]:
    return {
        row["name"]
        for row in db.execute(
            "SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indpred IS NOT NULL"
        )
    }
