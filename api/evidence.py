"""The evidence store: scan photos, signatures, addressed by their SHA-256.

Local directory by default (``PHOTO_DIR``, default ``instance/evidence``). Content
addressing makes a resent photo free and a file never overwritten by another.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    DeliveryProof,
    Evidence,
    EvidenceKind,
    PayoutTask,
    TrackingEvent,
    lock_rows,
)

from .errors import Problem

log = logging.getLogger(__name__)

#: how long a phone waits before sending a file the store could not write again
STORE_RETRY_AFTER_S = 300

CONTENT_TYPES = {"jpeg": ("image/jpeg", "jpg"), "png": ("image/png", "png"),
                 "webp": ("image/webp", "webp")}


class EvidenceStore(Protocol):
    def save(self, data: bytes, extension: str) -> str: ...

    def path(self, key: str) -> Path: ...


@dataclass(frozen=True)
class LocalEvidenceStore:
    root: Path

    def save(self, data: bytes, extension: str) -> str:
        digest = hashlib.sha256(data).hexdigest()
        key = f"{digest[:2]}/{digest[2:4]}/{digest}.{extension}"
        target = self.root / key
        tmp = None
        try:
            if target.exists():
                return key
            target.parent.mkdir(parents=True, exist_ok=True)
            # write then rename: a reader never sees half a file
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except OSError as exc:
            # a full disk (or a directory the server may not write) was a 500, and left
            # the part written as a hidden .upload- file, for every retry of the phone
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            log.error("evidence store %s: cannot write a file: %s", self.root,
                      exc.strerror or exc.__class__.__name__)
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            raise Problem("The server could not store the file"
                          + (" (its disk is full)" if full else "")
                          + "; nothing was recorded. Send it again later.", status=503,
                          slug="evidence-store-unavailable", title="Service unavailable",
                          headers={"Retry-After": str(STORE_RETRY_AFTER_S)}) from None
        return key

    def path(self, key: str) -> Path:
        resolved = (self.root / key).resolve()
        if not resolved.is_relative_to(self.root.resolve()):
            raise ValueError("evidence key outside the store")
        return resolved

    def remove(self, key: str) -> bool:
        """Delete a stored file no row cites any more (a scan to resolve past its
        retention); whether it was there."""
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def existing(self, key: str) -> Path:
        """The stored file to serve. One the database names but the store lacks (the
        volume not mounted, ``PHOTO_DIR`` changed, a database restored without its
        files) was a 500 on every photo link: a 503 saying so, and an error in the log
        naming the file. (Uploading the same bytes again puts it back.)"""
        path = self.path(key)
        if not path.is_file():
            log.error("evidence store %s: file %s is missing", self.root, key)
            raise Problem("The file is recorded but missing from the server's evidence "
                          "store; the error is logged.", status=503,
                          slug="evidence-file-missing", title="Service unavailable",
                          headers={"Retry-After": str(STORE_RETRY_AFTER_S)})
        return path


DELIVERY_RULE = "a delivery cites only files its deliverer uploaded."


def unknown_evidence(session: Session, refs: Mapping[str, tuple[str | None, EvidenceKind]],
                     *, uploaders: Collection[int] | None = None,
                     rule: str = DELIVERY_RULE) -> list[dict[str, str]]:
    """Problem pointers for the references (``pointer -> (sha256, kind)``) that name no
    uploaded file of that kind; empty references are skipped.

    With ``uploaders`` (user ids), a file uploaded by anyone else is a problem too (its
    detail ends with ``rule``, which says whose files may be cited): a proof of
    delivery, a failed attempt's door photo or a payout's receipt is what the courier
    captured there, not a file someone else sent (another courier's doorstep photo
    proves nothing about this visit). Content addressing keeps the first uploader of a
    file: the same bytes sent again by another user stay theirs, and only a copy of the
    file can be sent again."""
    out = []
    for pointer, (sha, kind) in refs.items():
        if not sha:
            continue
        uploader = session.execute(select(Evidence.uploaded_by_id).where(
            Evidence.sha256 == sha, Evidence.kind == kind)).scalar_one_or_none()
        if uploader is None:
            out.append({"pointer": pointer,
                        "detail": f"No uploaded {kind.value} with this SHA-256."})
        elif uploaders is not None and uploader not in uploaders:
            out.append({"pointer": pointer,
                        "detail": f"This {kind.value} was uploaded by another user; "
                        + rule})
    return out


def lock_evidence(session: Session, shas: Collection[str | None]) -> None:
    """Lock the evidence rows of these files (in one order) until the transaction ends.

    A delivery, an event with a photo or a payment that cites a file looks for the
    file's other uses (:mod:`api.proof.reuse`); two of them citing the same file at the
    same moment, each under its own item's or payout's lock, would not see each other.
    With the file's row locked the second waits for the first and sees it. Callers take
    their items' and payouts' locks first (items, then payouts, then files, each in one
    order: no deadlock)."""
    wanted = sorted({s for s in shas if s})
    if not wanted:
        return
    lock_rows(session, Evidence, Evidence.sha256.in_(wanted))
    session.execute(select(Evidence.id).where(Evidence.sha256.in_(wanted))
                    .order_by(Evidence.id).with_for_update(of=Evidence)).all()


def cited_by_office(session: Session, sha256: str, office_id: int | None) -> bool:
    """Whether a delivery of the office cites the file as its proof, an event of the
    office (a failed attempt) as its photo, or a payout of the office as its signature
    or photo: the office's staff may see it whoever uploaded it (an admin recording a
    delivery at the counter, a courier since moved to another office)."""
    return session.execute(select(PayoutTask.id).where(
        PayoutTask.office_id == office_id,
        (PayoutTask.signature_sha256 == sha256) | (PayoutTask.photo_sha256 == sha256),
    ).limit(1)).scalar() is not None or session.execute(select(DeliveryProof.id).join(
        TrackingEvent, TrackingEvent.id == DeliveryProof.event_id).where(
        TrackingEvent.office_id == office_id,
        (DeliveryProof.photo_sha256 == sha256) | (DeliveryProof.signature_sha256 == sha256),
    ).limit(1)).scalar() is not None or session.execute(select(TrackingEvent.id).where(
        TrackingEvent.office_id == office_id, TrackingEvent.photo_sha256 == sha256,
    ).limit(1)).scalar() is not None
