"""Background jobs: on Redis with RQ when ``REDIS_URL`` is set, else in a thread of
this process. Job functions take plain arguments (ids) and open their own app
context, so the same function runs in either place.

An RQ worker: ``rq worker -w api.rqworker.RoutingWorker --url $REDIS_URL postal`` with the
app's environment (``DATABASE_URL`` …); the job builds its app with ``create_app()``.
"""

from __future__ import annotations

import importlib
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)

QUEUE = "postal"
_worker_app: Flask | None = None


_warm_up_started = False


def warm_up_routing() -> threading.Thread | None:
    """Load the routing library's compiled kernels (``routing.warm_up``) in a background
    thread, once per process: long-running processes (gunicorn workers, RQ workers) call
    this at start so the first solve keeps its whole time budget. Returns the thread
    (None if already started)."""
    global _warm_up_started
    if _warm_up_started:
        return None
    _warm_up_started = True

    def target() -> None:
        try:
            from routing import warm_up

            spent = warm_up()
            log.info("routing kernels ready in %.1f s", spent)
        except Exception:  # noqa: BLE001 - routing falls back to PyVRP by itself
            log.warning("routing warm-up failed", exc_info=True)

    thread = threading.Thread(target=target, name="routing-warm-up", daemon=True)
    thread.start()
    return thread


def set_worker_app(app: Flask | None) -> None:
    """The app jobs run in when executed by a worker (default: ``create_app()``)."""
    global _worker_app
    _worker_app = app


def worker_app() -> Flask:
    global _worker_app
    if _worker_app is None:
        from api import create_app

        _worker_app = create_app()
        warm_up_routing()  # an RQ worker process: its first job keeps its budget
    return _worker_app


def _resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.rpartition(".")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return fn


def run_job(path: str, *args: Any) -> Any:
    """Entry point of every job: run ``path(*args)`` inside the worker's app context."""
    with worker_app().app_context():
        return _resolve(path)(*args)


#: seconds a request waits on Redis (queueing a job, reading its state)
REDIS_TIMEOUT_S = 5


def submit(app: Flask, path: str, *args: Any, timeout_s: int = 900) -> str:
    """Queue ``path(*args)``; returns the job id."""
    url = app.config.get("REDIS_URL")
    if url:
        from redis import Redis
        from rq import Queue

        # a Redis that accepts and never answers: the request's 503 after 5 s, not a
        # web thread held (redis-py before 8 had no default timeout)
        queue = Queue(QUEUE, connection=Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S))
        job = queue.enqueue(run_job, path, *args, job_timeout=timeout_s,
                            failure_ttl=7 * 86400, result_ttl=86400)
        return str(job.id)
    job_id = f"thread-{uuid.uuid4().hex[:12]}"

    def target() -> None:
        try:
            with app.app_context():
                _resolve(path)(*args)
        except Exception:  # noqa: BLE001 - a job's failure is recorded by the job itself
            log.exception("background job %s (%s) failed", job_id, path)

    thread = threading.Thread(target=target, name=job_id, daemon=True)
    thread.start()
    return job_id


def withdraw(app: Flask, job_id: str) -> bool:
    """Take a job off the RQ queue if no worker has taken it yet (its plan was
    cancelled: a worker would otherwise build an app, ~2 s, only to find nothing to do).
    Best effort: a job already taken, gone, or Redis unreachable is left as it is (the
    job sees its plan cancelled and ends). True if it was withdrawn."""
    url = app.config.get("REDIS_URL")
    if not url or job_id.startswith("thread-"):
        return False
    from redis import Redis
    from redis.exceptions import RedisError
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        job = Job.fetch(job_id, connection=Redis.from_url(url, socket_timeout=2))
        if job.get_status() != "queued":
            return False
        job.cancel()
    except (NoSuchJobError, RedisError):
        return False
    return True


@dataclass(frozen=True)
class JobState:
    """RQ's view of a job."""

    #: ``queued``, ``started``, ``finished``, ``failed``, ``stopped``, ``canceled`` …,
    #: ``missing`` (no such job in Redis), or ``no-queue`` (an RQ job, but this app runs
    #: without ``REDIS_URL``: restarted without it, it cannot see the queue at all)
    status: str
    #: when a worker took it (a ``started`` job)
    started_at: datetime | None = None
    #: the last heartbeat of the worker that took it; None when that worker is gone from
    #: Redis (the key of an ``rq worker`` running a job expires 90 s after its last beat)
    worker_beat_at: datetime | None = None


def rq_job_state(app: Flask, job_id: str) -> JobState | None:
    """RQ's view of a job, or None (a thread job, or Redis unreachable); ``no-queue``
    for an RQ job when this app has no ``REDIS_URL``."""
    if job_id.startswith("thread-"):
        return None
    url = app.config.get("REDIS_URL")
    if not url:
        return JobState("no-queue")
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from rq import Worker
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from rq.utils import utcparse

    try:
        connection = Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_S,
                                    socket_connect_timeout=REDIS_TIMEOUT_S)
        job = Job.fetch(job_id, connection=connection)
        status = job.get_status()
        state = JobState(str(getattr(status, "value", status)), started_at=job.started_at)
        if state.status != "started":
            return state
        beat = (connection.hget(Worker.redis_worker_namespace_prefix + job.worker_name,
                                "last_heartbeat") if job.worker_name else None)
        if isinstance(beat, bytes):  # without decode_responses
            beat = beat.decode()
        return replace(state, worker_beat_at=utcparse(beat) if beat else None)
    except NoSuchJobError:
        return JobState("missing")
    except (RedisConnectionError, RedisTimeoutError):
        log.warning("Redis unreachable: status of job %s unknown", job_id)
        return None  # unknown for now: the plan is shown as stored
