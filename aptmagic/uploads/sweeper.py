"""A background thread that deletes expired temporary uploads, row and blob.

Uploads a job uses have ``expires_at`` None and are never swept."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from aptmagic.db.base import utcnow
from aptmagic.storage.base import BlobStore
from aptmagic.uploads.repository import UploadRepository

log = logging.getLogger(__name__)
BATCH = 500


class UploadSweeper:
    def __init__(self, session_factory: sessionmaker[Session], store: BlobStore, interval_seconds: float) -> None:
        self.session_factory = session_factory
        self.store = store
        self.interval_seconds = interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="upload-sweeper", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                self.sweep_once()
            except Exception:
                log.exception("sweeping expired uploads failed; trying again next interval")

    def sweep_once(self) -> int:
        """Delete one batch of expired uploads; return how many."""
        now = utcnow()
        with self.session_factory.begin() as session:
            repo = UploadRepository(session)
            deleted = [(id_, key) for id_, key in repo.expired(now, BATCH) if repo.delete_if_expired(id_, now)]
        for asset_id, key in deleted:  # after the commit: a failed commit leaves every blob in place
            try:
                self.store.delete(key)
            except Exception:
                log.exception("could not delete the blob of an expired upload", extra={"asset_id": asset_id})
        if deleted:
            log.info("deleted expired uploads", extra={"count": len(deleted)})
        return len(deleted)
