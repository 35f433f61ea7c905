"""Job functions (run by :mod:`api.jobs` in a worker or a thread, in an app context)."""

from __future__ import annotations

from flask import current_app

from models import db

from . import service


def run_plan(plan_id: int) -> None:
    try:
        service.run(db.session(), plan_id, clock=current_app.config["CLOCK"])
    finally:
        db.session.remove()
