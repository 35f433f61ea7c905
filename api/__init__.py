"""Flask application factory. It only wires: no migrations, seeding or waiting here
(the entrypoint and the CLI do those)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.cli import NoAppException
from limits.errors import ConfigurationError
from werkzeug.routing import IntegerConverter

from models import db, utcnow

from . import ratelimit
from .config import DEV_SECRET_KEY, Defaults
from .extensions import api, migrate
from .jsonbody import JSONProvider, limit_chunked_bodies, refuse_nul_characters

log = logging.getLogger(__name__)


class ConfigError(NoAppException, RuntimeError):
    """A setting the app refuses to start with (its message names the variable). A
    ``NoAppException`` too: the ``flask`` command prints its message alone ("Error:
    ..."), where any other exception was a traceback to read the setting's name from."""

    def __init__(self, message: str) -> None:
        NoAppException.__init__(self, message)
        RuntimeError.__init__(self, message)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    app.json = JSONProvider(app)
    limit_chunked_bodies(app)
    refuse_nul_characters(app)
    app.config.from_object(Defaults)
    app.config.from_prefixed_env("POSTAL")
    for key in STRING_SETTINGS:  # as written: "12345" is no JSON number here
        if f"POSTAL_{key}" in os.environ:
            app.config[key] = os.environ[f"POSTAL_{key}"]
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if os.environ.get("REDIS_URL"):
        app.config["REDIS_URL"] = os.environ["REDIS_URL"]
    if test_config:
        app.config.update(test_config)
    app.config.setdefault("CLOCK", utcnow)
    _boolean_settings(app)
    _check_settings(app)

    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        try:
            os.makedirs(app.instance_path, exist_ok=True)
        except OSError as exc:  # the container's user may not write the installed package's
            raise ConfigError(f"DATABASE_URL is not set, and the folder of the default "
                              f"SQLite file, {app.instance_path}, cannot be created "
                              f"({exc.strerror}): set DATABASE_URL.") from None
        path = os.path.join(app.instance_path, "postal.sqlite3")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"

    _check_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    _connect_timeout(app)
    secret = app.config["SECRET_KEY"]
    if not isinstance(secret, str | bytes) or not secret.strip():
        raise ConfigError("POSTAL_SECRET_KEY is empty: set it to a long random string.")
    if (app.config["SECRET_KEY"] == DEV_SECRET_KEY and not app.config.get("DEMO_MODE")
            and not app.testing and not app.debug):
        raise ConfigError(
            "Refusing to start with the development SECRET_KEY: set POSTAL_SECRET_KEY "
            "(or POSTAL_DEMO_MODE=true for a demo)."
        )

    app.url_map.converters["int"] = BoundedIntConverter
    db.init_app(app)
    _sqlite_pragmas(app)
    migrate.init_app(app, db, directory=_migrations_dir(app), render_as_batch=True,
                     compare_type=True)
    api.init_app(app)

    @app.after_request
    def _nosniff(resp: Any) -> Any:
        # every answer is what its Content-Type says: a stored photo (evidence, a scan's),
        # whatever bytes a phone sent, is never sniffed into HTML by a browser
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        return resp

    _check_redis_url(app.config.get("REDIS_URL"))
    try:
        ratelimit.init_app(app)
    except ConfigurationError:  # its message is the URI, password and all
        raise ConfigError("POSTAL_RATELIMIT_STORAGE_URI (else REDIS_URL) is not a storage "
                          "the rate limits can use, such as memory:// or "
                          "redis://host:6379/0.") from None
    origins = _cors_origins(app.config.get("CORS_ORIGINS"))
    if origins:
        from flask_cors import CORS

        # the API authenticates by bearer token, never by cookie: no credentials mode
        # (the console's cookie stays same-origin); the headers a client reads back
        CORS(app, resources={r"/api/*": {"origins": origins}},
             allow_headers=["Authorization", "Content-Type"],
             expose_headers=["Location", "Retry-After", "X-Total-Count", "Link"],
             supports_credentials=False, max_age=600)
    x_for, x_prefix = int(app.config["PROXY_FIX_X_FOR"]), int(app.config["PROXY_FIX_X_PREFIX"])
    if x_for > 0 or x_prefix > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # wrapping wsgi_app is Flask's documented way to add WSGI middleware
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            checked_prefix(app.wsgi_app) if x_prefix else app.wsgi_app,
            x_for=x_for, x_prefix=x_prefix)
    from .console.security import SessionInterface

    app.session_interface = SessionInterface()

    from . import (
        apidocs,
        errors,
        health,
        items,
        outcomes,
        rounds,
        route_plans,
        scans,
        sync,
        tokens,
        tracking,
    )
    from .cash import views as cash_views
    from .cli import register_cli
    from .complaints import views as complaint_views
    from .console.views import bp as console_bp
    from .payouts import views as payout_views
    from .proof import views as proof_views
    from .remittance import views as remittance_views

    # documented in the plan's result, which is stored JSON (no schema of its own)
    api.spec.components.schema("RouteIssue", schema=route_plans.RouteIssueSchema)
    api.register_blueprint(tokens.blp)
    api.register_blueprint(items.blp)
    api.register_blueprint(scans.blp)
    api.register_blueprint(route_plans.blp)
    api.register_blueprint(sync.blp)
    api.register_blueprint(proof_views.blp)
    api.register_blueprint(cash_views.blp)
    api.register_blueprint(remittance_views.blp)
    api.register_blueprint(complaint_views.blp)
    api.register_blueprint(payout_views.blp)
    api.register_blueprint(outcomes.blp)
    api.register_blueprint(rounds.blp)
    api.register_blueprint(tracking.api_blp)
    app.register_blueprint(tracking.page_bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(apidocs.bp)
    app.register_blueprint(console_bp)
    errors.register_error_handlers(app)
    register_cli(app)
    return app


# Settings that are text (a secret, a directory, a URI), taken from the environment as
# written: parsed as JSON, ``POSTAL_PHOTO_DIR=2026`` became the number 2026 and every photo
# upload a 500.
STRING_SETTINGS = ("SECRET_KEY", "PHOTO_DIR", "MIGRATIONS_DIR", "CONSOLE_ASSETS_DIR",
                   "RATELIMIT_STORAGE_URI")


# Settings that are on or off: ``POSTAL_DEMO_MODE=False`` is not JSON, so it came in as the
# string "False", which is true.
BOOLEAN_SETTINGS = ("DEMO_MODE", "RATELIMIT_ENABLED", "SESSION_COOKIE_SECURE",
                    "SESSION_COOKIE_HTTPONLY")


def _boolean_settings(app: Flask) -> None:
    for key in BOOLEAN_SETTINGS:
        value = app.config.get(key)
        if not isinstance(value, str):
            continue
        word = value.strip().lower()
        if word in ("true", "yes", "on", "1"):
            app.config[key] = True
        elif word in ("false", "no", "off", "0", ""):
            app.config[key] = False
        else:
            raise ConfigError(f"POSTAL_{key} must be true or false, not {value!r}.")


# Numeric settings: (smallest, largest, whole numbers only). A wrong one from the
# environment (``POSTAL_TOKEN_TTL_HOURS=abc``, ``POSTAL_MAX_CONTENT_LENGTH=12MB``) let the
# app start and made every login or upload a 500; ``POSTAL_GPS_RETENTION_DAYS=0`` (or -5)
# made ``flask gps purge`` delete every ping.
NUMERIC_SETTINGS: dict[str, tuple[float, float, bool]] = {
    "SQLITE_BUSY_TIMEOUT_S": (0.001, 3600, False),
    "MAX_CONTENT_LENGTH": (1, 2**40, True),
    "IMPORT_MAX_ROWS": (1, 10**7, True),
    "PHOTO_MAX_BYTES": (1, 2**40, True),
    "TOKEN_TTL_HOURS": (0.01, 24 * 366, False),
    "GPS_MIN_INTERVAL_S": (0, 86400, False),
    "GPS_RETENTION_DAYS": (1, 3650, True),  # as `gps purge --days`
    "MAX_DELIVERY_ATTEMPTS": (1, 100, True),
    "COLLECTION_HOLD_DAYS": (1, 365, True),
    "OFFICE_LOAD_MINUTES": (0, 240, False),  # routing.MAX_OFFICE_LOAD_S
    "OFFICE_LOAD_SECONDS_PER_PARCEL": (0, 600, True),  # MAX_OFFICE_LOAD_PER_PARCEL_S
    "GEO_FLAG_DISTANCE_M": (0, 10**7, False),
    "GEO_FLAG_ACCURACY_M": (0, 10**7, False),
    "CONSOLE_SESSION_HOURS": (0.01, 24 * 366, False),
    "CONSOLE_IDLE_MINUTES": (0.1, 10**6, False),
    "PROXY_FIX_X_FOR": (0, 100, True),
    "PROXY_FIX_X_PREFIX": (0, 1, True),
}
# Rate limits (``limits`` strings): one that does not parse turned the login limits off
# without a word, and made every proof check a 500.
RATE_LIMIT_SETTINGS = ("LOGIN_FAILURE_LIMIT_USER", "LOGIN_FAILURE_LIMIT_IP",
                       "TRACKING_RATE_LIMIT", "COMPLAINT_LIMIT_IP", "COMPLAINT_LIMIT_ITEM",
                       "PROOF_FAILURE_LIMIT", "REOPTIMIZE_RATE_LIMIT")


def _check_settings(app: Flask) -> None:
    """Refuse to start on a setting that would fail (or do harm) only later, on a request
    or a CLI run."""
    import math

    from limits import parse_many

    for key, (low, high, whole) in NUMERIC_SETTINGS.items():
        value = app.config.get(key)
        ok = (isinstance(value, int | float) and not isinstance(value, bool)
              and math.isfinite(value) and low <= value <= high
              and (not whole or isinstance(value, int)))
        if not ok:
            kind = "a whole number" if whole else "a number"
            raise ConfigError(f"POSTAL_{key} must be {kind} from {low:g} to {high:g}, "
                               f"not {value!r}.")
    for key in RATE_LIMIT_SETTINGS:
        try:
            # "0 per 15 minutes" parses, and refused every request it counts: every
            # login, right password or not (turning limits off is RATELIMIT_ENABLED)
            if not all(item.amount >= 1 for item in parse_many(str(app.config.get(key)))):
                raise ValueError
        except ValueError:
            raise ConfigError(f"POSTAL_{key} is not a rate limit such as "
                               f"'10 per 15 minutes': {app.config.get(key)!r}.") from None
    _check_carrier_patterns(app.config.get("CARRIER_PATTERNS"))


def _check_carrier_patterns(patterns: object) -> None:
    """``CARRIER_PATTERNS``: name -> regex. A pattern that does not compile, or anything
    but an object of strings, started the app and made every item created, imported or
    scanned with another carrier's code a 500."""
    message = ("POSTAL_CARRIER_PATTERNS must be a JSON object of carrier name to regular "
               "expression, such as '{\"GHN\": \"^G[A-Z0-9]{7,11}$\"}'")
    if not isinstance(patterns, Mapping):
        raise ConfigError(f"{message}, not {patterns!r}.")
    for name, pattern in patterns.items():
        if not isinstance(pattern, str) or not pattern:
            raise ConfigError(f"{message}: {name!r} is {pattern!r}.")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{message}: {name!r} does not compile ({exc}).") from None


#: a path prefix a proxy may give in ``X-Forwarded-Prefix``: path segments of letters,
#: digits and ``-._~`` (``/postal``, ``/vnpost/last-mile``), a trailing slash allowed
PREFIX_RE = re.compile(r"(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+/?")


def checked_prefix(wsgi_app: Any) -> Any:
    """``wsgi_app`` behind ProxyFix's ``x_prefix``, which takes ``X-Forwarded-Prefix`` as
    ``SCRIPT_NAME`` whatever it holds: every link, form, redirect and cookie path the
    app makes starts with it. A prefix that is not a plain path (``//evil.example``,
    which a browser reads as another host; a backslash, a dot segment) is not taken
    (``SCRIPT_NAME`` stays as the server set it); a trailing slash is dropped."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        prefix = environ.get("SCRIPT_NAME", "")
        original = (environ.get("werkzeug.proxy_fix.orig") or {}).get("SCRIPT_NAME") or ""
        if prefix != original:
            environ["SCRIPT_NAME"] = (prefix.rstrip("/") if PREFIX_RE.fullmatch(prefix)
                                      else original)
        return wsgi_app(environ, start_response)

    return app


#: one line per record, as gunicorn's own: time, process, level, logger
LOG_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"


def configure_logging() -> None:
    """The app's own log records (``api``, ``models``, ``routing``: a 500's traceback, a
    route plan solved or failed, Redis unreachable) on stderr at INFO, with their time and
    level. Served processes call it (gunicorn workers: :mod:`api.wsgi`; RQ workers): no
    one configured logging there, so Python's last-resort handler printed the warnings
    and errors as bare messages, without time or level, and dropped every INFO record.
    Logging configured already (handlers on the root logger) is left as it is."""
    if logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT, "%Y-%m-%d %H:%M:%S %z"))
    for name in ("api", "models", "routing"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` path parts are database ids: a number past 32 bits is no id (404),
    not a value to hand to the database; nor are digits other than ASCII ones (404):
    ``\\d`` and ``int()`` take any script's, so ``/route-plans/٣`` was plan 3 (as the
    request bodies' :class:`api.items.schemas.Int`, which takes ``[0-9]`` only)."""

    regex = r"[0-9]+"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def _check_database_url(uri: object) -> None:
    """A URL SQLAlchemy cannot use (``postgres://``, as some hosts hand it out) was a
    traceback. The message leaves the URL out: it may hold the password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        make_url(str(uri)).get_dialect()
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ConfigError(f"DATABASE_URL is not a database URL this app can use ({exc}): "
                          "e.g. postgresql+psycopg://user:password@host:5432/postal") from None


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?\Z")


def _cors_origins(value: object) -> list[str]:
    """``CORS_ORIGINS`` as a list of origins (a JSON list, or a comma-separated string;
    ``*`` for any). Anything else (a path, a trailing slash, a typo in the scheme) never
    matches a browser's ``Origin`` and would fail silently: refused at start-up."""
    if value in (None, "", []):
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(o, str) for o in items):
        raise ConfigError("POSTAL_CORS_ORIGINS must be a list of origins or a "
                          "comma-separated string of them.")
    origins = [o.strip() for o in items if o.strip()]
    bad = [o for o in origins if o != "*" and not _ORIGIN.match(o)]
    if bad:
        raise ConfigError(f"POSTAL_CORS_ORIGINS: {bad[0]!r} is not an origin such as "
                          "https://app.example.vn (a scheme, a host and a port at most).")
    return origins


def _check_redis_url(url: object) -> None:
    """A ``REDIS_URL`` redis-py refuses (a typo in its scheme or port) was a traceback that
    printed it, password and all, or a 500 on every route plan."""
    if not url:
        return
    from redis import Redis

    try:
        Redis.from_url(str(url))  # parses; connects only when used
    except ValueError as exc:
        raise ConfigError(f"REDIS_URL is not a Redis URL ({exc}): e.g. "
                          "redis://:password@host:6379/0") from None


# PostgreSQL: how long opening a connection may take. libpq waits forever by default: a
# database host that accepts the connection but does not answer (hung, half-open behind a
# proxy or firewall) held every request, /healthz, and `api.serve`'s bounded wait forever.
DB_CONNECT_TIMEOUT_S = 5


def _connect_timeout(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if not uri.startswith("postgresql") or "connect_timeout" in uri:
        return
    options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    options["connect_args"] = {"connect_timeout": DB_CONNECT_TIMEOUT_S,
                               **options.get("connect_args", {})}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _migrations_dir(app: Flask) -> str:
    """``MIGRATIONS_DIR`` if set; else the checkout's ``migrations/``; else the working
    directory's (an installed package, as in the container)."""
    if app.config.get("MIGRATIONS_DIR"):
        return str(app.config["MIGRATIONS_DIR"])
    beside = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "migrations")
    return beside if os.path.isdir(beside) else os.path.join(os.getcwd(), "migrations")


def _sqlite_pragmas(app: Flask) -> None:
    """SQLite shared by several gunicorn workers and threads: WAL (readers never wait
    for the writer), a busy timeout (a writer waits for the one before it, up to
    ``SQLITE_BUSY_TIMEOUT_S``; past it the request is a 503, :mod:`api.errors`), and no
    transaction that reads before it takes the write lock.

    SQLite has one writer at a time. The driver (pysqlite) opens a transaction only at
    the first ``INSERT``/``UPDATE``/``DELETE``, so the reads before it see the latest
    data and that statement waits its turn for the write lock. But a ``SAVEPOINT``
    (``session.begin_nested()``) outside a transaction opens a *deferred* one: its reads
    pin a snapshot, and the first write after them cannot wait: it fails at once with
    "database is locked" if another connection holds the write lock or has committed
    since the snapshot (the busy timeout does not apply to that upgrade). Such a
    transaction starts with ``BEGIN IMMEDIATE`` instead: it takes the write lock first,
    waiting for it like any writer. (It also keeps the savepoint's release from
    committing the whole transaction, as releasing the savepoint that opened it does.)
    Where a read must come under the lock before the first write of a transaction that
    no savepoint opens, :func:`models.lock_rows` takes it first."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Connection
    from sqlalchemy.exc import OperationalError

    busy_ms = int(float(app.config["SQLITE_BUSY_TIMEOUT_S"]) * 1000)
    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            if ":memory:" not in app.config["SQLALCHEMY_DATABASE_URI"]:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        @event.listens_for(engine, "savepoint")
        def _on_savepoint(conn: Connection, _name: str | None) -> None:
            dbapi_conn = conn.connection.dbapi_connection
            if dbapi_conn is not None and not dbapi_conn.in_transaction:
                try:
                    dbapi_conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:  # the busy timeout ran out
                    # as SQLAlchemy wraps the driver's errors (the 503: api.errors)
                    raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc
