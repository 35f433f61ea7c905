"""Recording a scan: decode the photo (and/or take the phone's codes), find the item
identifier, record the event, keep the photo as evidence. Exactly once per
``client_event_id``. A photo that decodes but holds no item number is kept as a scan
to resolve (:class:`models.UnreadScan`, settled in :mod:`api.scans.unread`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import scanning
from models import Role, Scan, TrackingEvent, UnreadScan, UnreadState, User, lock_rows
from scanning.loading import sniff_format
from scanning.s10 import looks_like_s10, normalize_s10

from ..devicetime import clock_skew, device_flags
from ..errors import Conflict, NotFound, Problem, Unprocessable, library_slug
from ..evidence import CONTENT_TYPES, EvidenceStore
from ..items import service as items
from ..localtime import day_start, local_day

_ALIASES = {"QR": "QR_CODE", "QRCODE": "QR_CODE", "DATAMATRIX": "DATA_MATRIX",
            "UPC_A": "UPCA", "UPC_E": "UPCE", "EAN_13": "EAN13", "EAN_8": "EAN8",
            "CODE_128": "CODE128", "CODE_39": "CODE39", "CODE_93": "CODE93"}


def _symbology(name: str | None) -> scanning.Symbology:
    if not name:
        return scanning.Symbology.CODE128
    key = re.sub(r"[^A-Z0-9_]", "", name.upper().replace("-", "_"))
    key = _ALIASES.get(key, key)
    try:
        return scanning.Symbology(key)
    except ValueError:
        return scanning.Symbology.CODE128


def _code_json(b: scanning.Barcode, source: str) -> dict[str, Any]:
    return {"symbology": b.symbology.value, "text": b.text,
            "polygon": [[round(x, 1), round(y, 1)] for x, y in b.polygon],
            "engine": b.engine if source == "photo" else None, "source": source}


@dataclass
class ScanOutcome:
    scan: Scan
    replayed: bool


class PhotoKept(Unprocessable):
    """The scan is refused (no item number), but its photo was kept as a scan to
    resolve: the view commits the record before answering."""


#: what a kept scan's fields leave out: secrets the phone sent for a delivery (a
#: one-time delivery code, an ID number), never stored in clear; a delivery that needs
#: them is refused when staff resolve it, and the courier records it again
_SECRETS = ("delivery_code", "id_number")


def _fields_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """The scan's fields other than its identity (action, client_event_id, device
    time) and codes, as JSON that :class:`~api.scans.schemas.ScanCreateSchema` loads
    again."""
    def plain(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, Mapping):
            return {k: plain(x) for k, x in v.items() if k not in _SECRETS}
        if hasattr(v, "isoformat"):  # a date
            return v.isoformat()
        if hasattr(v, "value"):  # an enum
            return v.value
        return v
    return {k: plain(v) for k, v in data.items()
            if k not in ("action", "client_event_id", "device_time", "codes")
            and v is not None}


def _kept_photo(session: Session, actor: User, data: Mapping[str, Any], photo: bytes,
                ext: str, codes: list[dict[str, Any]], misreads: list[dict[str, Any]], *,
                now: datetime, store: EvidenceStore, daily_cap: int) -> dict[str, Any]:
    """Keep a photo with no item number as a scan to resolve (or count a retry of one
    kept): the problem's extension members saying so."""
    if actor.office_id is None:  # an admin's scan: no office to resolve it
        return {"photo_kept": False}
    # one at a time per courier: the day's count and the retry's record are current
    lock_rows(session, User, User.id == actor.id)
    # (FOR NO KEY UPDATE: an event inserted for this courier meanwhile, by staff resolving
    # one of their scans, takes its foreign-key share lock without waiting on this)
    session.execute(select(User.id).where(User.id == actor.id)
                    .with_for_update(key_share=True)).all()
    cid = data["client_event_id"]
    kept = session.execute(select(UnreadScan).where(UnreadScan.client_event_id == cid)
                           ).scalar_one_or_none()
    if kept is None:
        start = day_start(local_day(now))
        today = session.execute(select(func.count(UnreadScan.id)).where(
            UnreadScan.actor_id == actor.id, UnreadScan.server_time >= start,
            UnreadScan.server_time < start + timedelta(days=1))).scalar_one()
        if today >= daily_cap:
            return {"photo_kept": False, "photo_not_kept_reason":
                    f"{today} photos without an item number were kept for you today, the "
                    "most a day"}
        try:
            key = store.save(photo, CONTENT_TYPES[ext][1])
        except Problem:  # the store cannot write (a full disk: logged there): the
            # refusal stands as it was, not a 503 "send it again later" for a photo no
            # resend will read
            return {"photo_kept": False, "photo_not_kept_reason":
                    "the server could not store it"}
        kept = UnreadScan(client_event_id=cid, action=data["action"], actor_id=actor.id,
                          office_id=actor.office_id, device_time=data["device_time"],
                          server_time=now, last_attempt_at=now, attempts=1,
                          location=data.get("location"), fields=_fields_json(data),
                          codes=codes, misreads=misreads, photo_key=key,
                          photo_content_type=CONTENT_TYPES[ext][0], photo_bytes=len(photo),
                          state=UnreadState.OPEN)
        session.add(kept)
    else:
        # the same scan sent again without a readable number: one record (its first
        # photo), the retry counted
        kept.attempts += 1
        kept.last_attempt_at = now
    session.flush()
    return {"photo_kept": True, "unread_scan_id": kept.id, "unread_scan_state": kept.state.value}


def _replay(session: Session, actor: User, cid: str, action: Any, device_time: datetime
            ) -> ScanOutcome | None:
    scan = session.execute(select(Scan).where(Scan.client_event_id == cid)).scalar_one_or_none()
    if scan is not None:
        # another action, someone else's, or the same action at another time (a phone
        # whose ids start over): another scan, not a resend of this one
        if scan.action is not action or (actor.role is not Role.ADMIN
                                          and scan.actor_id != actor.id) or (
                scan.device_time != device_time):
            raise Conflict(f"client_event_id {cid} was already used.",
                           slug="idempotency-key-reused")
        return ScanOutcome(scan, True)
    if session.execute(select(TrackingEvent.id).where(
            TrackingEvent.client_event_id == cid)).first() is not None:
        raise Conflict(f"client_event_id {cid} was already used for an event that was not "
                       "a scan.", slug="idempotency-key-reused")
    kept = session.execute(select(UnreadScan).where(UnreadScan.client_event_id == cid)
                           ).scalar_one_or_none()
    # a photo kept without an item number: the same scan sent again (retaken, or with
    # the number typed) is decoded; another scan under its id is refused as above
    if kept is not None and (kept.action is not action or (
            actor.role is not Role.ADMIN and kept.actor_id != actor.id)
            or kept.device_time != device_time):
        raise Conflict(f"client_event_id {cid} was already used.",
                       slug="idempotency-key-reused")
    return None


def record_scan(session: Session, actor: User, data: Mapping[str, Any], photo: bytes | None,
                *, now: datetime, store: EvidenceStore, carrier_patterns: Mapping[str, str],
                max_attempts: int, photo_max_bytes: int,
                scan_config: scanning.ScanConfig | None = None,
                rules: items.EventSettings | None = None,
                unread_daily_cap: int | None = None, received_at: datetime | None = None,
                code_source: str = "phone") -> ScanOutcome:
    """Record a scan. With ``unread_daily_cap``, a photo that decodes but holds no item
    number is kept as a scan to resolve (:class:`PhotoKept`), up to that many a courier
    a day. ``received_at`` is when the phone sent it, when that is not ``now`` (a kept
    scan that staff resolve later: its clock skew and time flags are the phone's);
    ``code_source`` names where the phone-side codes came from (``office``: read on
    the kept photo by staff)."""
    cid: str = data["client_event_id"]
    replay = _replay(session, actor, cid, data["action"], data["device_time"])
    if replay is not None:
        return replay  # before decoding anything: a resend costs nothing

    barcodes: list[scanning.Barcode] = []
    sources: list[str] = []
    ext = None
    photo_error: dict[str, str] | None = None
    if photo is not None:
        if len(photo) > photo_max_bytes:
            raise Problem(f"The photo is {-(-len(photo) // 1024)} KB; the limit is "
                          f"{photo_max_bytes // 1024} KB.", status=413, slug="photo-too-large",
                          title="Photo too large")
        try:
            ext = sniff_format(photo).lower()
            found = scanning.scan_label(photo, carrier_patterns, config=scan_config).barcodes
        except scanning.ScanningError as exc:
            if not data.get("codes"):
                raise  # nothing else to go by: the photo's problem is the answer
            # the phone decoded the label itself: the scan (a delivery, a pick-up) is
            # recorded from its codes, where the whole scan was refused and lost with a
            # photo the camera app truncated or wrote as HEIC; the photo is not kept
            ext, found = None, ()
            photo_error = {"type": library_slug(exc) or "unreadable-image",
                           "detail": str(exc)[:300]}
        barcodes += found
        sources += ["photo"] * len(found)
    for code in data.get("codes") or []:
        barcodes.append(scanning.Barcode(symbology=_symbology(code.get("symbology")),
                                         text=code["text"], raw=code["text"].encode(),
                                         polygon=(), engine="phone", variant="phone"))
        sources.append(code_source)
    codes = [_code_json(b, s) for b, s in zip(barcodes, sources, strict=True)]

    ident = scanning.identify(barcodes, carrier_patterns)
    misreads = [{"symbology": m.barcode.symbology.value, "text": m.barcode.text,
                 "reason": m.reason} for m in ident.misreads]
    if ident.item_id is None:
        detail = "No item number among the codes read." if codes else "No code could be read."
        if photo is not None and ext is not None and unread_daily_cap is not None:
            # a photo that decoded: kept for the office, so the attempt is not lost
            kept = _kept_photo(session, actor, data, photo, ext, codes, misreads, now=now,
                               store=store, daily_cap=unread_daily_cap)
            if kept["photo_kept"]:
                raise PhotoKept(detail + " The photo is kept for the office to resolve "
                                "(unread_scan_id); type the number or retake the photo, "
                                "with the same client_event_id.", slug="no-item-code",
                                title="No item code found", codes=codes, misreads=misreads,
                                **kept)
            raise Unprocessable(detail + " The photo was not kept: "
                                + kept.get("photo_not_kept_reason", "no office") + ".",
                                slug="no-item-code", title="No item code found", codes=codes,
                                misreads=misreads, photo_kept=False)
        raise Unprocessable(detail, slug="no-item-code", title="No item code found",
                            codes=codes, misreads=misreads)

    event_data = {"code": data["action"].event_code, "client_event_id": cid,
                  "device_time": data["device_time"], "location": data.get("location"),
                  "reason": data.get("reason"), "action": data.get("action_taken"),
                  "note": data.get("note"), "proof": data.get("proof"),
                  "photo": data.get("photo"), "next_attempt_on": data.get("next_attempt_on")}
    received = received_at or now
    skew = clock_skew(data.get("sent_at"), received)
    # a scan kept without an item number and sent again: its record is locked before
    # the item's (as staff resolving it lock it), and settled by this scan
    kept_scan = session.execute(select(UnreadScan).where(
        UnreadScan.client_event_id == cid)).scalar_one_or_none()
    if kept_scan is not None:
        lock_rows(session, UnreadScan, UnreadScan.id == kept_scan.id)
        session.execute(select(UnreadScan.id).where(UnreadScan.id == kept_scan.id)
                        .with_for_update()).all()
        session.refresh(kept_scan)
    # a label with two item numbers (another carrier's sticker over ours, a return
    # label): the first that is an item the courier can see is the one scanned, the
    # S10s first, then the other carriers' numbers (identify() stops at the S10s)
    candidates = [ident.item_id, *ident.alternatives]
    if ident.kind == "s10":
        others = scanning.identify(
            [b for b in barcodes if not looks_like_s10(normalize_s10(b.text))],
            carrier_patterns)
        if others.item_id is not None:
            candidates += [others.item_id, *others.alternatives]
    # one the courier had but no longer has (item-reassigned) is said only when no other
    # code is an item they can see: it refused the scan of their own parcel when a code
    # before it on the label was one reassigned away from them
    reassigned: NotFound | None = None
    for identified in candidates:
        try:
            # a photo scan may be uploaded long after it was taken: like a synced event,
            # a late one that no longer fits is kept and flagged rather than refused;
            # its device time gets the sync's clock and time flags too, from the scan's
            # sent_at (without it, no clock skew), which book COD cash
            # (api.cash.service.field_shift_day)
            result = items.record_event(session, actor, identified, event_data, now=now,
                                        max_attempts=max_attempts, keep_late_conflicts=True,
                                        flags=device_flags(data["device_time"], skew, received),
                                        clock_skew_s=skew, source="scan", **(rules or {}))
            break
        except NotFound as exc:
            if exc.slug == "item-reassigned" and reassigned is None:
                # the phone keeps it for a supervisor
                reassigned = NotFound(exc.detail, slug=exc.slug, title=exc.title,
                                      code=identified, codes=codes)
    else:
        if reassigned is not None:
            raise reassigned
        raise NotFound(f"No item {ident.item_id} that you can see.", slug="item-not-found",
                       code=ident.item_id, codes=codes)
    if result.replayed:
        # the same scan sent again while the first was being recorded: the event
        # lock made this request wait for it, so its scan is there now
        replay = _replay(session, actor, cid, data["action"], data["device_time"])
        if replay is not None:
            return replay
        raise Conflict(f"client_event_id {cid} was already used for an event that was not "
                       "a scan.", slug="idempotency-key-reused")
    key = store.save(photo, CONTENT_TYPES[ext][1]) if photo is not None and ext else None
    scan = Scan(client_event_id=cid, action=data["action"], actor_id=actor.id,
                item_id=result.item.id, event_id=result.event.id,
                device_time=data["device_time"], server_time=now, codes=codes,
                identified_code=identified, misreads=misreads, photo_key=key,
                photo_content_type=CONTENT_TYPES[ext][0] if ext else None,
                photo_bytes=len(photo) if photo is not None else None, photo_error=photo_error)
    scan.item, scan.event, scan.actor = result.item, result.event, actor
    # settled by this scan, also once staff dismissed it (the courier retook the photo
    # or typed the number after all: the record names the scan recorded)
    if kept_scan is not None and kept_scan.state is not UnreadState.RESOLVED:
        kept_scan.state, kept_scan.scan, kept_scan.resolved_at = UnreadState.RESOLVED, scan, now
        kept_scan.identifier = identified
        if scan.photo_key is None:  # the number typed: the kept photo is the evidence
            scan.photo_key, scan.photo_bytes = kept_scan.photo_key, kept_scan.photo_bytes
            scan.photo_content_type = kept_scan.photo_content_type
    session.add(scan)
    session.flush()
    return ScanOutcome(scan, False)


def get_scan(session: Session, actor: User, scan_id: int) -> Scan:
    """Staff in scope may see a scan; couriers only their own."""
    scan = session.get(Scan, scan_id)
    if scan is None:
        raise NotFound(f"No scan {scan_id}.")
    if actor.role is Role.COURIER and scan.actor_id != actor.id:
        raise NotFound(f"No scan {scan_id}.")
    if actor.role is Role.DISPATCHER and scan.item.office_id != actor.office_id:
        raise NotFound(f"No scan {scan_id}.")
    return scan

