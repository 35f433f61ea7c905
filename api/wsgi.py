"""The WSGI entry point of the served product (gunicorn loads ``api.wsgi:app`` in each
worker): the app, plus the routing library's compiled kernels loaded in the background
so that a worker's first route optimisation does not spend ~1 s of its time budget on
it (see :func:`api.jobs.warm_up_routing`)."""

from __future__ import annotations

from . import configure_logging, create_app
from .jobs import warm_up_routing

configure_logging()
app = create_app()
warm_up_routing()
