"""The result-cache key: same task, model and version, and normalised params (seed included)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def cache_key(task: str, model_id: str, model_version: str, params: dict[str, Any]) -> str:
    canonical = json.dumps(
        {"task": task, "model": model_id, "version": model_version, "params": params},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
