"""The model catalog as the deployed functions get it: a file, written here for the handlers."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from trainops_runtime import catalog


def use_catalog(monkeypatch: pytest.MonkeyPatch, models: Mapping[str, Any]) -> Path:
    """Points the handlers at a catalog file holding ``models`` (model -> entry).

    The file is named by its content, so tests that share a catalog share the file and
    concurrent runs never see each other's half-written files.
    """
    text = json.dumps(models, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"trainops-catalog-{digest}.json"
    if not path.exists():
        partial = path.with_suffix(f".{digest}.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    monkeypatch.setenv(catalog.PATH_ENV, str(path))
    catalog.load.cache_clear()
    return path
