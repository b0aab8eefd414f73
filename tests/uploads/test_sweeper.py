"""Temporary uploads expire and are swept; uploads a job uses are kept."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest

from aptmagic.assets.models import Asset
from aptmagic.config import Settings
from aptmagic.db.base import utcnow
from tests.conftest import LiveServer, start_server
from tests.uploads import post_file, sample, wav_bytes


def upload(client: httpx.Client, data: bytes, content_type: str = "image/png") -> str:
    response = post_file(client, data, "x", content_type)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def image_to_image(client: httpx.Client, source: str) -> httpx.Response:
    return client.post(
        "/api/v1/jobs",
        json={"task": "image-to-image", "model": "tiny-sd", "params": {"source": source, "steps": 2, "strength": 0.5}},
    )


def row(live: LiveServer, asset_id: str) -> Asset | None:
    with live.services.session_factory() as session:
        return session.get(Asset, asset_id)


@pytest.fixture
def sweeping(make_settings: Callable[..., Settings]) -> Iterator[LiveServer]:
    # worker_concurrency=0: jobs are accepted and stay queued, no model runs
    server = start_server(
        make_settings(upload_ttl_seconds=1.0, upload_sweep_interval_seconds=0.1, worker_concurrency=0)
    )
    yield server
    server.stop()


def test_the_sweeper_deletes_expired_uploads_and_keeps_those_a_job_uses(sweeping: LiveServer) -> None:
    with httpx.Client(base_url=sweeping.url, timeout=30, headers=sweeping.auth_headers) as client:
        temporary = upload(client, sample("png"))
        used = upload(client, sample("jpeg"), "image/jpeg")
        assert image_to_image(client, used).status_code == 202
        temporary_key, used_key = row(sweeping, temporary).storage_key, row(sweeping, used).storage_key
        assert row(sweeping, used).expires_at is None

        deadline = time.monotonic() + 10
        while row(sweeping, temporary) is not None:
            assert time.monotonic() < deadline, "the expired upload was not swept"
            time.sleep(0.05)

        assert not sweeping.services.store.exists(temporary_key)
        assert client.get(f"/api/v1/assets/{temporary}").status_code == 404
        sweeping.services.sweeper.sweep_once()
        assert row(sweeping, used) is not None
        assert sweeping.services.store.exists(used_key)
        assert client.get(f"/api/v1/assets/{used}").status_code == 200


def test_sweep_once_only_touches_expired_uploads(live: LiveServer, client: httpx.Client) -> None:
    expired, fresh = upload(client, sample("png")), upload(client, sample("png"))
    missing_blob = upload(client, sample("webp"), "image/webp")
    with live.services.session_factory.begin() as session:
        for asset_id in (expired, missing_blob):
            session.get(Asset, asset_id).expires_at = utcnow() - timedelta(seconds=1)
        live.services.store.delete(session.get(Asset, missing_blob).storage_key)

    assert live.services.sweeper.sweep_once() == 2

    assert row(live, expired) is None and row(live, missing_blob) is None
    assert row(live, fresh) is not None
    assert live.services.sweeper.sweep_once() == 0


def test_a_job_naming_an_unknown_upload_is_404(client: httpx.Client) -> None:
    response = image_to_image(client, "0" * 32)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_job_naming_an_upload_of_the_wrong_kind_is_422(client: httpx.Client) -> None:
    audio = upload(client, wav_bytes(), "audio/wav")

    response = image_to_image(client, audio)

    assert response.status_code == 422
    assert "expected image" in response.json()["error"]["message"]
