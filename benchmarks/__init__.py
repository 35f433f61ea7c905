"""Benchmarks (not part of the installed package)."""

from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import Any


def scratch_app(url: str) -> Any:
    """The app on the scratch database at ``url`` (a benchmark empties and fills it)."""
    from api import create_app

    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                       "SECRET_KEY": "bench", "RATELIMIT_STORAGE_URI": "memory://"})


def other_version(path: str, name: str) -> ModuleType:
    """A module as another version of the code had it (a file from ``git show``), to
    time against this one; loaded as ``name`` (e.g. ``api.complaints.old``: a sibling
    of the module it was, so its relative imports resolve)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
