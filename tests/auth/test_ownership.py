"""Two users and an admin: nobody reaches another user's jobs, uploads, assets or keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.auth.conftest import account, key_client
from tests.conftest import start_server, wait_for
from tests.jobs.conftest import fresh_seed, shared_settings
from tests.uploads import post_file, sample

JOBS = "/api/v1/jobs"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, models_dir: Any) -> Iterator[dict[str, Any]]:
    """A server with a worker; alice has a finished job with an output, a queued-forever
    text job, an upload; bob and an admin look on."""
    live = start_server(shared_settings(tmp_path_factory.mktemp("owners"), models_dir))
    alice, bob, admin = (
        account(live, prefix="alice"),
        account(live, prefix="bob"),
        account(live, prefix="boss", admin=True),
    )
    clients = {name: key_client(live, who) for name, who in (("alice", alice), ("bob", bob), ("admin", admin))}
    a = clients["alice"]
    seed = fresh_seed()
    body = {
        "task": "text-to-image",
        "model": "tiny-sd",
        "params": {"prompt": "mine", "width": 64, "height": 64, "steps": 2, "seed": seed},
    }
    image_job = a.post(JOBS, json=body).json()
    image_job = wait_for(a, image_job["id"])
    assert image_job["status"] == "succeeded", image_job
    text = {
        "task": "text",
        "model": "tiny-llm",
        "params": {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "seed": seed},
    }
    text_job = wait_for(a, a.post(JOBS, json=text).json()["id"])
    upload = post_file(a, sample("png"), "cat.png", "image/png")
    assert upload.status_code == 201, upload.text
    key = a.post("/api/v1/auth/keys", json={"name": "second", "scopes": ["read"]}).json()
    yield {
        "live": live, "clients": clients, "alice": alice, "bob": bob, "admin": admin, "image_job": image_job,
        "text_job": text_job, "upload": upload.json(), "body": body, "key": key,
    }  # fmt: skip
    for client in clients.values():
        client.close()
    live.stop()


def other_user_requests(world: dict[str, Any]) -> list[tuple[str, str, Any]]:
    job, text_job, upload = world["image_job"], world["text_job"], world["upload"]
    asset = job["outputs"][0]["asset_id"]
    source_body = {"task": "image-to-image", "model": "tiny-sd", "params": {"source": upload["id"], "steps": 2}}
    output_source = {"task": "image-to-image", "model": "tiny-sd", "params": {"source": asset, "steps": 2}}
    return [
        ("GET", f"{JOBS}/{job['id']}", None),
        ("POST", f"{JOBS}/{job['id']}/cancel", None),
        ("GET", f"{JOBS}/{job['id']}/events", None),
        ("GET", f"{JOBS}/{text_job['id']}/result", None),
        ("GET", f"/api/v1/assets/{asset}", None),
        ("GET", f"/api/v1/assets/{asset}?download=true", None),
        ("GET", f"/api/v1/assets/{upload['id']}", None),
        ("POST", JOBS, source_body),
        ("POST", JOBS, output_source),
        ("DELETE", f"/api/v1/auth/keys/{world['key']['id']}", None),
    ]


def test_another_users_resources_are_404(world: dict[str, Any]) -> None:
    bob = world["clients"]["bob"]
    for method, path, body in other_user_requests(world):
        response = bob.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"


def test_the_owner_reaches_them(world: dict[str, Any]) -> None:
    alice = world["clients"]["alice"]
    job = world["image_job"]
    assert alice.get(f"{JOBS}/{job['id']}").status_code == 200
    assert alice.get(job["outputs"][0]["url"]).status_code == 200
    assert alice.get(f"/api/v1/assets/{world['upload']['id']}").status_code == 200
    assert alice.get(f"{JOBS}/{world['text_job']['id']}/result").status_code == 200
    assert alice.post(f"{JOBS}/{job['id']}/cancel").status_code == 409  # hers, but ended


def test_admins_read_everything(world: dict[str, Any]) -> None:
    admin = world["clients"]["admin"]
    job = world["image_job"]
    assert admin.get(f"{JOBS}/{job['id']}").json()["id"] == job["id"]
    assert admin.get(job["outputs"][0]["url"]).status_code == 200
    assert admin.get(f"/api/v1/assets/{world['upload']['id']}").status_code == 200
    listed = admin.get(JOBS, params={"owner": world["alice"].user_id, "limit": 100}).json()["items"]
    assert {j["id"] for j in listed} >= {job["id"], world["text_job"]["id"]}


def test_listing_shows_only_your_own_jobs(world: dict[str, Any]) -> None:
    bob = world["clients"]["bob"]
    assert bob.get(JOBS).json()["items"] == []
    mine = world["clients"]["alice"].get(JOBS, params={"limit": 100}).json()["items"]
    assert {j["id"] for j in mine} == {world["image_job"]["id"], world["text_job"]["id"]}
    # a user's owner filter is ignored: still only their own
    assert bob.get(JOBS, params={"owner": world["alice"].user_id}).json()["items"] == []


def test_the_result_cache_never_hands_out_another_users_outputs(world: dict[str, Any]) -> None:
    bob = world["clients"]["bob"]
    same = bob.post(JOBS, json=world["body"]).json()
    assert same["cache_hit"] is False and same["status"] == "queued"
    done = wait_for(bob, same["id"])
    assert done["status"] == "succeeded"
    alices = {o["asset_id"] for o in world["image_job"]["outputs"]}
    assert not alices & {o["asset_id"] for o in done["outputs"]}
    again = world["clients"]["alice"].post(JOBS, json=world["body"]).json()
    assert again["cache_hit"] is True and again["cached_from"] == world["image_job"]["id"]


def test_another_users_upload_cannot_be_a_source_but_your_own_can(world: dict[str, Any]) -> None:
    body = {"task": "image-to-image", "model": "tiny-sd", "params": {"source": world["upload"]["id"], "steps": 2}}
    assert world["clients"]["alice"].post(JOBS, json=body).status_code == 202


def test_a_presigned_upload_belongs_to_who_asked(world: dict[str, Any]) -> None:
    alice, bob = world["clients"]["alice"], world["clients"]["bob"]
    grant = alice.post("/api/v1/uploads/presign", json={"content_type": "image/png", "size": 10_000}).json()
    with httpx.Client(base_url=world["live"].url, timeout=30) as anonymous:
        put = anonymous.put(grant["url"], content=sample("png"), headers={"Content-Type": "image/png"})
    assert put.status_code == 201, put.text
    assert alice.get(put.json()["url"]).status_code == 200
    assert bob.get(put.json()["url"]).status_code == 404


def test_keys_are_listed_and_revoked_by_their_owner_only(world: dict[str, Any]) -> None:
    alice, bob = world["clients"]["alice"], world["clients"]["bob"]
    assert world["key"]["id"] not in {k["id"] for k in bob.get("/api/v1/auth/keys").json()}
    assert world["key"]["id"] in {k["id"] for k in alice.get("/api/v1/auth/keys").json()}
    assert "key" not in alice.get("/api/v1/auth/keys").json()[0]
