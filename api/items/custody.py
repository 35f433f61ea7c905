"""Who held an item when: the assignment history (``models.ItemAssignment``).

:func:`hand_over` is the one way an item's courier changes (assigning by hand,
publishing a route plan, the demo data through them): it ends the open period and opens
the next one. The history lets a courier's offline event on an item reassigned since be
accepted when they held the item at the event's time (:func:`held_then`), and shows
office staff who handled an item when (:func:`history`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import AssignmentHow, Item, ItemAssignment, User


def hand_over(session: Session, item: Item, courier: User | None, *, by: User | None,
              how: AssignmentHow, now: datetime, plan_id: int | None = None,
              reaffirm: bool = False) -> bool:
    """Give ``item`` to ``courier`` (None: to nobody) from ``now`` (server time): the
    open period ends, a new one begins. Nothing changes if the item already has that
    courier, unless ``reaffirm`` and its open period began another way (``how``): then
    that period ends and one begun ``how`` opens (a dispatcher assigning by hand the
    courier a route plan gave the item: from then on it is theirs by hand, which a
    re-plan keeps, :func:`api.route_plans.service.assigned_by_hand`). The caller holds
    the item's row lock (two hand-overs at once would both end the same period and both
    open one). Returns whether a period ended or began."""
    return bool(hand_over_all(session, [(item, courier)], by=by, how=how, now=now,
                              plan_id=plan_id, reaffirm=reaffirm))


def hand_over_all(session: Session, changes: Sequence[tuple[Item, User | None]], *,
                  by: User | None, how: AssignmentHow, now: datetime,
                  plan_id: int | None = None, reaffirm: bool = False) -> list[Item]:
    """:func:`hand_over` for many items at once (publishing a plan): one statement ends
    their open periods, one flush opens the new ones. Returns the items whose period
    changed (their courier, or, with ``reaffirm``, how the period began)."""
    same = [item for item, courier in changes if courier is not None
            and item.courier_id == courier.id] if reaffirm else []
    began = open_periods(session, [item.id for item in same])
    moved = [(item, courier) for item, courier in changes
             if item.courier_id != (courier.id if courier is not None else None)
             or (item.id in began and began[item.id].started_how is not how)]
    if not moved:
        return []
    session.execute(
        update(ItemAssignment)
        .where(ItemAssignment.item_id.in_([item.id for item, _ in moved]),
               ItemAssignment.ended_at.is_(None))
        .values(ended_at=now, ended_how=how, ended_plan_id=plan_id,
                ended_by_id=by.id if by is not None else None)
        .execution_options(synchronize_session="fetch"))
    for item, courier in moved:
        if courier is not None:
            session.add(ItemAssignment(
                item_id=item.id, courier_id=courier.id, started_at=now,
                started_by_id=by.id if by is not None else None, started_how=how,
                started_plan_id=plan_id))
        item.courier_id = courier.id if courier is not None else None
        item.courier = courier
        item.updated_at = now
    session.flush()
    return [item for item, _ in moved]


def open_periods(session: Session, item_ids: Collection[int]) -> dict[int, ItemAssignment]:
    """Each of the items' open period (who holds it since when, and how it began), by
    item id; an item with no open period (no courier) is not in it."""
    if not item_ids:
        return {}
    return {p.item_id: p for p in session.execute(select(ItemAssignment).where(
        ItemAssignment.item_id.in_(set(item_ids)),
        ItemAssignment.ended_at.is_(None))).unique().scalars()}


def history(session: Session, item_id: int) -> list[ItemAssignment]:
    """Every period of the item, oldest first."""
    return list(session.execute(select(ItemAssignment).where(
        ItemAssignment.item_id == item_id).order_by(
        ItemAssignment.started_at, ItemAssignment.id)).unique().scalars())


def held_then(session: Session, courier_id: int, item_id: int, t: datetime) -> bool:
    """Whether the history shows the courier held the item at server time ``t``
    (a period's start included, its end not: at the hand-over the next courier holds it)."""
    return session.execute(select(ItemAssignment.id).where(
        ItemAssignment.item_id == item_id, ItemAssignment.courier_id == courier_id,
        ItemAssignment.started_at <= t,
        (ItemAssignment.ended_at.is_(None)) | (ItemAssignment.ended_at > t)).limit(1)
    ).first() is not None
