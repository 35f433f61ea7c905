"""Default settings. Every key can be overridden from the environment as
``POSTAL_<KEY>`` (values parsed as JSON where they can be), and ``DATABASE_URL`` /
``REDIS_URL`` are read under their usual names."""

from __future__ import annotations

DEV_SECRET_KEY = "dev-only-secret-change-me"  # noqa: S105 - refused outside demo/testing


class Defaults:
    SECRET_KEY = DEV_SECRET_KEY
    # Demo mode: the demo-data command may create accounts with the password "demo",
    # and the development secret key is tolerated.
    DEMO_MODE = False
    SQLALCHEMY_DATABASE_URI: str | None = None  # default: SQLite file in the instance folder
    # hide_parameters: a database error's log line and traceback leave out the statement's
    # values (recipients' names and phones, delivery codes, password hashes)
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, object] = {"pool_pre_ping": True,
                                                    "hide_parameters": True}
    REDIS_URL: str | None = None
    # SQLite only: how long a write waits for another one to finish before the request
    # gives up with a 503 (Retry-After). Under gunicorn's 30 s worker timeout.
    SQLITE_BUSY_TIMEOUT_S = 15

    # Request bodies: 12 MB covers a 10 MB photo plus form fields; CSV imports
    # have their own row limit.
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024
    IMPORT_MAX_ROWS = 5000
    PHOTO_MAX_BYTES = 10 * 1024 * 1024  # a scan photo; 413 beyond
    PHOTO_DIR: str | None = None  # evidence store; default instance/evidence
    # a scan photo with no item number on it is kept for the courier's office to
    # resolve (api/scans/unread.py): at most this many a courier a day (Viet Nam day),
    # and `flask scans purge-unread` deletes those older than the retention that no scan
    # was recorded from, with their photos
    UNREAD_SCAN_DAILY_CAP = 30
    UNREAD_SCAN_RETENTION_DAYS = 30

    TOKEN_TTL_HOURS = 12  # one shift
    GPS_MIN_INTERVAL_S = 30  # GPS pings kept: at most one per courier per interval
    GPS_RETENTION_DAYS = 90  # `flask gps purge` deletes older pings
    MAX_DELIVERY_ATTEMPTS = 3
    # a parcel its recipient will collect at the office (a failed attempt's "will collect"
    # or "hold at office") is held for them this many days after the attempt, the day
    # itself not counted; then it is due for its return to the sender (the returns due)
    COLLECTION_HOLD_DAYS = 7
    # what a courier on the road spends at the office loading the parcels that wait
    # there, when a route passes by it (a route plan's or re-optimisation's office_visit):
    # a base time and a time per parcel loaded (routing.Office.load_s, load_per_parcel_s);
    # 20 parcels take the 10 minutes every load took before
    OFFICE_LOAD_MINUTES = 5
    OFFICE_LOAD_SECONDS_PER_PARCEL = 15
    # deliveries and failed attempts recorded further than this from the address, or
    # with a worse GPS fix, are flagged for review (not refused)
    GEO_FLAG_DISTANCE_M = 300
    GEO_FLAG_ACCURACY_M = 100

    # Rate limits (api/ratelimit.py; "N per M seconds|minutes|hours|day"). Counters in
    # Redis when REDIS_URL is set, else per worker process; RATELIMIT_STORAGE_URI
    # overrides, RATELIMIT_ENABLED=false turns them off.
    LOGIN_FAILURE_LIMIT_USER = "10 per 15 minutes"  # failed logins per username
    LOGIN_FAILURE_LIMIT_IP = "60 per 15 minutes"  # failed logins per client address
    TRACKING_RATE_LIMIT = "120 per minute"  # public tracking, per client address
    COMPLAINT_LIMIT_IP = "20 per hour"  # public complaints per client address
    COMPLAINT_LIMIT_ITEM = "5 per day"  # public complaints per item number
    PROOF_FAILURE_LIMIT = "5 per hour"  # wrong delivery codes / ID numbers per item
    # route re-optimisations per courier: each holds a web thread for about 1 s
    REOPTIMIZE_RATE_LIMIT = "10 per minute"
    # Behind a reverse proxy: how many X-Forwarded-For hops to trust (0: none)
    PROXY_FIX_X_FOR = 0
    # Behind a reverse proxy serving the app under a path (https://post.example/postal/)
    # that strips it and says so in X-Forwarded-Prefix: 1 takes it as the app's root
    # (WSGI SCRIPT_NAME), which every URL the app hands out then starts with; 0: ignored
    PROXY_FIX_X_PREFIX = 0
    # Web apps on other origins allowed to call /api/ from a browser (CORS), e.g. a
    # courier PWA: a JSON list or a comma-separated string of origins such as
    # "https://app.post.vn", or "*" for any; empty: none (the console is same-origin)
    CORS_ORIGINS: list[str] | str = []

    # Dispatcher console (api/console): a signed session cookie, HttpOnly, SameSite=Lax;
    # 8 h absolute lifetime from login, 1 h without activity (checked on the server).
    # Behind HTTPS set POSTAL_SESSION_COOKIE_SECURE=true.
    SESSION_COOKIE_NAME = "postal_console"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = 8 * 3600  # seconds: the cookie's Expires
    # The cookie is sent only when the session changed (login, activity, the admin's
    # office choice), not with every answer: a background poll still in flight when
    # the user changed something would answer with the session as it was and undo it.
    SESSION_REFRESH_EACH_REQUEST = False
    CONSOLE_SESSION_HOURS = 8  # absolute, from login
    CONSOLE_IDLE_MINUTES = 60  # without a user action (background polling does not count)
    CONSOLE_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    CONSOLE_TILE_ATTRIBUTION = ('&copy; <a href="https://www.openstreetmap.org/copyright">'
                                "OpenStreetMap</a> contributors")
    CONSOLE_ASSETS_DIR: str | None = None  # npm packages; default api/console/assets/node_modules

    # Other carriers' codes accepted as external identifiers: name -> regex.
    CARRIER_PATTERNS: dict[str, str] = {
        "GHN": r"^G[A-Z0-9]{7,11}$",
        "GHTK": r"^S\d{6,9}\.[A-Z0-9]{2,6}\.\d{6,12}$",
        "VTP": r"^\d{9,13}$",
    }

    # flask-smorest / OpenAPI
    API_TITLE = "Postal last-mile API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.1.0"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/assets/"  # served locally: no internet needed
    JSON_SORT_KEYS = False
    API_SPEC_OPTIONS = {
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "Token from POST /api/v1/auth/token"}
            }
        },
        "info": {"description": "Items, tracking events, public tracking. Errors are "
                                "RFC 9457 problem details (application/problem+json)."},
    }
