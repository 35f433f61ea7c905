"""Scans to resolve: label photos on which the server found no item number, kept for
the courier's office (:class:`models.UnreadScan`, kept by
:func:`api.scans.service.record_scan`). Staff list them, view the photo, and either
record the scan from the number they read on it (as the courier's scan, through
:func:`~api.scans.service.record_scan`: every rule of the lifecycle applies) or dismiss
it with a reason. ``flask scans purge-unread`` drops those past the retention period."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from marshmallow import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models import Evidence, Role, Scan, UnreadScan, UnreadState, User, lock_rows

from ..errors import Conflict, Forbidden, NotFound, Unprocessable, validation_pointers
from ..evidence import EvidenceStore
from ..items import service as items
from . import service
from .schemas import ScanCreateSchema


def get_unread(session: Session, actor: User, unread_id: int) -> UnreadScan:
    """Staff of the courier's office (admins: any) may see a kept scan; couriers their
    own. Anyone else: 404, its existence not revealed."""
    kept = session.get(UnreadScan, unread_id)
    if kept is None or (actor.role is Role.COURIER and kept.actor_id != actor.id) or (
            actor.role is Role.DISPATCHER and kept.office_id != actor.office_id):
        raise NotFound(f"No scan to resolve {unread_id}.")
    return kept


def list_unread(session: Session, office_id: int, states: Collection[UnreadState], *,
                limit: int, offset: int) -> tuple[list[UnreadScan], int]:
    """The office's kept scans in these states, the oldest first, and how many."""
    where = [UnreadScan.office_id == office_id, UnreadScan.state.in_(list(states))]
    total = session.execute(select(func.count(UnreadScan.id)).where(*where)).scalar_one()
    rows = session.execute(select(UnreadScan).where(*where).order_by(
        UnreadScan.server_time, UnreadScan.id).limit(limit).offset(offset)).scalars().all()
    return list(rows), total


def _settle(session: Session, actor: User, unread_id: int) -> UnreadScan:
    """The kept scan, locked, for staff to settle: couriers may not (403); staff of
    another office do not see it (404); one already settled is a 409."""
    if actor.role is Role.COURIER:
        raise Forbidden("Couriers do not resolve scans; their office's staff do.")
    kept = get_unread(session, actor, unread_id)
    lock_rows(session, UnreadScan, UnreadScan.id == kept.id)
    session.execute(select(UnreadScan.id).where(UnreadScan.id == kept.id)
                    .with_for_update()).all()
    session.refresh(kept)
    if kept.state is not UnreadState.OPEN:
        raise Conflict(f"Scan to resolve {unread_id} is already {kept.state.value}.",
                       slug="unread-scan-settled", title="Already settled",
                       state=kept.state.value, scan_id=kept.scan_id)
    return kept


def resolve(session: Session, actor: User, unread_id: int, identifier: str, *,
            now: datetime, store: EvidenceStore, carrier_patterns: Mapping[str, str],
            max_attempts: int, photo_max_bytes: int,
            rules: items.EventSettings | None = None) -> tuple[UnreadScan, service.ScanOutcome]:
    """Record the kept scan as the courier's, for the item number staff read on the
    photo: the courier's action, fields, device time and location, the clock skew and
    time flags as when the phone sent it. A refusal (no such item of the courier's, a
    transition the lifecycle forbids, a delivery whose proof needs the code the courier
    typed, which is not kept) is the answer, and the scan stays open."""
    kept = _settle(session, actor, unread_id)
    raw = {**kept.fields, "action": kept.action.value,
           "client_event_id": kept.client_event_id,
           "device_time": kept.device_time.isoformat(),
           "codes": [{"text": identifier}]}
    try:
        data = ScanCreateSchema().load(raw)
    except ValidationError as exc:  # not expected: the fields were valid when kept
        raise Unprocessable("The kept scan's fields are no longer valid; dismiss it.",
                            errors=validation_pointers({"json": exc.messages})) from exc
    outcome = service.record_scan(
        session, kept.actor, data, None, now=now, store=store,
        carrier_patterns=carrier_patterns, max_attempts=max_attempts,
        photo_max_bytes=photo_max_bytes, rules=rules, received_at=kept.server_time,
        code_source="office")
    session.refresh(kept)
    if kept.scan_id is None and outcome.replayed:
        # the phone's retry that decoded was recorded while this photo, sent at the same
        # moment without a number, was being kept: that scan settles it
        kept.state, kept.scan, kept.resolved_at = UnreadState.RESOLVED, outcome.scan, now
        kept.identifier = outcome.scan.identified_code
    elif kept.scan_id != outcome.scan.id:  # not expected: the record was locked and open
        raise Conflict(f"Scan to resolve {unread_id} was settled meanwhile.",
                       slug="unread-scan-settled", title="Already settled")
    else:
        kept.resolved_by = actor
    return kept, outcome


def dismiss(session: Session, actor: User, unread_id: int, reason: str, *,
            now: datetime) -> UnreadScan:
    """Nothing is to be recorded for the kept scan (a photo of the ground, a parcel
    scanned again since): the reason is kept."""
    kept = _settle(session, actor, unread_id)
    kept.state, kept.dismiss_reason = UnreadState.DISMISSED, reason
    kept.resolved_by, kept.resolved_at = actor, now
    session.flush()
    return kept


def purge(session: Session, *, older_than: datetime) -> tuple[int, list[str]]:
    """Delete the kept scans received before ``older_than`` that were not resolved
    (open or dismissed; a resolved one stays with its scan, whose evidence its photo
    is, or with the courier's event that settled it): how many, and the photo files no
    row cites any more, to delete once this is committed."""
    gone = session.execute(select(UnreadScan.id, UnreadScan.photo_key).where(
        UnreadScan.server_time < older_than,
        UnreadScan.state.in_([UnreadState.OPEN, UnreadState.DISMISSED]))).all()
    if not gone:
        return 0, []
    ids = [g.id for g in gone]
    for start in range(0, len(ids), 500):
        session.execute(delete(UnreadScan).where(UnreadScan.id.in_(ids[start:start + 500])))
    keys = sorted({g.photo_key for g in gone})
    cited: set[str | None] = set()
    for start in range(0, len(keys), 500):
        part = keys[start:start + 500]
        cited |= set(session.execute(select(UnreadScan.photo_key).where(
            UnreadScan.photo_key.in_(part))).scalars())
        cited |= set(session.execute(select(Scan.photo_key).where(
            Scan.photo_key.in_(part))).scalars())
        cited |= set(session.execute(select(Evidence.path).where(
            Evidence.path.in_(part))).scalars())
    return len(ids), [k for k in keys if k not in cited]
