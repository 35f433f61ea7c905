"""The RQ worker class (``rq worker -w api.rqworker.RoutingWorker --url $REDIS_URL
postal``). A module of its own, so that the web process, which only queues jobs
(:mod:`api.jobs`, importing RQ where it is used), does not import RQ at start."""

from __future__ import annotations

import logging
from typing import Any

from rq import Worker

log = logging.getLogger(__name__)


class RoutingWorker(Worker):
    """An RQ worker that loads the routing library's kernels (PyVRP, the compiled
    single-route search) once, before it forks a work horse per job. A plain ``rq
    worker`` forks from a process that never loaded them, so every job loaded them
    again (~1-2 s) while its solve ran, out of the solve's own budget."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from routing import warm_up

        from . import configure_logging

        configure_logging()  # the jobs' records (route plan solved, failed) with the time

        log.info("routing kernels loaded in %.2f s; jobs fork from here", warm_up())
