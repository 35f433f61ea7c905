"""What the server makes of a phone's clock: the clock skew measured from the
``sent_at`` a phone sends with a request, and the time flags of a device time. Used by
sync, the event and scan endpoints, payouts and the cash ledger (docs/api.md, "Offline
sync rules")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

SKEW_FLAG_S = 300  # device clocks further off than this are flagged
FUTURE_TOLERANCE = timedelta(minutes=10)
PAST_LIMIT = timedelta(days=30)
#: every flag :func:`device_flags` can give: what they say about an event's device time
TIME_FLAGS = frozenset({"device_clock_off", "implausible_device_time"})


def clock_skew(sent_at: datetime | None, now: datetime) -> float | None:
    """The device's clock minus the server's, in seconds (positive: the device is
    ahead), from the device time at which it sent the request; None without one."""
    return (sent_at - now).total_seconds() if sent_at is not None else None


def skew_flags(skew_s: float | None) -> list[str]:
    """``device_clock_off`` for a clock more than :data:`SKEW_FLAG_S` off: the request
    and everything in it."""
    return ["device_clock_off"] if skew_s is not None and abs(skew_s) > SKEW_FLAG_S else []


def time_flags(device_time: datetime, skew_s: float | None, now: datetime) -> list[str]:
    """Flags for a device time that cannot be right (after correcting the clock skew)."""
    corrected = device_time - timedelta(seconds=skew_s or 0)
    if corrected > now + FUTURE_TOLERANCE or corrected < now - PAST_LIMIT:
        return ["implausible_device_time"]
    return []


def device_flags(device_time: datetime, skew_s: float | None, now: datetime) -> list[str]:
    """Every flag of one device time sent with a clock skew (or None): the clock's
    (:func:`skew_flags`), then the time's (:func:`time_flags`)."""
    return skew_flags(skew_s) + time_flags(device_time, skew_s, now)


def likely_time(device_time: datetime, server_time: datetime, flags: Sequence[str] | None,
                clock_skew_s: float | None) -> datetime:
    """When something a phone recorded most likely happened, for people who read one
    time (the public tracking page): its device time corrected by the phone's measured
    clock skew, never after the server received it, and the receive time itself when
    even the corrected time is implausible. (Staff see both times as recorded.)"""
    if "implausible_device_time" in (flags or ()):
        return server_time
    corrected = device_time - timedelta(seconds=clock_skew_s or 0)
    return min(corrected, server_time)


def ping_clock_time(device_time: datetime, flags: Sequence[str] | None,
                    clock_skew_s: float | None) -> datetime:
    """An event's device time on the clock its courier's GPS pings are kept by: a ping
    from a clock found off (``device_clock_off``) is stored at its corrected time
    (:mod:`api.sync.service`), so an event flagged so is corrected the same way (the
    trail around an attempt from a phone an hour behind was looked for an hour before
    it); any other is taken as sent, as its pings were."""
    if "device_clock_off" in (flags or ()) and clock_skew_s is not None:
        return device_time - timedelta(seconds=clock_skew_s)
    return device_time
