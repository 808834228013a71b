"""`ingest worker`: run the procrastinate worker for the app's queues, and keep it running.

procrastinate stops its worker loop when it loses the database (its listener cannot
reconnect, a fetch fails) and recovers nothing by itself. So this module runs the loop
again once the database answers, under a new worker id: jobs the old loop left in `doing`
then belong to a worker without heartbeats, and the rescue (`workers.rescue`) returns
them to the queue. A job that meets a lost database also stops the loop, so a short outage
that the listener rides out cannot leave a job in `doing` under a live worker. A database
still unreachable after `worker_database_outage_seconds` ends the process with exit code 1,
for its supervisor: never a worker that idles silently.

SIGTERM or SIGINT stops gracefully: in-flight jobs get `worker_shutdown_seconds` to finish,
and any still running then are aborted and retried; then the sends that jobs left waiting
for their turns (`service.core.background`) get as long again.

A job that ends while the database is lost cannot record its outcome: procrastinate's
task for it then fails, and nothing collects that failure, which asyncio would report as
"Task exception was never retrieved" with two tracebacks. The job is still `doing`, and
the rescue returns it; the worker logs that in one line instead (`lost_job_outcomes_logged`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import procrastinate
import prometheus_client
import structlog

from service.business_account.runtime import open_runtime
from service.core import background, jobs
from service.core.backoff import backoff_seconds, waits
from service.core.db import is_database_unavailable
from service.core.runtime import Runtime
from service.core.settings import WORKER_SETTINGS, Settings
from workers import middleware, rescue, tasks

log = structlog.get_logger("workers")

# The procrastinate workers one process runs (`_work`): the messages' queue, and the others.
WORKERS_PER_PROCESS = 2


async def run(
    settings: Settings, *, concurrency: int | None = None, install_signal_handlers: bool = True
) -> int:
    """Work until asked to stop (0), or until the database stays unreachable (1)."""
    code = await _run_until_stopped(
        settings, concurrency=concurrency, install_signal_handlers=install_signal_handlers
    )
    # The pair of "worker started": a supervisor's log shows the worker went away on purpose.
    log.info("worker stopped", exit_code=code)
    return code


async def _run_until_stopped(
    settings: Settings, *, concurrency: int | None, install_signal_handlers: bool
) -> int:
    settings.require(*WORKER_SETTINGS)
    concurrency = concurrency or settings.worker_concurrency
    app = jobs.make_app(settings.database_url)
    tasks.register(app)
    rescue.register(app, settings)
    stop = asyncio.Event()
    # Shared by the job slots (a slot waiting on the Graph API holds none) and the worker's
    # own fetches and bookkeeping; procrastinate's LISTEN has a connection of its own.
    async with open_runtime(settings, pool_max_size=settings.worker_pool_size, job_app=app) as rt:
        metrics_server = None
        if settings.worker_metrics_port:
            metrics_server, _ = prometheus_client.start_http_server(
                settings.worker_metrics_port, addr=settings.host
            )
        log.info(
            "worker started",
            queues=list(jobs.QUEUES),
            concurrency=concurrency,
            decide_concurrency=settings.decide_concurrency,
            pool_size=settings.worker_pool_size,
            graph_sandbox=settings.graph_is_sandbox,
            metrics_port=settings.worker_metrics_port or None,
        )
        with contextlib.ExitStack() as cleanup:
            cleanup.enter_context(lost_job_outcomes_logged())
            if metrics_server is not None:
                cleanup.callback(metrics_server.shutdown)
            if install_signal_handlers:
                cleanup.enter_context(_stop_on_signals(stop))
            pacing = RestartPacing()
            while not await _work(app, rt, concurrency, stop):
                if not await _wait_for_database(app, settings.worker_database_outage_seconds):
                    log.error(
                        "database unreachable; exiting for the supervisor to restart",
                        seconds=settings.worker_database_outage_seconds,
                    )
                    return 1
                pause = pacing.next_pause()
                log.warning("database reachable; restarting the worker loop", after=pause)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
                if stop.is_set():
                    return 0
    return 0


class RestartPacing:
    """How long to wait before running the worker loop again.

    A loop that stopped soon after it started stops for a reason that a restart does not
    cure (procrastinate stops quietly when one of its side tasks fails): each such restart
    waits twice as long as the last, from `first` up to `cap`, so that it never spins. A
    loop that ran for `healthy_after` seconds restarts at once.
    """

    def __init__(
        self,
        *,
        first: float = 0.5,
        cap: float = 30.0,
        healthy_after: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.first, self.cap, self.healthy_after, self._clock = first, cap, healthy_after, clock
        self._quick_restarts = 0
        self._started = clock()

    def next_pause(self) -> float:
        now = self._clock()
        if now - self._started >= self.healthy_after:
            self._quick_restarts, pause = 0, 0.0
        else:
            self._quick_restarts += 1
            pause = backoff_seconds(self._quick_restarts, base=self.first, cap=self.cap)
        self._started = now + pause
        return pause


def poll_seconds(s: Settings) -> float:
    """How often the worker looks for jobs due: WORKER_POLL_SECONDS, or more often when sends
    are paced, so that the sends waiting their turn come back before the bucket, refilled
    to its burst, wastes what it would have admitted."""
    if s.graph_send_rate <= 0:
        return s.worker_poll_seconds
    return min(s.worker_poll_seconds, max(1, s.graph_send_burst) / s.graph_send_rate / 2)


async def _work(app: procrastinate.App, rt: Runtime, concurrency: int, stop: asyncio.Event) -> bool:
    """Run one worker loop; True when it ended because a stop was asked for.

    The loop is two procrastinate workers: one for the messages' jobs, with
    DECIDE_CONCURRENCY slots, and one for every other queue, with `concurrency`. Few
    deciding slots make busy accounts' messages wait for one, and a job that finds them
    waiting decides them together (`service.messages.batches`); a lone message still finds
    a slot free at once."""
    s = rt.settings
    common: dict[str, Any] = {
        "additional_context": {"runtime": rt},
        "fetch_job_polling_interval": poll_seconds(s),
        "update_heartbeat_interval": s.worker_heartbeat_seconds,
        "stalled_worker_timeout": s.worker_stalled_seconds,
        "shutdown_graceful_timeout": s.worker_shutdown_seconds,
        "worker_middleware": [middleware.count_and_log, _stop_when_database_lost],
        "install_signal_handlers": False,
    }
    others = [queue for queue in jobs.QUEUES if queue != jobs.QUEUE_MESSAGES]
    workers = {
        asyncio.create_task(
            app.run_worker_async(
                queues=[jobs.QUEUE_MESSAGES],
                concurrency=s.decide_concurrency,
                name="messages",
                **common,
            )
        ),
        asyncio.create_task(
            app.run_worker_async(queues=others, concurrency=concurrency, name="others", **common)
        ),
    }
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({*workers, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        for worker in workers:
            if not worker.done():
                # Cancelling is procrastinate's graceful stop: jobs finish, then abort.
                worker.cancel()
        await asyncio.wait(workers)
    if stop.is_set():
        # The sends a job left waiting for their turns (`service.core.background`).
        await background.finish(s.worker_shutdown_seconds)
        return True
    errors = [e for w in workers if not w.cancelled() and (e := w.exception()) is not None]
    for error in errors:
        if not is_database_unavailable(error):
            raise error  # a bug, not an outage: restarting would only loop on it
    log.warning("worker loop stopped", error=repr(errors[0]) if errors else "lost its database")
    return False


async def _stop_when_database_lost(
    call_next: Callable[[], Awaitable[Any]],
    context: procrastinate.JobContext,
    worker: procrastinate.worker.Worker,
) -> Any:
    try:
        return await call_next()
    except Exception as exc:
        if is_database_unavailable(exc):
            worker.stop()
        raise


async def _wait_for_database(app: procrastinate.App, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    for pause in waits(base=0.1, cap=2.0):
        try:
            await app.check_connection_async()
            return True
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
        if time.monotonic() + pause > deadline:
            return False
        await asyncio.sleep(pause)
    raise AssertionError("unreachable: waits() never ends")


# How procrastinate names the task that runs a job and records its outcome.
_JOB_TASK_PREFIX = "process job "


@contextlib.contextmanager
def lost_job_outcomes_logged() -> Iterator[None]:
    """While it lasts, a job's task that failed because the database was lost, which no
    one collects, is logged as one warning rather than by asyncio as never retrieved."""
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()

    def handle(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        task, exc = context.get("future"), context.get("exception")
        if (
            isinstance(task, asyncio.Task)
            and task.get_name().startswith(_JOB_TASK_PREFIX)
            and exc is not None
            and is_database_unavailable(exc)
        ):
            log.warning(
                "job outcome not recorded: the database was lost; the rescue returns the job",
                job=task.get_name().removeprefix(_JOB_TASK_PREFIX),
                error=repr(exc.__cause__ or exc),
            )
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)
    try:
        yield
    finally:
        loop.set_exception_handler(previous)


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
