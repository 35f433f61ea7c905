"""Rate limits on what can be guessed or flooded without (or with a stolen) login.

Built on Flask-Limiter (``limits`` underneath). Counters live in Redis when
``REDIS_URL`` is set (shared by every gunicorn worker and host), else in the process's
memory (per worker: a limit of N allows up to N x workers; fine for one host with a few
workers, documented in docs/deployment.md). ``RATELIMIT_STORAGE_URI`` overrides both.

What is limited (each value a ``limits`` string from config, e.g. ``"10 per 15 minutes"``):

* logins (API token and console): **failed** attempts only, per username and per
  client address; a successful login costs nothing, so a whole office logging in
  through one NAT address at shift start is never held up;
* public tracking (JSON and page): per client address;
* public complaints (JSON and page form): per client address and per item number;
* wrong proof of delivery on one item (delivery code, ID number): per item, whatever
  the route it came by (scan, event, sync entry), see :func:`check_proof_attempts`;
  wrong beneficiary ID numbers on one payout likewise, per payout (``/pay`` or sync);
* a courier's route re-optimisations (about 1 s of a web thread each): per account, so
  a phone retrying in a loop cannot hold every thread of the web workers.

A breach is 429 problem details with ``Retry-After``; on HTML pages the page says so.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from limits import parse

from .errors import Problem

log = logging.getLogger(__name__)


class TooManyAttempts(Problem):
    status, slug, title = 429, "too-many-attempts", "Too many attempts"


def client_address() -> str:
    """The client's address (``remote_addr``; behind a reverse proxy set
    ``POSTAL_PROXY_FIX_X_FOR`` so that it is the real client's)."""
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=client_address, headers_enabled=True,
                  strategy="moving-window")


def cfg(key: str) -> Callable[[], str]:
    """A limit read from config at request time (so tests and deployments can set it)."""
    return lambda: str(current_app.config[key])


def login_username() -> str:
    """The username a login request names (JSON body or form), normalised."""
    data = request.get_json(silent=True) if request.is_json else request.form
    # a form is a dict too (MultiDict); a JSON body may be anything, or None if invalid
    name = data.get("username") if isinstance(data, dict) else None
    return "user:" + (str(name).strip().lower()[:64] if name else "")


def item_number_key() -> str:
    """The item number in the URL (complaints are limited per item, whoever sends them),
    in its canonical form: ``rr 827-722-088 vn`` counts as ``RR827722088VN``."""
    from .items.identifiers import normalize

    return "item:" + normalize(str((request.view_args or {}).get("number", "")))[:60]


def actor_key() -> str:
    """The authenticated user (a limit per account on work a logged-in client can
    flood the web threads with)."""
    from .auth import current_actor

    return f"actor:{current_actor().id}"


def failed_login(response: Response) -> bool:
    return response.status_code == 401


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "postal-rl")
    # a counter store that is down must not take logins and tracking down with it
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    # The limiter is one object per process (decorators need it at import time); its
    # settings come from the app being set up: one app per process in production.
    app.config.setdefault("RATELIMIT_ENABLED", True)

    # registered before the limiter's hook, so it runs after it (Flask runs them in
    # reverse): the limiter sets Retry-After on every answer of a limited route, a
    # successful login (900), a tracking lookup (60) or a customer's refused complaint
    # (a 403 saying "retry in 3600 s") included; it means "wait" only on a refusal
    @app.after_request
    def _retry_after_on_refusals_only(response: Response) -> Response:
        if response.status_code not in (429, 503):
            response.headers.pop("Retry-After", None)
        return response

    limiter.init_app(app)


def _retry_after(window: tuple[float, int]) -> int:
    reset_at = window[0]
    return max(1, math.ceil(reset_at - time.time()))


def check_proof_attempts(item_id: int, *, payout: bool = False) -> None:
    """Refuse proof checks on an item that has had too many wrong ones recently
    (``PROOF_FAILURE_LIMIT``): a 6-digit delivery code must not be guessable by
    retrying. Call before checking; call :func:`proof_failed` after a wrong one.
    ``payout``: ``item_id`` is a payout task's, whose beneficiary's ID number is
    checked the same way (its cash must not go to whoever guesses it)."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    item = parse(current_app.config["PROOF_FAILURE_LIMIT"])
    key = _proof_key(item_id, payout)
    strategy = limiter.limiter
    try:
        allowed = strategy.test(item, key)
        wait = 0 if allowed else _retry_after(strategy.get_window_stats(item, key))
    except Exception:  # the counter store is down: deliveries go on, the log says so
        log.warning("rate-limit storage unavailable; proof attempts not limited",
                    exc_info=True)
        return
    if not allowed:
        if payout:
            raise TooManyAttempts(
                f"Too many wrong ID numbers for this payout ({item}); it can be paid "
                f"again in {wait} s. The office can check the beneficiary's ID meanwhile.",
                headers={"Retry-After": str(wait)})
        raise TooManyAttempts(
            f"Too many wrong delivery codes or ID numbers for this item "
            f"({item}); it can be delivered again in {wait} s. The office can check "
            f"the code with the recipient meanwhile.",
            headers={"Retry-After": str(wait)})


def _proof_key(item_id: int, payout: bool) -> str:
    return f"proof-payout-{item_id}" if payout else f"proof-item-{item_id}"


def proof_failed(item_id: int, *, payout: bool = False) -> None:
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    item = parse(current_app.config["PROOF_FAILURE_LIMIT"])
    try:
        limiter.limiter.hit(item, _proof_key(item_id, payout))
    except Exception:
        log.warning("rate-limit storage unavailable; a wrong proof was not counted",
                    exc_info=True)
