"""Delivery rounds: an office's territories by ward, each with the courier who usually
rides it. Office staff keep them (a dispatcher their own office's, an admin any
office's: :mod:`api.scope`); an item's round is found from its recipient ward
(:func:`models.ward_key`), and a route plan prefers a round's courier for its items
(:func:`round_couriers`, :func:`api.route_plans.service.build_problem`)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import DeliveryRound, Item, Role, RoundWard, User, ward_key
from models.base import in_code_order

from ..errors import Conflict, Forbidden, NotFound, Unprocessable
from ..scope import office_for_read, office_for_write


def listing(session: Session, actor: User, office_id: int | None) -> list[DeliveryRound]:
    """The office's rounds, by code (character code order, the same on every database)."""
    office_id = office_for_read(actor, office_id, what="delivery rounds")
    return list(session.execute(
        select(DeliveryRound).where(DeliveryRound.office_id == office_id)
        .order_by(in_code_order(session, DeliveryRound.code), DeliveryRound.id)).scalars())


def visible(session: Session, actor: User, round_id: int) -> DeliveryRound:
    """The round if the actor may see it: couriers never (403, as every office-wide
    list), a dispatcher their office's (404 otherwise: its existence is not revealed)."""
    if actor.role is Role.COURIER:
        raise Forbidden("Couriers do not see delivery rounds.")
    r = session.get(DeliveryRound, round_id)
    if r is None or (actor.role is Role.DISPATCHER and r.office_id != actor.office_id):
        raise NotFound(f"No delivery round {round_id} that you can see.")
    return r


def _courier(session: Session, office_id: int, courier_id: int | None) -> User | None:
    if courier_id is None:
        return None
    c = session.get(User, courier_id)
    if c is None or c.role is not Role.COURIER or c.office_id != office_id or not c.active:
        raise Unprocessable("The round's courier must be an active courier of its office.",
                            errors=[{"pointer": "/courier_id",
                                     "detail": "Not an active courier of this office."}])
    return c


def _check_free(session: Session, rnd: DeliveryRound, code: str, wards: list[str] | None
                ) -> None:
    """409 when another round of the office has the code, or covers one of ``wards``
    (checked first for a clear answer; the unique keys refuse a race the same way)."""
    other = session.execute(select(DeliveryRound.id).where(
        DeliveryRound.office_id == rnd.office_id, DeliveryRound.code == code,
        DeliveryRound.id != rnd.id if rnd.id is not None else true())).first()
    if other is not None:
        raise Conflict(f"The office has a delivery round {code} already.",
                       slug="duplicate-round", round_id=other[0])
    if not wards:
        return
    keys = {ward_key(w): n for n, w in enumerate(wards)}
    taken = session.execute(
        select(RoundWard.key, RoundWard.name, DeliveryRound.id, DeliveryRound.code)
        .join(DeliveryRound, RoundWard.round_id == DeliveryRound.id)
        .where(RoundWard.office_id == rnd.office_id, RoundWard.key.in_(list(keys)),
               RoundWard.round_id != rnd.id if rnd.id is not None else true())).all()
    if taken:
        raise Conflict(
            "Some wards belong to another round of the office already: a ward belongs to "
            "one round at most (take it off that round first).", slug="ward-in-another-round",
            errors=[{"pointer": f"/wards/{keys[key]}",
                     "detail": f"{name} is in round {code} (id {rid})."}
                    for key, name, rid, code in sorted(taken, key=lambda t: keys[t[0]])])


def _set_wards(rnd: DeliveryRound, wards: list[str]) -> None:
    """Replace the round's wards; one kept (the same key) keeps its row, renamed as
    written now."""
    by_key = {w.key: w for w in rnd.wards}
    new: list[RoundWard] = []
    for name in wards:
        key = ward_key(name)
        row = by_key.pop(key, None) or RoundWard(office_id=rnd.office_id, key=key)
        row.name = name
        new.append(row)
    rnd.wards = new


def _save(session: Session, rnd: DeliveryRound, code: str, wards: list[str] | None,
          change: Callable[[], None]) -> None:
    """Make ``change`` to ``rnd`` and flush it in a savepoint: two requests that both
    passed :func:`_check_free` meet at the unique keys, and the second is answered as if
    it came after (the 409 naming the other round). The change is made inside the
    savepoint: opening one flushes what is pending first, so a clash flushed then broke
    the whole transaction (a PATCH raced by another was a 500, not the 409)."""
    try:
        with session.begin_nested():
            change()
            session.add(rnd)
            session.flush()
    except IntegrityError:
        _check_free(session, rnd, code, wards)  # (as asked: ``rnd`` lost the change)
        raise  # (no clash to name: not one of ours)


def create(session: Session, actor: User, data: Mapping[str, Any], *, now: datetime
           ) -> DeliveryRound:
    office_id = office_for_write(actor, data.get("office_id"), what="delivery rounds")
    courier = _courier(session, office_id, data.get("courier_id"))
    rnd = DeliveryRound(office_id=office_id, code=data["code"], name=data["name"],
                        courier_id=courier.id if courier else None, created_at=now,
                        updated_at=now)
    _check_free(session, rnd, rnd.code, data["wards"])
    _save(session, rnd, rnd.code, data["wards"], lambda: _set_wards(rnd, data["wards"]))
    return rnd


def update(session: Session, actor: User, round_id: int, data: Mapping[str, Any], *,
           now: datetime) -> DeliveryRound:
    """Change what ``data`` holds (``wards`` replaces the list; ``courier_id`` null:
    nobody)."""
    rnd = visible(session, actor, round_id)
    # (the same courier sent again is no change: one deactivated since may stay, until
    # the office chooses another)
    if "courier_id" in data and data["courier_id"] != rnd.courier_id:
        courier = _courier(session, rnd.office_id, data["courier_id"])
        rnd.courier_id = courier.id if courier else None
    wards = data.get("wards")
    code = data.get("code", rnd.code)
    _check_free(session, rnd, code, wards)

    def change() -> None:
        rnd.code = code
        rnd.name = data.get("name", rnd.name)
        if wards is not None:
            # the old rows go first: a ward moved between rows of this round keeps its key
            _set_wards(rnd, wards)
        rnd.updated_at = now

    _save(session, rnd, code, wards, change)
    return rnd


def delete(session: Session, actor: User, round_id: int) -> None:
    """Delete the round (its wards with it). Items are in no round then; plans made
    already keep what they chose."""
    rnd = visible(session, actor, round_id)
    session.delete(rnd)
    session.flush()


def round_of(session: Session, item: Item) -> DeliveryRound | None:
    """The round of the item's office that covers its recipient ward, if any."""
    key = ward_key(item.recipient_ward)
    if not key:
        return None
    return session.execute(
        select(DeliveryRound).join(RoundWard, RoundWard.round_id == DeliveryRound.id)
        .where(RoundWard.office_id == item.office_id, RoundWard.key == key)).scalar()


def round_couriers(session: Session, office_id: int, courier_ids: Collection[int]
                   ) -> dict[str, int]:
    """Ward key -> the courier of the office's round covering it, for the rounds whose
    courier is among ``courier_ids`` (a route plan's)."""
    if not courier_ids:
        return {}
    return {key: cid for key, cid in session.execute(
        select(RoundWard.key, DeliveryRound.courier_id)
        .join(DeliveryRound, RoundWard.round_id == DeliveryRound.id)
        .where(RoundWard.office_id == office_id,
               DeliveryRound.courier_id.in_(list(courier_ids)))) if cid is not None}
