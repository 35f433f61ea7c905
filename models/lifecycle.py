"""The item lifecycle: a pure state machine over tracking events.

No database here: the same functions decide whether a new event is legal (service
layer) and recompute an item's status from its stored history (``replay``), so the
stored status can always be checked against the events.

Event codes follow the UPU EDI tracking model for the last-mile legs, plus ``RTS``
(return to sender decided), which UPU leaves to each post.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


class Status(enum.StrEnum):
    ACCEPTED = "accepted"
    IN_SORTING = "in_sorting"
    IN_TRANSIT = "in_transit"
    AT_DELIVERY_OFFICE = "at_delivery_office"
    HELD_AT_OFFICE = "held_at_office"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERY_FAILED = "delivery_failed"
    AT_PICKUP_POINT = "at_pickup_point"
    DELIVERED = "delivered"
    # part of the pieces handed over (a delivery, EMI, whose proof says so); the rest
    # awaits its return to the sender (RTS)
    PARTIALLY_DELIVERED = "partially_delivered"
    RETURN_TO_SENDER = "return_to_sender"


class EventCode(enum.StrEnum):
    EMA = "EMA"  # posting / acceptance
    EDD = "EDD"  # into sorting centre
    EDE = "EDE"  # out of sorting centre
    EMG = "EMG"  # arrival at delivery office
    EDF = "EDF"  # held at delivery office
    EDG = "EDG"  # out for delivery (on a courier's round)
    EMH = "EMH"  # unsuccessful delivery attempt
    EMI = "EMI"  # final delivery
    EDH = "EDH"  # arrived at a pick-up point for collection
    RTS = "RTS"  # return to sender decided


class FailureReason(enum.StrEnum):
    """Why a delivery attempt failed (EMH), the taxonomy shared by Vietnamese carriers."""

    RECIPIENT_ABSENT = "recipient_absent"
    UNREACHABLE_BY_PHONE = "unreachable_by_phone"
    REFUSED = "refused"
    WRONG_ADDRESS = "wrong_address"
    WRONG_PHONE = "wrong_phone"
    ASKS_ANOTHER_DAY = "asks_another_day"
    WILL_COLLECT_AT_OFFICE = "will_collect_at_office"
    MOVED = "moved"
    WEATHER = "weather"
    CARRIER_OVERLOADED = "carrier_overloaded"
    DAMAGED = "damaged"


class FailureAction(enum.StrEnum):
    """What the courier did after a failed attempt."""

    NOTICE_LEFT = "notice_left"
    RETRY_NEXT_ROUND = "retry_next_round"
    HOLD_AT_OFFICE = "hold_at_office"
    CALLED_RECIPIENT = "called_recipient"
    RETURN_TO_SENDER = "return_to_sender"


class Awaiting(enum.StrEnum):
    """What a parcel waits for after a failed attempt, instead of another round: the
    recipient, who will collect it at the office, or its return to the sender, which the
    courier chose (refused, moved...)."""

    COLLECTION = "collection"
    RETURN = "return"


def awaiting_after(reason: FailureReason | None, action: FailureAction | None
                   ) -> Awaiting | None:
    """What a failed attempt with ``reason`` and ``action`` leaves its parcel waiting
    for (None: another delivery round)."""
    if action == FailureAction.RETURN_TO_SENDER:
        return Awaiting.RETURN
    if action == FailureAction.HOLD_AT_OFFICE or reason == FailureReason.WILL_COLLECT_AT_OFFICE:
        return Awaiting.COLLECTION
    return None


_S = Status
_E = EventCode

# event -> (statuses it may follow, status it leads to). EMA starts the history.
TRANSITIONS: dict[EventCode, tuple[frozenset[Status | None], Status]] = {
    _E.EMA: (frozenset({None}), _S.ACCEPTED),
    _E.EDD: (frozenset({_S.ACCEPTED, _S.IN_TRANSIT}), _S.IN_SORTING),
    _E.EDE: (frozenset({_S.IN_SORTING}), _S.IN_TRANSIT),
    _E.EMG: (frozenset({_S.ACCEPTED, _S.IN_SORTING, _S.IN_TRANSIT}), _S.AT_DELIVERY_OFFICE),
    _E.EDF: (
        frozenset({_S.AT_DELIVERY_OFFICE, _S.OUT_FOR_DELIVERY, _S.DELIVERY_FAILED}),
        _S.HELD_AT_OFFICE,
    ),
    _E.EDG: (
        frozenset({_S.AT_DELIVERY_OFFICE, _S.HELD_AT_OFFICE, _S.DELIVERY_FAILED}),
        _S.OUT_FOR_DELIVERY,
    ),
    _E.EMH: (frozenset({_S.OUT_FOR_DELIVERY}), _S.DELIVERY_FAILED),
    _E.EMI: (
        frozenset({_S.OUT_FOR_DELIVERY, _S.HELD_AT_OFFICE, _S.AT_PICKUP_POINT}),
        _S.DELIVERED,
    ),
    _E.EDH: (
        frozenset(
            {_S.AT_DELIVERY_OFFICE, _S.HELD_AT_OFFICE, _S.OUT_FOR_DELIVERY, _S.DELIVERY_FAILED}
        ),
        _S.AT_PICKUP_POINT,
    ),
    _E.RTS: (
        frozenset(
            {_S.AT_DELIVERY_OFFICE, _S.HELD_AT_OFFICE, _S.DELIVERY_FAILED, _S.AT_PICKUP_POINT,
             _S.PARTIALLY_DELIVERED}
        ),
        _S.RETURN_TO_SENDER,
    ),
}

#: A partial delivery is a delivery (EMI: UPU has no other code for it) whose proof
#: says only part of the pieces were handed over: from the same statuses as any
#: delivery, it leads here instead, and only the return of the rest (RTS) follows.
PARTIAL_DELIVERY_TO = Status.PARTIALLY_DELIVERED

TERMINAL = frozenset({Status.DELIVERED, Status.RETURN_TO_SENDER})


@dataclass(frozen=True, slots=True)
class ItemState:
    """What the history of events says about an item."""

    status: Status | None = None
    failed_attempts: int = 0


class IllegalTransitionError(Exception):
    """An event that the item's current state does not allow."""

    def __init__(self, status: Status | None, event: EventCode, allowed: list[EventCode], why: str):
        super().__init__(why)
        self.status = status
        self.event = event
        self.allowed = allowed
        self.why = why


def allowed_events(state: ItemState, max_attempts: int | None = None) -> list[EventCode]:
    """Events that may follow ``state``, in code order.

    With ``max_attempts``, a new delivery round (EDG) is refused once the item has
    used up its attempts: it can only be held, collected or returned.
    """
    out = []
    for code, (before, _after) in TRANSITIONS.items():
        if state.status not in before:
            continue
        if (
            code is EventCode.EDG
            and max_attempts is not None
            and state.failed_attempts >= max_attempts
        ):
            continue
        out.append(code)
    return out


def apply(state: ItemState, event: EventCode, max_attempts: int | None = None, *,
          partial: bool = False) -> ItemState:
    """The state after ``event``; raises :class:`IllegalTransitionError` if not allowed.
    ``partial``: a delivery (EMI) of part of the pieces (:data:`PARTIAL_DELIVERY_TO`)."""
    if partial and event is not EventCode.EMI:
        raise ValueError(f"only a delivery (EMI) is partial, not {event}")
    allowed = allowed_events(state, max_attempts)
    if event not in allowed:
        if event in TRANSITIONS and state.status in TRANSITIONS[event][0]:
            why = f"{event} refused: {state.failed_attempts} failed attempts used up"
        else:
            where = state.status.value if state.status else "no history"
            why = f"{event} cannot follow status {where}"
        raise IllegalTransitionError(state.status, event, allowed, why)
    after = PARTIAL_DELIVERY_TO if partial else TRANSITIONS[event][1]
    attempts = state.failed_attempts + (1 if event is EventCode.EMH else 0)
    return ItemState(status=after, failed_attempts=attempts)


def replay(events: Iterable[EventCode | tuple[EventCode, bool]]) -> ItemState:
    """Fold a stored history into a state. The attempt limit is not re-checked: it
    guarded acceptance, and the stored history is what happened. Each event is its
    code, or ``(code, partial)``: a delivery whose proof says it was partial (what the
    event itself stored, not its ``status_after``, so the two can be checked)."""
    state = ItemState()
    for event in events:
        code, partial = event if isinstance(event, tuple) else (event, False)
        state = apply(state, code, partial=partial)
    return state


def attempts_made(history: Iterable[tuple[EventCode, datetime, bool]]) -> int:
    """The failed delivery attempts a stored history shows, late ones included: how
    many of its events :func:`counted_attempts` counts (the rule is there)."""
    return sum(counted_attempts(history))


def counted_attempts(history: Iterable[tuple[EventCode, datetime, bool]]) -> list[bool]:
    """For each event of a stored history, whether it is a failed delivery attempt that
    counts toward the attempt limit: what :func:`attempts_made` adds up, and what every
    report of attempts (the quality figures, the items awaiting a return) counts, so they
    agree with the limit.

    ``history`` is ``(code, device time, applied)`` per event, in the order stored
    (by id). Every applied EMH counts, as :func:`replay` counts them. An unapplied one
    (kept late: ``late_event``, ``late_conflict``, or held then) happened all the same:
    it counts once for the delivery round it fell in, judged on what was stored when it
    came (so a count never changes afterwards, and the item's column can be kept by
    adding one as each attempt comes). Its round is the latest applied EDG at or before
    its device time and before the device time of the applied event that followed that
    EDG (none yet: the round is still under way). A late EDG kept unapplied that fitted
    where it happened when it came (the applied event before it left the item at the
    office or back from an attempt, from where it may go out, or a late attempt that
    counted came after that event and before it) opens a round too, up to
    the applied event after it: the courier's departure and attempt made offline and
    synced together after the office held the item and sent it out again (the EDG is
    no longer legal then, the attempt still is) are a round with an attempt, where the
    attempt used to count for nothing; so are a second departure and attempt made
    offline after a first attempt of the round (they counted as one). A round takes one
    late attempt at most, and none once an applied EMH ended it: the same attempt
    recorded twice (the sync and, later, the photo scan, under two event ids) is one
    attempt. A late EMH that falls in no round (dated before the item went out) is not counted.
    """
    applied: list[tuple[EventCode, datetime]] = []
    late_departures: list[datetime] = []  # late EDGs that fitted where they happened
    late_attempts: list[datetime] = []  # late EMHs that counted
    # rounds with one: ("applied", index of their EDG in applied) or ("late", index in
    # late_departures)
    late_counted: set[tuple[str, int]] = set()
    out: list[bool] = []
    for code, at, was_applied in history:
        if was_applied:
            applied.append((code, at))
            out.append(code is EventCode.EMH)
            continue
        if code is EventCode.EDG:
            before = [(t, k) for k, (_c, t) in enumerate(applied) if t <= at]
            # it fitted when the applied event before it left the item at the office or
            # back from an attempt, or a counted late attempt came between the two (the
            # courier failed, went out again and failed again offline: two rounds)
            if before and (TRANSITIONS[applied[max(before)[1]][0]][1] in TRANSITIONS[
                    EventCode.EDG][0] or any(max(before)[0] <= t <= at
                                             for t in late_attempts)):
                late_departures.append(at)
            out.append(False)
            continue
        if code is not EventCode.EMH:
            out.append(False)
            continue
        # (start, key, ended by an applied EMH) of each round the attempt falls in
        rounds = [(start, ("applied", k),
                   k + 1 < len(applied) and applied[k + 1][0] is EventCode.EMH)
                  for k, (c, start) in enumerate(applied) if c is EventCode.EDG
                  and start <= at and (k + 1 == len(applied) or at < applied[k + 1][1])]
        rounds += [(start, ("late", j), False) for j, start in enumerate(late_departures)
                   if start <= at and not any(start < t <= at for _c, t in applied)]
        if not rounds:
            out.append(False)
            continue
        _start, key, ended_failed = max(rounds)
        counts = not ended_failed and key not in late_counted
        if counts:
            late_counted.add(key)
            late_attempts.append(at)
        out.append(counts)
    return out
