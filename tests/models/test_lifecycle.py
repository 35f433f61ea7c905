"""The lifecycle state machine on its own (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.lifecycle import (
    TERMINAL,
    EventCode,
    IllegalTransitionError,
    ItemState,
    Status,
    allowed_events,
    apply,
    replay,
)

E = EventCode


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([E.EMA], Status.ACCEPTED),
        ([E.EMA, E.EDD, E.EDE, E.EMG], Status.AT_DELIVERY_OFFICE),
        ([E.EMA, E.EMG, E.EDG, E.EMI], Status.DELIVERED),
        ([E.EMA, E.EMG, E.EDG, E.EMH], Status.DELIVERY_FAILED),
        ([E.EMA, E.EMG, E.EDG, E.EMH, E.EDG, E.EMI], Status.DELIVERED),
        ([E.EMA, E.EMG, E.EDG, E.EMH, E.EDF, E.EMI], Status.DELIVERED),  # collected at counter
        ([E.EMA, E.EMG, E.EDH, E.EMI], Status.DELIVERED),
        ([E.EMA, E.EMG, E.EDG, E.EMH, E.RTS], Status.RETURN_TO_SENDER),
    ],
)
def test_histories_lead_to_expected_status(history: list[EventCode], expected: Status) -> None:
    assert replay(history).status is expected


@pytest.mark.parametrize(
    ("history", "event"),
    [
        ([], E.EMG),  # nothing before acceptance
        ([E.EMA], E.EMA),  # accepted twice
        ([E.EMA], E.EMI),  # delivered without going out
        ([E.EMA, E.EMG], E.EMH),  # failed attempt while at the office
        ([E.EMA, E.EMG, E.EDG, E.EMI], E.EDG),  # delivered is final
        ([E.EMA, E.EMG, E.EDG, E.EMI], E.EMH),
        ([E.EMA, E.EMG, E.RTS], E.EDG),  # returning is final
    ],
)
def test_illegal_events_are_refused_with_allowed_list(history: list[EventCode],
                                                      event: EventCode) -> None:
    state = replay(history)
    with pytest.raises(IllegalTransitionError) as info:
        apply(state, event)
    assert info.value.status is state.status
    assert event not in info.value.allowed
    assert info.value.allowed == allowed_events(state)


def test_failed_attempts_are_counted_and_limit_new_rounds() -> None:
    state = replay([E.EMA, E.EMG, E.EDG, E.EMH, E.EDG, E.EMH, E.EDG, E.EMH])
    assert state == ItemState(Status.DELIVERY_FAILED, 3)
    assert E.EDG in allowed_events(state)  # no limit given
    assert E.EDG not in allowed_events(state, max_attempts=3)
    assert E.RTS in allowed_events(state, max_attempts=3)
    with pytest.raises(IllegalTransitionError, match="attempts used up"):
        apply(state, E.EDG, max_attempts=3)


def test_terminal_states_allow_nothing() -> None:
    for status in TERMINAL:
        assert allowed_events(ItemState(status)) == []


@given(st.lists(st.sampled_from(list(EventCode)), max_size=30))
def test_replay_equals_stepwise_application_of_legal_events(codes: list[EventCode]) -> None:
    """Feed random events; keep the legal ones. Replaying the kept history gives the
    state reached step by step, and the attempt count equals the EMH count."""
    state = ItemState()
    kept: list[EventCode] = []
    for code in codes:
        try:
            state = apply(state, code)
        except IllegalTransitionError:
            continue
        kept.append(code)
    assert replay(kept) == state
    assert state.failed_attempts == kept.count(E.EMH)
    if kept:
        assert kept[0] is E.EMA


@pytest.mark.parametrize("before", [
    [E.EMA, E.EMG, E.EDG],  # at the door
    [E.EMA, E.EMG, E.EDG, E.EMH, E.EDF],  # at the counter
    [E.EMA, E.EMG, E.EDH],  # at a pick-up point
])
def test_a_partial_delivery_leaves_only_the_return_of_the_rest(
        before: list[EventCode]) -> None:
    state = apply(replay(before), E.EMI, partial=True)
    assert state.status is Status.PARTIALLY_DELIVERED
    assert replay([*before, (E.EMI, True)]) == state
    assert replay([*before, (E.EMI, False)]).status is Status.DELIVERED
    assert Status.PARTIALLY_DELIVERED not in TERMINAL  # its return is still to come
    assert allowed_events(state) == [E.RTS]
    for event in (E.EDG, E.EDF, E.EMH, E.EMI, E.EDH):
        with pytest.raises(IllegalTransitionError):
            apply(state, event)
    assert apply(state, E.RTS).status is Status.RETURN_TO_SENDER


def test_only_a_delivery_is_partial() -> None:
    with pytest.raises(ValueError, match="only a delivery"):
        apply(replay([E.EMA, E.EMG]), E.EDG, partial=True)
    with pytest.raises(IllegalTransitionError):  # not out, held or at a pick-up point
        apply(replay([E.EMA, E.EMG]), E.EMI, partial=True)


@given(st.lists(st.tuples(st.sampled_from(list(EventCode)), st.booleans()), max_size=30))
def test_replay_with_partial_deliveries_equals_stepwise_application(
        steps: list[tuple[EventCode, bool]]) -> None:
    state = ItemState()
    kept: list[tuple[EventCode, bool]] = []
    for code, partial in steps:
        partial = partial and code is E.EMI
        try:
            state = apply(state, code, partial=partial)
        except IllegalTransitionError:
            continue
        kept.append((code, partial))
    assert replay(kept) == state
    assert (state.status is Status.PARTIALLY_DELIVERED) == (
        bool(kept) and kept[-1] == (E.EMI, True))


def test_attempts_made_counts_late_attempts_once_per_round():
    from datetime import UTC, datetime, timedelta

    from models.lifecycle import attempts_made

    t0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)

    def at(minutes):
        return t0 + timedelta(minutes=minutes)

    base = [(E.EMA, at(-60), True), (E.EMG, at(-30), True), (E.EDG, at(0), True),
            (E.EDF, at(120), True), (E.EDG, at(180), True)]
    assert attempts_made(base) == 0
    # a late attempt in the first round counts; a second one there (the same attempt
    # recorded again under another id) does not; one before any round does not
    assert attempts_made([*base, (E.EMH, at(30), False)]) == 1
    assert attempts_made([*base, (E.EMH, at(30), False), (E.EMH, at(31), False)]) == 1
    assert attempts_made([*base, (E.EMH, at(-45), False)]) == 0
    # a round an applied attempt ended takes no late one
    ended = [(E.EMA, at(-60), True), (E.EDG, at(0), True), (E.EMH, at(60), True),
             (E.EDG, at(180), True), (E.EMH, at(30), False)]
    assert attempts_made(ended) == 1
    # judged on what was stored when it came: counted while its round was under way,
    # it still counts after the round ends
    held_then = [(E.EMA, at(-60), True), (E.EDG, at(0), True), (E.EMH, at(30), False),
                 (E.EMH, at(60), True)]
    assert attempts_made(held_then) == 2
    # a departure kept late that fitted where it happened (the item was at the office)
    # opens a round up to the next applied event: its attempt counts, once; a departure
    # kept late inside an applied round (the item was out already) opens none
    late_out = [(E.EMA, at(-60), True), (E.EMG, at(-30), True), (E.EDF, at(120), True),
                (E.EDG, at(180), True), (E.EDG, at(0), False), (E.EMH, at(30), False),
                (E.EMH, at(31), False)]
    assert attempts_made(late_out) == 1
    assert attempts_made([*base, (E.EDG, at(5), False), (E.EMH, at(30), False),
                          (E.EMH, at(40), False)]) == 1
    # but one after a late attempt that counted left from it (the courier failed, went
    # out again and failed again, offline): a second round, a second attempt, as when
    # the same events are applied as they happened
    assert attempts_made([*base, (E.EMH, at(30), False), (E.EDG, at(35), False),
                          (E.EMH, at(40), False)]) == 2
    # applied attempts count as replay counts them
    codes = [E.EMA, E.EMG, E.EDG, E.EMH, E.EDG, E.EMH]
    assert attempts_made((c, at(k), True) for k, c in enumerate(codes)) == replay(
        codes).failed_attempts == 2


def test_counted_attempts_names_the_events_attempts_made_counts():
    # reports (quality figures, items awaiting a return) count attempts event by event:
    # the same events as the limit, so the first of two copies of a late attempt, and
    # neither a late copy of an applied attempt nor one dated before any round
    from datetime import UTC, datetime, timedelta

    from models.lifecycle import attempts_made, counted_attempts

    t0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)

    def at(minutes):
        return t0 + timedelta(minutes=minutes)

    history = [(E.EMA, at(-60), True), (E.EDG, at(0), True), (E.EDF, at(120), True),
               (E.EMH, at(30), False), (E.EMH, at(31), False), (E.EMH, at(-45), False),
               (E.EDG, at(180), True), (E.EMH, at(200), True), (E.EMH, at(199), False)]
    assert counted_attempts(history) == [False, False, False, True, False, False, False,
                                         True, False]
    assert attempts_made(history) == 2
    assert counted_attempts([]) == []
