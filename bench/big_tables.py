"""Figure 5's database: `messages` and `procrastinate_jobs` grown by N rows each (10M by
default) of the shapes the service leaves, then vacuumed and analyzed as autovacuum would
have by then.

No `procrastinate_events` rows are added: neither the claim nor the defer reads them, and
the rows they add land at the right edge of their indexes whatever their size.
"""

from __future__ import annotations

import time

from bench.harness import Harness

BATCH = 1_000_000  # rows per statement: a progress line each, and bounded transactions


def fill(h: Harness) -> dict:
    rows = h.options.big_rows
    started = time.monotonic()
    for table, query in (("messages", "fill_messages"), ("procrastinate_jobs", "fill_jobs")):
        for first in range(1, rows + 1, BATCH):
            last = min(rows, first + BATCH - 1)
            h.progress(f"figure 5: {table}: rows {first:,}..{last:,} of {rows:,}")
            h.db.run(query, first=first, last=last, total=rows)
    h.progress("figure 5: VACUUM ANALYZE, CHECKPOINT")
    h.db.run("vacuum_big_tables")
    h.db.run("checkpoint")
    return {"rows_per_table": rows, "seconds": round(time.monotonic() - started, 1)}
