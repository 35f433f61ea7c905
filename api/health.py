"""Liveness and readiness: ``GET /healthz`` checks the database answers."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from models import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means "not ready"
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok"), 200
