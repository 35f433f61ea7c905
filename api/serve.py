"""Container entrypoint: wait for the database (bounded), migrate, then exec gunicorn.

``python -m api.serve`` — the app factory itself never migrates or waits.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from flask import Flask
from sqlalchemy import text

log = logging.getLogger("api.serve")


def wait_for_database(app: Flask, timeout_s: float, interval_s: float = 1.0) -> None:
    from models import db

    deadline = time.monotonic() + timeout_s
    with app.app_context():
        while True:
            try:
                with db.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                return
            except Exception as exc:  # noqa: BLE001 - any failure means "not up yet"
                if time.monotonic() >= deadline:
                    msg = f"database not reachable after {timeout_s:.0f} s: {exc}"
                    raise SystemExit(msg) from exc
                log.info("waiting for the database: %s", exc.__class__.__name__)
                time.sleep(interval_s)


#: the advisory lock replicas take around their migrations (PostgreSQL): any constant
#: the application uses for nothing else
MIGRATION_LOCK_KEY = 0x706F7374616C  # "postal"


def migrate(app: Flask) -> None:
    """Bring the schema up to date, one process at a time: replicas started together (a
    deployment of several containers) each ran the migrations at once, racing to create
    the same tables. On PostgreSQL a session-level advisory lock makes the others wait;
    they then find nothing left to do. (SQLite serves one host: no lock.)"""
    from flask_migrate import upgrade

    from models import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            upgrade()
            return
        with db.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            conn.commit()
            try:
                upgrade()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
                conn.commit()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from api import create_app

    app = create_app()
    wait_for_database(app, float(os.environ.get("DB_WAIT_SECONDS", "60")))
    migrate(app)
    port = os.environ.get("PORT", "8000")
    workers = os.environ.get("WEB_CONCURRENCY", "2")
    argv = ["gunicorn", "--bind", f"0.0.0.0:{port}", "--workers", workers, "--threads", "4",
            "--access-logfile", "-", "api.wsgi:app"]
    sys.stdout.flush()
    os.execvp(argv[0], argv)  # noqa: S606 - fixed argv, no shell


if __name__ == "__main__":
    main()
