"""The status tables show texts from outside (Graph errors, ids, job args) as text: no
control character reaches the operator's terminal."""

from __future__ import annotations

import io

from rich.console import Console

from service.operations.status_view import TABLES, render

HOSTILE = "boom\x1b]0;owned\x07\x1b[2J\x9b31m\rdone"


def report_with(error: str) -> dict:
    report: dict = {key: [] for _, key, _ in TABLES}
    report["outbound_failed"] = [
        {
            "id": 7,
            "recipient_ig_id": "178",
            "kind": "ack",
            "attempts": 5,
            "error": error,
            "failed_at": "2026-12-01T00:00:00Z",
        }
    ]
    report["checks"] = [
        {"name": "dms_failed", "value": 1, "limit": 0, "ok": False, "detail": error}
    ]
    report["messages_unhandled"] = {"messages": 0}
    report["verification_reads"] = {"sent": 0, "read_within_hour": 0}
    report["thresholds"] = {"unhandled_after": 300}
    report["healthy"] = False
    report["generated_at"] = "2026-12-01T00:00:00Z"
    return report


def printed(report: dict) -> str:
    out = io.StringIO()
    Console(file=out, width=400, color_system=None).print(render(report))
    return out.getvalue()


def test_control_characters_in_an_error_are_shown_escaped():
    text = printed(report_with(HOSTILE))
    assert not any(ch in text for ch in "\x1b\x07\x9b\r")
    assert "boom\\x1b]0;owned" in text
