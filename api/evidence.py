"""The evidence store: scan photos (later signatures), addressed by their SHA-256.

Local directory by default (``PHOTO_DIR``, default ``instance/evidence``). Content
addressing makes a resent photo free and a file never overwritten by another.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Evidence, EvidenceKind

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


def unknown_evidence(session: Session, refs: Mapping[str, tuple[str | None, EvidenceKind]]
                     ) -> list[dict[str, str]]:
    """Problem pointers for the references (``pointer -> (sha256, kind)``) that name no
    uploaded file of that kind; empty references are skipped."""
    out = []
    for pointer, (sha, kind) in refs.items():
        if sha and session.execute(select(Evidence.id).where(
                Evidence.sha256 == sha, Evidence.kind == kind)).first() is None:
            out.append({"pointer": pointer,
                        "detail": f"No uploaded {kind.value} with this SHA-256."})
    return out
