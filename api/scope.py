"""Which office a staff request is about: one rule for every office-wide endpoint.

Couriers never act office-wide (403). Dispatchers act on their own office: naming
another one is a 404 when reading (its existence is not revealed) and a 403 when
writing. Admins must name the office (422), one that exists (reading: 404, writing:
422 on ``office_id``).
"""

from __future__ import annotations

from models import Office, Role, User, db

from .errors import Forbidden, NotFound, Unprocessable


def office_for_read(actor: User, office_id: int | None, *, what: str) -> int:
    """The office to read ``what`` for, from a query parameter."""
    if actor.role is Role.COURIER:
        raise Forbidden(f"Couriers do not see {what}.")
    if actor.role is Role.DISPATCHER:
        if office_id not in (None, actor.office_id):
            raise NotFound(f"No office {office_id} that you can see.")
        assert actor.office_id is not None  # every dispatcher has one (users create)
        return actor.office_id
    if office_id is None:
        raise Unprocessable("office_id is required for an admin.",
                            errors=[{"parameter": "office_id", "detail": "Required."}])
    if db.session.get(Office, office_id) is None:  # not an empty report of no office
        raise NotFound(f"No office {office_id}.")
    return office_id


def office_for_write(actor: User, office_id: int | None, *, what: str) -> int:
    """The office to create ``what`` in, from the request body."""
    if actor.role is Role.COURIER:
        raise Forbidden(f"Couriers cannot create {what}.")
    if actor.role is Role.DISPATCHER:
        if office_id not in (None, actor.office_id):
            raise Forbidden(f"Dispatchers create {what} for their own office only.")
        assert actor.office_id is not None  # every dispatcher has one (users create)
        return actor.office_id
    if office_id is None:
        raise Unprocessable("office_id is required for an admin.",
                            errors=[{"pointer": "/office_id", "detail": "Required."}])
    if db.session.get(Office, office_id) is None:  # (its foreign keys would fail: a 500)
        raise Unprocessable(f"No office {office_id}.",
                            errors=[{"pointer": "/office_id", "detail": "Unknown office."}])
    return office_id
