"""Container entrypoint: wait for the database (bounded), migrate, then exec gunicorn.

``python -m api.serve`` — the app factory itself never migrates or waits.
"""

from __future__ import annotations

import logging
import os
import re
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


def _whole(name: str, default: str, low: int, high: int) -> str:
    value = os.environ.get(name, default)
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise SystemExit(f"Refusing to start: {name} must be a whole number from {low} to "
                         f"{high}, not {value!r}.")
    return str(number)


#: gunicorn's ``SCRIPT_NAME`` (the app served under a path prefix, docs/deployment.md):
#: a path without a trailing slash, as ``/postal``
SCRIPT_NAME_RE = re.compile(r"(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+")


def _script_name() -> None:
    """gunicorn takes ``SCRIPT_NAME`` as the app's path prefix and cuts it off each
    request's path: ``/postal/`` left ``console/login`` (no leading slash: every page a
    404), ``postal`` matched no request (each one an error)."""
    value = os.environ.get("SCRIPT_NAME", "")
    if value and not SCRIPT_NAME_RE.fullmatch(value):
        raise SystemExit(f"Refusing to start: SCRIPT_NAME must be a path such as /postal "
                         f"(a leading slash, none at the end), not {value!r}.")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from api import ConfigError, create_app

    try:  # a wrong setting: its message alone, not a traceback to read it from
        app = create_app()
    except ConfigError as exc:
        raise SystemExit(f"Refusing to start: {exc}") from None
    # gunicorn took WEB_CONCURRENCY=0: it listened, started no worker, and every request
    # waited for ever
    port = _whole("PORT", "8000", 1, 65535)
    _script_name()
    workers = _whole("WEB_CONCURRENCY", "2", 1, 64)
    wait = os.environ.get("DB_WAIT_SECONDS", "60")
    try:
        wait_s = float(wait)
    except ValueError:
        wait_s = -1.0
    if not 0 <= wait_s <= 86400:  # NaN too
        raise SystemExit(f"Refusing to start: DB_WAIT_SECONDS must be a number of seconds "
                         f"from 0 to 86400, not {wait!r}.")
    wait_for_database(app, wait_s)
    migrate(app)
    # gunicorn of this interpreter: `.venv/bin/python -m api.serve` outside an activated
    # venv found no `gunicorn` on PATH, a FileNotFoundError after the migrations ran
    argv = [sys.executable, "-m", "gunicorn", "--bind", f"0.0.0.0:{port}", "--workers",
            workers, "--threads", "4", "--access-logfile", "-", "api.wsgi:app"]
    sys.stdout.flush()
    os.execvp(argv[0], argv)  # noqa: S606 - fixed argv, no shell


if __name__ == "__main__":
    main()
