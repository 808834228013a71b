"""What a newcomer reads stays short enough to hold: the README is the front door (the depth
lives in docs/), and no module of the service, the workers, the CLI or the dev tools grows
past 300 lines."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README_MAX_LINES = 140
MODULE_MAX_LINES = 300
PACKAGES = ("service", "workers", "ingest", "devtools")


def lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_readme_stays_a_front_door():
    assert lines(ROOT / "README.md") <= README_MAX_LINES


def test_no_module_is_longer_than_a_reader_can_hold():
    too_long = {
        str(path.relative_to(ROOT)): lines(path)
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if lines(path) > MODULE_MAX_LINES
    }
    assert too_long == {}
