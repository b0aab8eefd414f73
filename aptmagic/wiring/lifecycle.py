"""Apply the S3 bucket set-up from the settings: versioning on, and the
lifecycle rules (direct-upload staging objects expire after
s3_temp_expire_days, earlier versions after s3_noncurrent_expire_days).

    python -m aptmagic.wiring.lifecycle

Reads the same APTMAGIC_* settings as the server."""

from __future__ import annotations

import json
import sys

from aptmagic.config import Settings
from aptmagic.storage.s3 import S3BlobStore


def apply(settings: Settings) -> dict[str, object]:
    if settings.storage_backend != "s3":
        raise SystemExit("storage_backend is not s3: there is no bucket to set up")
    store = S3BlobStore.from_settings(settings)
    store.enable_versioning()
    return store.apply_lifecycle(settings.s3_temp_expire_days, settings.s3_noncurrent_expire_days)


def main() -> None:
    rules = apply(Settings())
    json.dump(rules, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
