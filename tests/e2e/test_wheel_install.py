"""The service as an operator deploys it: the wheel installed (not editable) in a fresh
virtualenv, run from a folder that is not the checkout, finds its SQL and does its work.

The wheel is built once for the module from the checkout's files (as a commit holds them),
in a copy, so that no `build/` left in the checkout leaks stale files into it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from tests.support.pg import ROOT
from tests.support.processes import free_port, start_web, start_worker, wait_until
from tests.support.stack import SCOPED_ID, SERVICE_TOKEN, make_env

MIGRATIONS = sorted(
    path.stem for path in (ROOT / "service" / "store" / "sql" / "migrations").glob("*.sql")
)
# What a process gets from this one: enough to run, nothing that points at the checkout.
PASSED_ON = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
CONSOLE = "wheel-console-password-0123"


def run(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600):
    return subprocess.run(
        [str(arg) for arg in argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def process_env(**settings: str) -> dict[str, str]:
    return {**{k: os.environ[k] for k in PASSED_ON if k in os.environ}, **settings}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    assert listed.returncode == 0, listed.stderr
    source = tmp_path_factory.mktemp("source")
    for name in filter(None, listed.stdout.split("\0")):
        if (ROOT / name).is_file():  # a tracked file deleted in the work tree is not listed
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", out, source, cwd=out)
    assert built.returncode == 0, built.stdout + built.stderr
    [path] = out.glob("reeva_ingest-*.whl")
    return path


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel and its dependencies, resolved by pip."""
    path = tmp_path_factory.mktemp("venv")
    created = run(sys.executable, "-m", "venv", "--without-pip", path, cwd=path)
    assert created.returncode == 0, created.stderr
    python = path / "bin" / "python"
    installed = run(
        sys.executable, "-m", "pip", "--python", python, "install", "--quiet", wheel, cwd=path
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return path


@pytest.fixture
def empty_database(db, database_url: str) -> Iterator[str]:
    """A database with nothing in it, for `ingest migrate` to build."""
    name = f"{db.info.dbname}_empty"
    db.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    yield psycopg.conninfo.make_conninfo("", **{**info, "dbname": name})
    db.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def applied(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        return sorted(row[0] for row in conn.execute("SELECT name FROM schema_migrations"))


def test_the_installed_wheel_migrates_serves_and_sends_a_dm(venv, empty_database, db, tmp_path):
    python, ingest = venv / "bin" / "python", venv / "bin" / "ingest"
    where = run(python, "-c", "import service; print(service.__file__)", cwd=tmp_path)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr

    graph_port = free_port()
    graph = f"http://127.0.0.1:{graph_port}"
    env = process_env(
        **make_env(database_url=empty_database, graph_url=graph, CONSOLE_PASSWORD=CONSOLE)
    )
    migrated = run(ingest, "migrate", cwd=tmp_path, env=env, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    assert applied(empty_database) == sorted(["procrastinate", *MIGRATIONS])

    sandbox = subprocess.Popen(
        [python, "-m", "devtools.sandbox", "--port", str(graph_port), "--quiet"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    processes = []
    try:
        wait_until(lambda: _answers(f"{graph}/_sandbox/requests"), what="the sandbox to start")
        how = {"ingest": [ingest], "cwd": tmp_path, "inherit_env": False}
        web, web_url = start_web(env, **how)
        processes.append(web)
        with psycopg.connect(empty_database, autocommit=True, row_factory=dict_row) as conn:
            processes.append(start_worker(env, conn, **how))

        assert httpx.get(f"{web_url}/readyz", timeout=10).status_code == 200
        response = httpx.post(
            f"{web_url}/api/internal/ingest-event",
            json={
                "mid": "wheel-1",
                "sender_ig_id": "user-wheel",
                "recipient_ig_id": SCOPED_ID,
                "timestamp": "1734123456",
                "message_text": "hello from an installed wheel",
            },
            headers={"x-service-token": SERVICE_TOKEN},
            timeout=10,
        )
        assert response.status_code == 202, response.text
        [dm] = wait_until(
            lambda: httpx.get(f"{graph}/_sandbox/messages", timeout=5).json(),
            timeout=30,
            what="the verification DM",
        )
        assert dm["recipient_id"] == "user-wheel" and "/verify?token=" in dm["text"]
        _see_the_message_in_the_console(web_url)
    finally:
        for process in processes:
            process.close()
        sandbox.terminate()
        sandbox.wait(timeout=30)


def _see_the_message_in_the_console(web_url: str) -> None:
    """The console's templates and htmx come from the installed package's data."""
    with httpx.Client(base_url=web_url, timeout=10) as client:
        assert client.get("/console/static/htmx.min.js").text.startswith("var htmx")
        form = client.get("/console/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)[1]
        signed_in = client.post(
            "/console/login",
            data={"_csrf_token": token, "operator": "ops", "password": CONSOLE},
            follow_redirects=True,
        )
        assert signed_in.status_code == 200 and "Checks" in signed_in.text
        page = client.get("/console/message", params={"mid": "wheel-1"})
        assert page.status_code == 200 and "user-wheel" in page.text
        assert "hello from an installed wheel" not in page.text


def test_the_wheel_holds_the_console_templates_and_htmx(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        path.relative_to(ROOT).as_posix()
        for folder in ("templates", "static")
        for path in (ROOT / "service" / "console" / folder).iterdir()
    }
    assert shipped <= names and "service/console/static/htmx.min.js" in shipped


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def run_from_zip(archive: Path, command: str, database_url: str, cwd: Path):
    """`ingest COMMAND` with the package imported from `archive` itself (zipimport), as a
    zipped install runs it: its SQL can only be read through importlib.resources."""
    env = process_env(PYTHONPATH=str(archive), DATABASE_URL=database_url)
    return run(sys.executable, "-m", "ingest.cli", command, cwd=cwd, env=env, timeout=120)


def test_the_wheel_migrates_when_imported_from_the_zip_file(wheel, empty_database, tmp_path):
    migrated = run_from_zip(wheel, "migrate", empty_database, tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert applied(empty_database) == sorted(["procrastinate", *MIGRATIONS])


@pytest.mark.parametrize(
    "left_out, refusal",
    [
        ("service/store/sql/queries/schema_migrations.sql", "no query 'schema_migrations_lock'"),
        ("service/store/sql/migrations/", "no migrations"),
    ],
)
def test_an_install_without_its_sql_refuses_to_start_with_one_line(
    wheel, empty_database, tmp_path, left_out, refusal
):
    archive = tmp_path / "incomplete.zip"
    with zipfile.ZipFile(wheel) as full, zipfile.ZipFile(archive, "w") as incomplete:
        for item in full.infolist():
            if not item.filename.startswith(left_out):
                incomplete.writestr(item, full.read(item))
    result = run_from_zip(archive, "migrate", empty_database, tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"ingest migrate: {refusal} in "), result.stderr
