"""The evidence store: scan photos, signatures, addressed by their SHA-256.

Local directory by default (``PHOTO_DIR``, default ``instance/evidence``). Content
addressing makes a resent photo free and a file never overwritten by another.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Evidence, EvidenceKind, lock_rows

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
        if target.exists():
            return key
        target.parent.mkdir(parents=True, exist_ok=True)
        # write then rename: a reader never sees half a file
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
        return key

    def path(self, key: str) -> Path:
        resolved = (self.root / key).resolve()
        if not resolved.is_relative_to(self.root.resolve()):
            raise ValueError("evidence key outside the store")
        return resolved


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
