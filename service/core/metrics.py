"""The service's own Prometheus metrics, counted in the process where things happen.

web and worker are separate processes, and each counts what it does: web exposes its
metrics on `GET /metrics`, a worker on `WORKER_METRICS_PORT` when set. Prometheus sums
them across targets (`sum by (task) (...)`). What the database already knows (queue
depth, job and DM states, backlogs) is read from the status queries at scrape time by
web's `/metrics` instead (`service.http.metrics_endpoint`), so it is right whichever process did
the work, and needs no worker port.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOBS_DEFERRED = Counter("ingest_jobs_deferred", "Jobs deferred by this process, by task.", ["task"])
JOBS_SUCCEEDED = Counter("ingest_jobs_succeeded", "Job runs that finished, by task.", ["task"])
JOBS_FAILED = Counter(
    "ingest_jobs_failed",
    "Job runs that raised, by task (procrastinate may retry the job).",
    ["task"],
)
RESCUE_SUPERSEDED = Counter(
    "ingest_rescue_superseded_jobs",
    "Stalled jobs the rescue failed instead of re-queueing, because a waiting job holds"
    " their queueing lock, by task.",
    ["task"],
)
DMS = Counter(
    "ingest_dms",
    "Graph API sends by DM kind, result (sent, retrying or failed) and the account sending.",
    ["kind", "result", "account"],
)
DMS_PACED = Counter(
    "ingest_dms_paced",
    "Sends re-scheduled because the account's send bucket was empty (GRAPH_SEND_RATE), by"
    " kind and account.",
    ["kind", "account"],
)
GRAPH_LATENCY = Histogram(
    "ingest_graph_request_seconds",
    "Time of one Graph API send call, errors included.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
INGEST_LATENCY = Histogram(
    "ingest_message_latency_seconds",
    "From a message being stored to its decision.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
UNSENDS = Counter(
    "ingest_unsends",
    "Unsends taken in by this process, by outcome: unsent, remembered (before their"
    " message), repeated.",
    ["outcome"],
)
EDITS = Counter(
    "ingest_edits",
    "Edits taken in by this process (repeats not counted), by outcome: applied, stale,"
    " unsent, unknown_message.",
    ["outcome"],
)
SENDERLESS_EDITS = Counter(
    "ingest_senderless_edits",
    "Edits that named no sender, counted in this process (repeats not counted): messages"
    " arriving in a form that cannot be stored.",
)

WEBHOOK_SUBSCRIBED = Gauge(
    "ingest_webhook_subscribed",
    "1 when the last read of the account's webhook subscription found `messages`, else 0,"
    " by account.",
    ["account"],
)

# An outbound row's status after a send, as the DMS counter's result.
DM_RESULTS = {"sent": "sent", "pending": "retrying", "failed": "failed"}

# The web process's front door (`service.http.protocol`, `service.http.request_log`).
HTTP_REFUSED = Counter(
    "ingest_http_refused",
    "Connections the web process refused or closed before its app answered, by reason:"
    " connections or bodies (over the caps, answered 503), header_timeout, header_size,"
    " body_timeout.",
    ["reason"],
)
HTTP_ABORTED_UPLOADS = Counter(
    "ingest_http_aborted_uploads",
    "Requests whose client went away (or was cut off as too slow) before its body was"
    " complete: logged with status 499, not counted as server errors.",
)
