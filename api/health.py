"""Liveness and readiness: ``GET /healthz``.

The status code follows the database alone (503 when it does not answer): it is what
every request needs, and a load balancer takes a node out on it. When ``REDIS_URL``
is set the answer also says whether the job queue answers and how many RQ workers
listen on it (``status`` ``degraded``, still 200, since scans and deliveries go on
without them): with no worker, route plans are accepted and wait; with Redis
unreachable, creating one is a 503 ``job-queue-unavailable``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text

from models import db

from . import jobs

bp = Blueprint("health", __name__)


def queue_state(url: str) -> dict[str, Any]:
    """``queue``: ``ok``, ``no-workers`` or ``unreachable``; ``workers``: how many RQ
    workers listen on the jobs' queue (None when Redis does not answer). Half a second
    a step, two steps (with the connection, 1.5 s at most): a Redis that accepts and never
    answers must not hang the check, nor outlast the Dockerfile's 3 s health check."""
    from redis import Redis
    from redis.exceptions import RedisError
    from rq import Queue
    from rq.worker_registration import get_keys

    try:
        conn = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        # a worker killed (SIGKILL, OOM, a host gone) stays in the queue's set of workers
        # until a live worker cleans it up: none does when none is left, and the count
        # said "ok" for ever. Its own key expires once it stops beating: count those.
        keys = get_keys(queue=Queue(jobs.QUEUE, connection=conn))
        workers = int(conn.exists(*keys)) if keys else 0
    except (RedisError, OSError):
        return {"queue": "unreachable", "workers": None}
    return {"queue": "ok" if workers else "no-workers", "workers": workers}


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means "not ready"
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    body: dict[str, Any] = {"status": "ok", "database": "ok"}
    url = current_app.config.get("REDIS_URL")
    if url:
        body.update(queue_state(url))
        if body["queue"] != "ok":
            body["status"] = "degraded"
    return jsonify(body), 200
