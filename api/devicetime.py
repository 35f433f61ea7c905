"""What the server makes of a phone's clock: the time flags of a device time and the
clock skew measured for a sync upload. Used by sync, the event and scan endpoints,
payouts and the cash ledger (docs/api.md, "Offline sync rules")."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from models import SyncUpload

SKEW_FLAG_S = 300  # device clocks further off than this are flagged
FUTURE_TOLERANCE = timedelta(minutes=10)
PAST_LIMIT = timedelta(days=30)


def time_flags(device_time: datetime, skew_s: float | None, now: datetime) -> list[str]:
    """Flags for a device time that cannot be right (after correcting the clock skew)."""
    corrected = device_time - timedelta(seconds=skew_s or 0)
    if corrected > now + FUTURE_TOLERANCE or corrected < now - PAST_LIMIT:
        return ["implausible_device_time"]
    return []


def upload_clock_skew(session: Session, sync_upload_id: int | None) -> float | None:
    """The clock skew (device minus server, seconds) measured for a sync upload; None
    when the event came another way or the phone sent no ``sent_at``."""
    if sync_upload_id is None:
        return None
    upload = session.get(SyncUpload, sync_upload_id)
    return upload.clock_skew_s if upload is not None else None
