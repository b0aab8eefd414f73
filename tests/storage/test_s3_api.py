"""The API on an S3 store (moto): assets stored in the bucket, versions listed
and restored, presigned downloads, direct uploads to S3, and S3 unreachable."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Account, LiveServer, create_account, start_server, wait_for
from tests.storage.conftest import REGION, s3_app_settings, s3_client
from tests.support.services import MotoServer
from tests.uploads import error_of, sample

AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}


@pytest.fixture(scope="module")
def module_aws_env() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in AWS_ENV}
    os.environ.update(AWS_ENV)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, moto_server: MotoServer, module_aws_env: None
) -> Iterator[LiveServer]:
    live = start_server(s3_app_settings(tmp_path_factory.mktemp("s3api"), models_dir, moto_server.url))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30, headers=server.auth_headers) as client:
        yield client


@pytest.fixture(scope="module")
def other(server: LiveServer) -> Account:
    return create_account(server.services, "someone-else")


@pytest.fixture(scope="module")
def admin(server: LiveServer) -> Account:
    return create_account(server.services, "an-admin", admin=True)


def make_output(http: httpx.Client, seed: int) -> dict[str, Any]:
    body = {"task": "text-to-image", "model": "tiny-sd", "params": {"prompt": "a cat", "steps": 1, "seed": seed}}
    response = http.post("/api/v1/jobs", json=body)
    assert response.status_code == 202, response.text
    job = wait_for(http, response.json()["id"])
    assert job["status"] == "succeeded", job
    return dict(job["outputs"][0])


def storage_key(server: LiveServer, asset_id: str) -> str:
    with server.services.session_factory() as session:
        return server.services.assets.get(session, asset_id).storage_key


def test_start_up_configured_the_bucket(server: LiveServer, moto_server: MotoServer) -> None:
    client = s3_client(moto_server.url)
    bucket = server.services.settings.s3_bucket
    assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    ids = {r["ID"] for r in client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert ids == {"aptmagic-temporary-uploads", "aptmagic-noncurrent-versions"}


def test_outputs_are_stored_in_the_bucket_and_served(
    http: httpx.Client, server: LiveServer, moto_server: MotoServer
) -> None:
    out = make_output(http, 1)
    key = storage_key(server, out["asset_id"])
    stored = s3_client(moto_server.url).get_object(Bucket=server.services.settings.s3_bucket, Key="apt/" + key)
    response = http.get(out["url"])
    assert response.status_code == 200
    assert response.content == stored["Body"].read()
    assert response.headers["etag"] == f'"{hashlib.sha256(response.content).hexdigest()}"'
    assert response.headers["cache-control"] == "private, no-cache"  # a version may be restored: revalidate
    assert http.get(out["url"], headers={"If-None-Match": response.headers["etag"]}).status_code == 304
    assert http.get("/readyz").json()["checks"]["storage"] == "ok"


def test_versions_list_and_restore_through_the_api(http: httpx.Client, server: LiveServer) -> None:
    out = make_output(http, 2)
    original = http.get(out["url"]).content
    key = storage_key(server, out["asset_id"])
    replaced = b"\x89PNG\r\n\x1a\n replaced bytes"
    server.services.store.put(key, replaced, "image/png")  # a second version, written behind the API's back

    listed = http.get(f"/api/v1/assets/{out['asset_id']}/versions")
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [v["is_latest"] for v in items] == [True, False]
    assert [v["size"] for v in items] == [len(replaced), len(original)]

    restored = http.post(f"/api/v1/assets/{out['asset_id']}/versions/{items[1]['version_id']}/restore")

    assert restored.status_code == 200, restored.text
    body = restored.json()
    assert body["restored_from"] == items[1]["version_id"]
    assert body["sha256"] == hashlib.sha256(original).hexdigest() and body["size"] == len(original)
    assert http.get(out["url"]).content == original
    after = http.get(f"/api/v1/assets/{out['asset_id']}/versions").json()["items"]
    assert len(after) == 3 and after[0]["version_id"] == body["version"]["version_id"]

    # Restoring the other version moves the row (size, SHA-256 and so the ETag) with the bytes.
    again = http.post(f"/api/v1/assets/{out['asset_id']}/versions/{items[0]['version_id']}/restore").json()
    assert again["sha256"] == hashlib.sha256(replaced).hexdigest()
    fetched = http.get(out["url"])
    assert fetched.content == replaced and fetched.headers["etag"] == f'"{again["sha256"]}"'
    assert int(fetched.headers["content-length"]) == len(replaced)


def test_a_deleted_file_comes_back_by_restore(http: httpx.Client, server: LiveServer) -> None:
    out = make_output(http, 3)
    key = storage_key(server, out["asset_id"])
    server.services.store.delete(key)
    assert http.get(out["url"]).status_code == 404
    items = http.get(f"/api/v1/assets/{out['asset_id']}/versions").json()["items"]
    assert items[0]["is_delete_marker"] is True
    marker = http.post(f"/api/v1/assets/{out['asset_id']}/versions/{items[0]['version_id']}/restore")
    assert marker.status_code == 409 and error_of(marker)["code"] == "conflict"
    assert http.post(f"/api/v1/assets/{out['asset_id']}/versions/{items[1]['version_id']}/restore").status_code == 200
    assert http.get(out["url"]).status_code == 200


@pytest.mark.parametrize("version_id", ["nope", "null", "%00", "..%2F..", "a" * 1024, "' OR 1=1 --"])
def test_unknown_or_hostile_version_ids_are_not_found(http: httpx.Client, version_id: str) -> None:
    out = make_output(http, 4)
    response = http.post(f"/api/v1/assets/{out['asset_id']}/versions/{version_id}/restore")
    assert response.status_code == 404, response.text
    assert error_of(response)["code"] == "not_found"


def test_too_long_version_id_is_refused(http: httpx.Client) -> None:
    out = make_output(http, 4)
    response = http.post(f"/api/v1/assets/{out['asset_id']}/versions/{'a' * 1025}/restore")
    assert response.status_code == 422 and error_of(response)["code"] == "validation_error"


def test_versions_are_the_owners(http: httpx.Client, server: LiveServer, other: Account, admin: Account) -> None:
    out = make_output(http, 5)
    version = http.get(f"/api/v1/assets/{out['asset_id']}/versions").json()["items"][0]["version_id"]
    path = f"/api/v1/assets/{out['asset_id']}/versions"
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        assert anonymous.get(path).status_code == 401
        assert anonymous.post(f"{path}/{version}/restore").status_code == 401
        assert anonymous.get(f"/api/v1/assets/{out['asset_id']}/url").status_code == 401
        stranger = anonymous.get(path, headers=other.headers)
        assert stranger.status_code == 404 and out["asset_id"] in error_of(stranger)["message"]
        assert anonymous.post(f"{path}/{version}/restore", headers=other.headers).status_code == 404
        assert anonymous.get(f"/api/v1/assets/{out['asset_id']}/url", headers=other.headers).status_code == 404
        assert anonymous.get(path, headers=admin.headers).status_code == 200
        refused = anonymous.post(f"{path}/{version}/restore", headers=admin.headers)
        assert refused.status_code == 403 and "owner" in error_of(refused)["message"]


def test_presigned_download_url(http: httpx.Client) -> None:
    out = make_output(http, 6)
    body = http.get(f"/api/v1/assets/{out['asset_id']}/url").json()
    assert body["presigned"] is True and body["expires_at"]
    assert "X-Amz-Expires=300" in body["url"]
    fetched = httpx.get(body["url"])  # no API credential: the URL is one
    assert fetched.status_code == 200 and fetched.content == http.get(out["url"]).content
    download = http.get(f"/api/v1/assets/{out['asset_id']}/url", params={"download": "true"}).json()
    assert httpx.get(download["url"]).headers["content-disposition"] == f'attachment; filename="{out["asset_id"]}.png"'


def test_direct_upload_to_s3_then_complete(http: httpx.Client, server: LiveServer) -> None:
    data = sample("png")
    grant = http.post("/api/v1/uploads/presign", json={"content_type": "image/png", "size": len(data)}).json()
    assert grant["url"].startswith(server.services.settings.s3_endpoint_url)
    assert grant["complete_url"].endswith("/complete")
    early = httpx.post(server.url + grant["complete_url"])
    assert early.status_code == 409 and error_of(early)["code"] == "upload_missing"

    assert httpx.put(grant["url"], content=data, headers=grant["headers"]).status_code == 200
    done = httpx.post(server.url + grant["complete_url"])  # the token is the credential

    assert done.status_code == 201, done.text
    asset = done.json()
    assert asset["id"] == grant["upload_id"] and asset["media_kind"] == "image"
    assert http.get(asset["url"]).status_code == 200
    assert not server.services.store.exists(f"tmp/uploads/{grant['upload_id']}")  # staging object removed
    again = httpx.post(server.url + grant["complete_url"])
    assert again.status_code == 409 and error_of(again)["code"] == "upload_url_used"


def test_direct_upload_is_checked_when_completed(http: httpx.Client, server: LiveServer) -> None:
    data = sample("png")
    big = http.post("/api/v1/uploads/presign", json={"content_type": "image/png", "size": 100}).json()
    httpx.put(big["url"], content=data, headers=big["headers"])  # more than the 100 bytes granted
    refused = httpx.post(server.url + big["complete_url"])
    assert refused.status_code == 413, refused.text
    assert not server.services.store.exists(f"tmp/uploads/{big['upload_id']}")

    fake = http.post("/api/v1/uploads/presign", json={"content_type": "image/png", "size": 1000}).json()
    httpx.put(fake["url"], content=b"MZ not a png at all" * 10, headers=fake["headers"])
    bad = httpx.post(server.url + fake["complete_url"])
    assert bad.status_code == 415, bad.text


def test_direct_upload_complete_with_a_bad_token(server: LiveServer) -> None:
    for token in ("garbage", "a.b.c", "x" * 2000):
        response = httpx.post(f"{server.url}/api/v1/uploads/presigned/{token}/complete")
        assert response.status_code == 403, response.text
        assert error_of(response)["code"] == "upload_url_invalid"


def test_local_store_answers_no_versions(live: LiveServer, client: httpx.Client) -> None:
    out = make_output(client, 7)
    for response in (
        client.get(f"/api/v1/assets/{out['asset_id']}/versions"),
        client.post(f"/api/v1/assets/{out['asset_id']}/versions/some-version/restore"),
    ):
        assert response.status_code == 409, response.text
        error = error_of(response)
        assert error["code"] == "versions_unsupported" and "keeps no versions" in error["message"]
    url = client.get(f"/api/v1/assets/{out['asset_id']}/url").json()
    assert url == {"url": out["url"], "presigned": False, "expires_at": None}
    assert "immutable" in client.get(out["url"]).headers["cache-control"]
    presign = client.post("/api/v1/uploads/presign", json={"content_type": "image/png", "size": 10}).json()
    assert presign["url"].startswith("/api/v1/uploads/presigned/") and presign["complete_url"] is None


def test_redirect_downloads_and_short_expiry(
    tmp_path: Path, models_dir: Path, moto_server: MotoServer, module_aws_env: None
) -> None:
    settings = s3_app_settings(
        tmp_path, models_dir, moto_server.url, s3_redirect_downloads=True, s3_presign_ttl_seconds=1
    )
    live = start_server(settings)
    try:
        with httpx.Client(base_url=live.url, timeout=30, headers=live.auth_headers) as client:
            out = make_output(client, 8)
            response = client.get(out["url"])
            assert response.status_code == 307
            location = response.headers["location"]
            assert "X-Amz-Expires=1&" in location or location.endswith("X-Amz-Expires=1")
            assert httpx.get(location).status_code == 200
    finally:
        live.stop()


def test_s3_unreachable_is_503_with_retry_after(tmp_path: Path, models_dir: Path, module_aws_env: None) -> None:
    s3 = MotoServer()
    s3.start()
    try:
        settings = s3_app_settings(
            tmp_path, models_dir, s3.url, s3_connect_timeout_seconds=0.5, s3_read_timeout_seconds=1.0, s3_max_attempts=1
        )
        live = start_server(settings)
        with httpx.Client(base_url=live.url, timeout=30, headers=live.auth_headers) as client:
            out = make_output(client, 9)
            s3.stop()
            started = time.monotonic()
            for response in (
                client.get(out["url"]),
                client.get(f"/api/v1/assets/{out['asset_id']}/versions"),
                client.post("/api/v1/uploads", files={"file": ("a.png", sample("png"), "image/png")}),
            ):
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "5"
                assert error_of(response)["code"] == "storage_unavailable"
            assert time.monotonic() - started < 15
            assert client.get("/readyz").status_code == 503
        live.stop()
    finally:
        s3.stop()


def test_racing_completes_keep_one_upload(http: httpx.Client, server: LiveServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = sample("png")
    grant = http.post("/api/v1/uploads/presign", json={"content_type": "image/png", "size": len(data)}).json()
    assert httpx.put(grant["url"], content=data, headers=grant["headers"]).status_code == 200
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: httpx.post(server.url + grant["complete_url"], timeout=60), range(4)))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1 and set(codes) <= {201, 409}, [a.text for a in answers]
    assert {error_of(a)["code"] for a in answers if a.status_code == 409} <= {"upload_url_used", "upload_missing"}
