"""`python -m bench --only`: the named figures run with the measurements they need, the
others' rows say `not run`, and those rows fail nothing."""

from __future__ import annotations

import pytest

from bench import report, run, steps
from bench.options import FIGURES, parse


def test_every_figure_of_the_report_can_be_named() -> None:
    assert [f.name for f in report.figures(parse([]))] == list(FIGURES)


def test_only_takes_a_comma_separated_list_of_names() -> None:
    assert parse(["--only", "rss, meta_delivery"]).only == ("rss", "meta_delivery")


def test_only_refuses_a_name_no_figure_has() -> None:
    with pytest.raises(SystemExit):
        parse(["--only", "ingest_rate,no_such_figure"])


def test_the_half_rate_figure_runs_with_the_full_load_rate_and_the_big_tables() -> None:
    wanted = steps._wanted(report.needs(parse(["--only", "half_rate_big"])))
    assert wanted == {"ingest_rate", "ingest_latency_half", "big_fill", "ingest_latency_half_big"}


def test_without_only_every_measurement_runs() -> None:
    assert steps._wanted(report.needs(parse([]))) is None


def test_the_rows_left_out_say_not_run_and_fail_nothing() -> None:
    options = parse(["--only", "meta_delivery"])
    results = {
        "meta_delivery": {
            "events": 1000,
            "seconds": 2.0,
            "stored_after_s": 1.0,
            "answered_after_s": 0.02,
            "pgbench": {"seconds": 1.0, "transactions": 1000, "clients": 8},
        }
    }
    table = report.rows(results, options)
    left_out = [row for row in table if row.name != "meta_delivery"]
    assert {row.measured for row in left_out} == {"not run"}
    assert [row.met for row in table if row.name == "meta_delivery"] == [True]
    assert run.exit_code(table) == 0


def test_a_named_figure_that_could_not_be_measured_fails_the_run() -> None:
    table = report.rows({}, parse(["--only", "rss"]))
    assert [row.measured for row in table if row.name == "rss"] == ["failed: not measured"]
    assert run.exit_code(table) == 1
