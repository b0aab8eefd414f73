"""Prompt search on the job list, and deleting a job with its output files."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer, create_account, wait_for
from tests.jobs.conftest import (
    JOBS,
    assert_error,
    assert_validation_error,
    fresh_seed,
    job_body,
)


def post_job(client: httpx.Client, prompt: str, **params: object) -> dict[str, object]:
    body = job_body(prompt=prompt, width=64, height=64, steps=1, seed=fresh_seed(), **params)
    response = client.post(JOBS, json=body)
    assert response.status_code == 202, response.text
    return response.json()


def prompts(client: httpx.Client, **query: str) -> list[str]:
    response = client.get(JOBS, params={"limit": "100", **query})
    assert response.status_code == 200, response.text
    return [item["params"]["prompt"] for item in response.json()["items"]]


# ---- search ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def searchable(idle_client: httpx.Client) -> httpx.Client:
    for prompt in ("A Red Fox at dusk", "a blue whale", "100% pure_red", "back\\slash fox"):
        post_job(idle_client, prompt)
    return idle_client


def test_q_finds_prompts_containing_the_text_in_any_case(searchable: httpx.Client) -> None:
    assert sorted(prompts(searchable, q="FOX")) == ["A Red Fox at dusk", "back\\slash fox"]
    assert prompts(searchable, q="whale") == ["a blue whale"]
    assert prompts(searchable, q="nothing like this") == []


def test_q_treats_like_wildcards_as_plain_text(searchable: httpx.Client) -> None:
    assert prompts(searchable, q="100%") == ["100% pure_red"]
    assert prompts(searchable, q="e_r") == ["100% pure_red"]  # "_" is not "any one character"
    assert prompts(searchable, q="%") == ["100% pure_red"]
    assert prompts(searchable, q="\\") == ["back\\slash fox"]


def test_q_blank_means_no_filter_and_combines_with_task(searchable: httpx.Client) -> None:
    everything = prompts(searchable)
    assert prompts(searchable, q="   ") == everything
    assert prompts(searchable, q="fox", task="caption") == []


def test_q_too_long_is_422(searchable: httpx.Client) -> None:
    assert_validation_error(searchable.get(JOBS, params={"q": "x" * 201}), ["query", "q"])


def test_q_only_searches_your_own_jobs(idle_live: LiveServer, searchable: httpx.Client) -> None:
    other = create_account(idle_live.services, "searcher")
    with httpx.Client(base_url=idle_live.url, headers=other.headers, timeout=30) as client:
        assert prompts(client, q="fox") == []


# ---- delete ------------------------------------------------------------------------


def blob_path(live: LiveServer, asset_id: str) -> Path:
    with live.services.session_factory() as session:
        from aptmagic.assets.models import Asset

        asset = session.get(Asset, asset_id)
        assert asset is not None
        return live.services.settings.resolved_storage_dir / asset.storage_key


def test_delete_removes_the_job_its_assets_and_their_files(live: LiveServer, client: httpx.Client) -> None:
    job = wait_for(client, str(post_job(client, "to delete", num_images=2)["id"]))
    assert job["status"] == "succeeded"
    files = [blob_path(live, out["asset_id"]) for out in job["outputs"]]
    assert all(f.exists() for f in files)

    response = client.delete(f"{JOBS}/{job['id']}")
    assert response.status_code == 204, response.text
    assert_error(client.get(f"{JOBS}/{job['id']}"), 404, "not_found")
    for out in job["outputs"]:
        assert_error(client.get(out["url"]), 404, "not_found")
    assert not any(f.exists() for f in files)
    assert_error(client.delete(f"{JOBS}/{job['id']}"), 404, "not_found")


def test_delete_keeps_files_a_cache_hit_shares(live: LiveServer, client: httpx.Client) -> None:
    body = job_body(prompt="shared", width=64, height=64, steps=1, seed=fresh_seed())
    first = wait_for(client, client.post(JOBS, json=body).json()["id"])
    second = client.post(JOBS, json=body).json()
    assert second["cache_hit"] is True
    assert client.delete(f"{JOBS}/{first['id']}").status_code == 204
    url = second["outputs"][0]["url"]
    assert client.get(url).status_code == 200, "the cache hit still shows its image"
    assert client.delete(f"{JOBS}/{second['id']}").status_code == 204
    assert client.get(url).status_code == 404
    assert not asset_exists(live, second["outputs"][0]["asset_id"])


def asset_exists(live: LiveServer, asset_id: str) -> bool:
    from aptmagic.assets.models import Asset

    with live.services.session_factory() as session:
        return session.get(Asset, asset_id) is not None


def test_delete_of_a_queued_job_is_409_until_canceled(idle_client: httpx.Client) -> None:
    job = post_job(idle_client, "still waiting")
    error = assert_error(idle_client.delete(f"{JOBS}/{job['id']}"), 409, "conflict")
    assert "cancel" in error["message"]
    assert idle_client.get(f"{JOBS}/{job['id']}").status_code == 200
    assert idle_client.post(f"{JOBS}/{job['id']}/cancel").status_code == 202
    assert idle_client.delete(f"{JOBS}/{job['id']}").status_code == 204


def test_delete_of_another_users_job_is_404_and_keeps_it(idle_live: LiveServer, idle_client: httpx.Client) -> None:
    job = post_job(idle_client, "mine")
    idle_client.post(f"{JOBS}/{job['id']}/cancel")
    other = create_account(idle_live.services, "deleter")
    with httpx.Client(base_url=idle_live.url, headers=other.headers, timeout=30) as client:
        assert_error(client.delete(f"{JOBS}/{job['id']}"), 404, "not_found")
    assert idle_client.get(f"{JOBS}/{job['id']}").status_code == 200


@pytest.mark.parametrize("job_id", ["nope", "x" * 500, "%2e%2e"])
def test_delete_of_unknown_ids_is_404(idle_client: httpx.Client, job_id: str) -> None:
    assert_error(idle_client.delete(f"{JOBS}/{job_id}"), 404, "not_found")


def test_delete_needs_credentials_and_the_generate_scope(idle_live: LiveServer) -> None:
    with httpx.Client(base_url=idle_live.url, timeout=30) as anonymous:
        assert_error(anonymous.delete(f"{JOBS}/whatever"), 401, "unauthorized")
    reader = create_account(idle_live.services, "reader", scopes=("read",))
    with httpx.Client(base_url=idle_live.url, headers=reader.headers, timeout=30) as client:
        assert_error(client.delete(f"{JOBS}/whatever"), 403, "forbidden")


def test_delete_of_a_job_whose_image_is_a_post_is_409_until_the_post_goes(
    live: LiveServer, client: httpx.Client
) -> None:
    job = wait_for(client, str(post_job(client, "shared as a post")["id"]))
    post = client.post("/api/v1/posts", json={"asset_id": job["outputs"][0]["asset_id"], "title": "mine"})
    assert post.status_code == 201, post.text
    error = assert_error(client.delete(f"{JOBS}/{job['id']}"), 409, "conflict")
    assert "post" in error["message"]
    assert client.get(f"{JOBS}/{job['id']}").status_code == 200, "nothing was deleted"
    assert client.get(job["outputs"][0]["url"]).status_code == 200
    assert client.delete(f"/api/v1/posts/{post.json()['id']}").status_code == 204
    assert client.delete(f"{JOBS}/{job['id']}").status_code == 204
