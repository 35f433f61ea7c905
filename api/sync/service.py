"""Offline sync: a phone's backlog in one call, each entry applied exactly once.

Each entry stands alone (a savepoint each): one bad entry never rejects the others.
Tracking events are applied in device-time order; an event that arrives after a
later one (a failed attempt synced after the delivery, or after the dispatcher held the
item and sent it out again) is kept, unapplied and flagged, by
:func:`api.items.service.record_event`. GPS pings are
downsampled to one per courier per ``GPS_MIN_INTERVAL_S``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import CourierPosition, IllegalTransitionError, Role, SyncUpload, User, lock_rows

from ..devicetime import clock_skew, skew_flags, time_flags
from ..errors import NotFound, Problem, problem_type, validation_pointers
from ..evidence import lock_evidence
from ..items import service as items
from ..localtime import LOCAL_TZ, day_start
from ..payouts import service as payout_service
from ..scope import office_for_read
from .schemas import GpsPingSchema, SyncEventSchema, SyncPayoutSchema


def _rejected(status: int, slug: str | None, title: str, detail: str,
              **ext: Any) -> dict[str, Any]:
    body = {"type": problem_type(slug) if slug else "about:blank", "title": title,
            "status": status, "detail": detail}
    body.update(ext)
    return {"result": "rejected", "problem": body, "flags": []}


def sync(session: Session, actor: User, request: Mapping[str, Any], *, now: datetime,
         max_attempts: int, gps_min_interval_s: int,
         rules: items.EventSettings | None = None) -> dict[str, Any]:
    sent_at = request.get("sent_at")
    skew = clock_skew(sent_at, now)
    upload = SyncUpload(actor_id=actor.id, device_id=request.get("device_id"), received_at=now,
                        device_sent_at=sent_at, clock_skew_s=skew,
                        received=len(request["events"]))
    session.add(upload)
    session.flush()
    upload_flags = skew_flags(skew)

    results: list[dict[str, Any]] = [{} for _ in request["events"]]
    events: list[tuple[int, dict[str, Any]]] = []
    pings: list[tuple[int, dict[str, Any]]] = []
    payouts: list[tuple[int, dict[str, Any]]] = []
    for idx, raw in enumerate(request["events"]):
        if not isinstance(raw, dict):
            results[idx] = _rejected(422, "validation-error", "The request is not valid",
                                     "An entry is a JSON object.",
                                     errors=[{"pointer": "", "detail": "Not an object."}])
            continue
        kind: Any = raw.get("kind")
        schema = {"event": SyncEventSchema, "gps": GpsPingSchema,
                  "payout": SyncPayoutSchema}.get(kind) if isinstance(kind, str) else None
        if schema is None:
            results[idx] = _rejected(422, "validation-error", "The request is not valid",
                                     "kind must be 'event', 'gps' or 'payout'.",
                                     errors=[{"pointer": "/kind", "detail": "Unknown kind."}])
            continue
        try:
            data = schema().load(raw)
        except ValidationError as exc:
            results[idx] = _rejected(422, "validation-error", "The request is not valid",
                                     "Some fields are invalid; see errors.",
                                     errors=validation_pointers({"json": exc.messages}))
            continue
        {"event": events, "gps": pings, "payout": payouts}[kind].append((idx, data))

    if pings and actor.role is Role.COURIER:
        # one upload's pings at a time per courier: two uploads at once would each look
        # for a ping near theirs before either stored one, and both keep theirs. The
        # courier's row, first (before the items): FOR NO KEY UPDATE, which rows that
        # merely refer to the courier (their events, a plan handing them items) do not wait for
        lock_rows(session, User, User.id == actor.id)
        session.execute(select(User.id).where(User.id == actor.id)
                        .with_for_update(key_share=True)).all()
    for idx, data in sorted(pings, key=lambda p: (p[1]["device_time"], p[0])):
        results[idx] = _ping(session, actor, data, now=now, upload=upload,
                             min_interval=timedelta(seconds=gps_min_interval_s))

    # the courier's scans kept without an item number that an event may settle, before
    # the items (as staff resolving one take them), then every item of the batch, in
    # one order: no deadlock with another batch
    items.lock_kept_scans(session, [data["client_event_id"] for _, data in events])
    items.lock_items(session, actor, [data["identifier"] for _, data in events])
    # then its payouts, then the files they all cite (each delivery, event photo and
    # payment looks for other uses of its files): items, payouts, files, each in one
    # order, as a single event (item, files) or payment (payout, files) takes them
    payout_service.lock_payouts(session, actor, [data["payout_id"] for _, data in payouts])
    lock_evidence(session, [
        *((data.get("proof") or {}).get(k) for _, data in events
          for k in ("photo", "signature")),
        *(data.get("photo") for _, data in events),
        *(data.get(k) for _, data in payouts for k in ("signature", "photo"))])
    for idx, data in sorted(events, key=lambda e: (e[1]["device_time"], e[0])):
        flags = upload_flags + time_flags(data["device_time"], skew, now)
        try:
            with session.begin_nested():
                res = items.record_event(
                    session, actor, data["identifier"], data, now=now,
                    max_attempts=max_attempts, keep_late_conflicts=True, flags=flags,
                    clock_skew_s=skew, sync_upload_id=upload.id, source="sync",
                    **(rules or {}))
        except Problem as exc:
            results[idx] = _rejected(exc.status, exc.slug, exc.title, exc.detail,
                                     **exc.extensions)
            continue
        except IllegalTransitionError as exc:
            results[idx] = _rejected(
                409, "illegal-transition", "Illegal status transition", exc.why,
                current_status=exc.status.value if exc.status else None,
                allowed_events=[e.value for e in exc.allowed])
            continue
        results[idx] = {"result": "duplicate" if res.replayed else "accepted",
                        "event_id": res.event.id, "item_status": res.item.status.value,
                        "applied": res.event.applied, "flags": list(res.event.flags or [])}

    for idx, data in sorted(payouts, key=lambda e: (e[1]["device_time"], e[0])):
        flags = upload_flags + time_flags(data["device_time"], skew, now)
        try:
            with session.begin_nested():  # booked to the day the flags give, like COD
                task, replayed = payout_service.pay(session, actor, data["payout_id"], data,
                                                    now=now, flags=flags, clock_skew_s=skew)
        except Problem as exc:
            results[idx] = _rejected(exc.status, exc.slug, exc.title, exc.detail,
                                     **exc.extensions)
            continue
        # the payment's flags as first recorded (a resent one never flags itself)
        results[idx] = {"result": "duplicate" if replayed else "accepted",
                        "receipt_number": task.receipt_number,
                        "flags": list(task.flags or [])}

    for idx, raw in enumerate(request["events"]):
        entry = raw if isinstance(raw, dict) else {}
        results[idx].update(index=idx, kind=entry.get("kind"),
                            client_event_id=entry.get("client_event_id")
                            if isinstance(entry.get("client_event_id"), str) else None)
    counts = {k: sum(1 for r in results if r["result"] == k)
              for k in ("accepted", "duplicate", "downsampled", "rejected")}
    counts["flagged"] = sum(1 for r in results if r.get("flags"))
    upload.accepted, upload.duplicates = counts["accepted"], counts["duplicate"]
    upload.rejected, upload.flagged = counts["rejected"], counts["flagged"]
    session.flush()
    return {"upload_id": upload.id, "clock_skew_s": skew, "flags": upload_flags,
            "counts": counts, "results": results}


def _ping(session: Session, actor: User, data: Mapping[str, Any], *, now: datetime,
          upload: SyncUpload, min_interval: timedelta) -> dict[str, Any]:
    if actor.role is not Role.COURIER:
        return _rejected(403, "forbidden", "Forbidden", "Only couriers send GPS pings.")
    cid = data["client_event_id"]
    stored = _stored_ping(session, actor, data)
    if stored is not None:
        return stored
    t = data["device_time"]
    skew = upload.clock_skew_s
    if time_flags(t, skew, now):
        # a phone reset to 2000, or a year ahead: stored, it would be the courier's
        # latest position for ever (and never purged) or a point lost in the past
        return _rejected(422, "validation-error", "The request is not valid",
                         "The ping's time cannot be right, even corrected for the phone's "
                         "clock: not stored.",
                         errors=[{"pointer": "/device_time", "detail": "Implausible."}])
    loc = data["location"]
    if loc["lat"] == 0 and loc["lon"] == 0:
        # a phone without a fix sends 0, 0: stored, it was the courier's latest position
        # on the office's map (in the Gulf of Guinea), a line across the world in their
        # track, and kept the real fixes of the next 30 s out as downsampled
        return _rejected(422, "validation-error", "The request is not valid",
                         "0, 0 is what a phone without a GPS fix sends: not stored.",
                         errors=[{"pointer": "/location", "detail": "No GPS fix (0, 0)."}])
    if skew_flags(skew):  # a clock found off: the ping is stored at when it was taken
        t -= timedelta(seconds=skew or 0)
    near = session.execute(select(CourierPosition.id).where(
        CourierPosition.courier_id == actor.id,
        CourierPosition.device_time > t - min_interval,
        CourierPosition.device_time < t + min_interval).limit(1)).first()
    if near is not None:
        return {"result": "downsampled", "flags": []}
    try:
        with session.begin_nested():  # (it flushes what is pending first: add inside)
            session.add(CourierPosition(
                client_event_id=cid, courier_id=actor.id, device_time=t, server_time=now,
                lat=loc["lat"], lon=loc["lon"], accuracy_m=loc.get("accuracy_m"),
                sync_upload_id=upload.id))
            session.flush()
    except IntegrityError:
        # the same upload resent while the first was being recorded (a phone that
        # timed out): that one stored the ping
        stored = _stored_ping(session, actor, data)
        if stored is None:
            raise
        return stored
    return {"result": "accepted", "flags": []}


def _stored_ping(session: Session, actor: User, data: Mapping[str, Any]
                 ) -> dict[str, Any] | None:
    """The result for a ping whose ``client_event_id`` is stored: a resend of the
    courier's own, at the same place (``duplicate``), else a 409
    ``idempotency-key-reused``, as for an event: another courier's id, or another ping
    of a phone whose ids start over (reinstalled), answered as a duplicate, was dropped
    by the phone, and the courier's trail with it. The time is not compared: a ping is
    stored at its time corrected for a clock found off, which another upload measures
    anew. None when it is not stored."""
    cid = data["client_event_id"]
    stored = session.execute(select(
        CourierPosition.courier_id, CourierPosition.lat, CourierPosition.lon).where(
        CourierPosition.client_event_id == cid)).first()
    if stored is None:
        return None
    loc = data["location"]
    if stored.courier_id != actor.id or (stored.lat, stored.lon) != (loc["lat"], loc["lon"]):
        return _rejected(409, "idempotency-key-reused", "Conflict",
                         f"client_event_id {cid} was already used for another ping.")
    return {"result": "duplicate", "flags": []}


def _visible_courier(session: Session, actor: User, courier_id: int) -> User:
    courier = session.get(User, courier_id)
    if courier is None or courier.role is not Role.COURIER or (
            actor.role is Role.COURIER and actor.id != courier_id) or (
            actor.role is Role.DISPATCHER and courier.office_id != actor.office_id):
        raise NotFound(f"No courier {courier_id} that you can see.")
    return courier


def track_geojson(session: Session, actor: User, courier_id: int, day: Any) -> dict[str, Any]:
    """A courier's GPS track for a day (Viet Nam time) as GeoJSON."""
    _visible_courier(session, actor, courier_id)
    start = day_start(day)
    rows = session.execute(select(CourierPosition).where(
        CourierPosition.courier_id == courier_id, CourierPosition.device_time >= start,
        CourierPosition.device_time < start + timedelta(days=1)
    ).order_by(CourierPosition.device_time)).scalars().all()
    points = [{"type": "Feature",
               "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
               "properties": {"device_time": p.device_time.astimezone(LOCAL_TZ).isoformat(),
                              "accuracy_m": p.accuracy_m}} for p in rows]
    # a LineString has two or more positions (RFC 7946, 3.1.4): a day of no ping or one
    # is an unlocated track (geometry null, 3.2), not an empty or one-point line that
    # map libraries refuse
    line = {"type": "Feature", "geometry": {"type": "LineString",
                                            "coordinates": [[p.lon, p.lat] for p in rows]}
            if len(rows) >= 2 else None,
            "properties": {"courier_id": courier_id, "date": day.isoformat(),
                           "points": len(rows)}}
    return {"type": "FeatureCollection", "features": [line, *points]}


def latest_positions(session: Session, actor: User, office_id: int | None,
                     now: datetime) -> list[dict[str, Any]]:
    """Every courier of an office with their latest GPS position (None if none yet)."""
    office_id = office_for_read(actor, office_id, what="other couriers' positions")
    # each courier's latest ping, looked up courier by courier in the (courier_id,
    # device_time) index: a grouped max over the whole table read every ping of every
    # office kept for 90 days, for each refresh of a console's map (every 10 s)
    latest = (select(func.max(CourierPosition.device_time))
              .where(CourierPosition.courier_id == User.id)
              .correlate(User).scalar_subquery())
    rows = session.execute(
        select(User, CourierPosition)
        .where(User.office_id == office_id, User.role == Role.COURIER)
        .outerjoin(CourierPosition, (CourierPosition.courier_id == User.id)
                   & (CourierPosition.device_time == latest))
        .order_by(User.id)).unique().all()
    out = []
    seen: set[int] = set()
    for user, pos in rows:
        if user.id in seen:  # two pings at the same latest instant
            continue
        seen.add(user.id)
        out.append({
            "courier_id": user.id, "username": user.username, "full_name": user.full_name,
            "position": None if pos is None else {
                "lat": pos.lat, "lon": pos.lon, "accuracy_m": pos.accuracy_m,
                "device_time": pos.device_time.isoformat(),
                "age_s": int((now - pos.device_time).total_seconds())}})
    return out


def purge_positions(session: Session, *, older_than: datetime) -> int:
    from sqlalchemy import delete

    result = session.execute(delete(CourierPosition).where(
        CourierPosition.device_time < older_than))
    # a DELETE's result is a CursorResult, which has rowcount; execute() is typed Result
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
