"""The jobs HTTP API on a live server: submit, read, outputs, cancel, result cache, listing, OpenAPI."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from PIL import Image

from aptmagic.config import Settings
from aptmagic.inference.spec import ModelSpec
from tests.conftest import LiveServer, start_server, wait_for
from tests.jobs.conftest import (
    JOBS,
    SSEEvent,
    assert_error,
    assert_validation_error,
    collect_events,
    fresh_seed,
    job_body,
)


def submit_body(client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return client.post(JOBS, json=body)


def submit(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = submit_body(client, job_body(**params))
    assert response.status_code == 202, response.text
    return response.json()


def when(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert value.tzinfo is not None, text
    return value


def png(client: httpx.Client, url: str) -> tuple[Image.Image, bytes]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    image.load()
    assert image.format == "PNG"
    return image, response.content


# Submit and read.


def test_submit_answers_202_with_location_and_the_job(shared_client: httpx.Client) -> None:
    seed = fresh_seed()
    response = submit_body(shared_client, job_body(width=64, height=64, steps=2, seed=seed))
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/api/v1/jobs/{job['id']}"
    assert job["status"] in ("queued", "running", "succeeded")
    assert job["task"] == "text-to-image"
    assert job["model"] == "tiny-sd"
    assert job["model_version"]
    assert job["seed"] == seed
    assert job["params"]["seed"] == seed
    assert job["cache_hit"] is False and job["cached_from"] is None
    assert job["links"] == {
        "self": f"/api/v1/jobs/{job['id']}",
        "events": f"/api/v1/jobs/{job['id']}/events",
        "cancel": f"/api/v1/jobs/{job['id']}/cancel",
    }
    assert shared_client.get(response.headers["location"]).json()["id"] == job["id"]
    wait_for(shared_client, job["id"])


def test_submit_fills_the_model_defaults(idle_client: httpx.Client) -> None:
    job = submit(idle_client, prompt="  a cat  ")
    assert job["status"] == "queued"
    params = job["params"]
    assert params["prompt"] == "a cat"
    assert params["negative_prompt"] == ""
    assert (params["width"], params["height"], params["steps"], params["guidance"]) == (64, 64, 4, 5.0)
    assert params["num_images"] == 1
    assert job["progress"] == {"step": 0, "total": 4, "fraction": 0.0}
    assert job["attempts"] == 0 and job["max_attempts"] == 3
    assert job["cancel_requested"] is False
    assert job["outputs"] == [] and job["result"] is None and job["error"] is None
    timings = job["timings"]
    when(timings["created_at"])
    assert timings["started_at"] is None and timings["finished_at"] is None
    assert timings["queue_wait_ms"] is None and timings["run_ms"] is None and timings["inference_ms"] is None


def test_succeeded_job_shows_progress_timings_attempts_and_outputs(shared_client: httpx.Client) -> None:
    job = submit(shared_client, width=64, height=64, steps=3, seed=fresh_seed())
    done = wait_for(shared_client, job["id"])
    assert done["status"] == "succeeded", done
    assert done["progress"] == {"step": 3, "total": 3, "fraction": 1.0}
    assert done["attempts"] == 1
    assert done["error"] is None
    assert done["cache_hit"] is False and done["cached_from"] is None
    timings = done["timings"]
    created, started, finished = (when(timings[k]) for k in ("created_at", "started_at", "finished_at"))
    assert created <= started <= finished
    assert timings["queue_wait_ms"] >= 0 and timings["run_ms"] >= 0
    assert 0 < timings["inference_ms"] <= timings["run_ms"] + 1
    (output,) = done["outputs"]
    assert output["url"] == f"/api/v1/assets/{output['asset_id']}"
    assert output["content_type"] == "image/png"
    assert (output["width"], output["height"]) == (64, 64)
    image, content = png(shared_client, output["url"])
    assert image.size == (64, 64)
    assert output["size_bytes"] == len(content)


def test_png_has_the_requested_size_and_the_params_embedded(shared_client: httpx.Client) -> None:
    seed = fresh_seed()
    job = submit(
        shared_client,
        prompt="a red fox",
        negative_prompt="blurry",
        width=64,
        height=96,
        steps=2,
        guidance=6.5,
        seed=seed,
    )
    done = wait_for(shared_client, job["id"])
    assert done["status"] == "succeeded", done
    (output,) = done["outputs"]
    assert (output["width"], output["height"]) == (64, 96)
    image, _ = png(shared_client, output["url"])
    assert image.size == (64, 96)
    assert image.mode in ("RGB", "RGBA")

    parameters = image.text["parameters"]
    assert parameters.splitlines()[0] == "a red fox"
    assert "Negative prompt: blurry" in parameters
    for piece in ("Steps: 2", "CFG scale: 6.5", f"Seed: {seed}", "Size: 64x96", "Model: tiny-sd"):
        assert piece in parameters, parameters

    meta = json.loads(image.text["aptmagic"])
    assert meta["job_id"] == job["id"]
    assert meta["task"] == "text-to-image"
    assert meta["model"] == "tiny-sd"
    assert meta["version"] == done["model_version"]
    assert meta["params"] == done["params"]
    assert meta["index"] == 0


def test_num_images_3_gives_three_outputs(shared_client: httpx.Client) -> None:
    job = submit(shared_client, width=64, height=64, steps=1, num_images=3, seed=fresh_seed())
    done = wait_for(shared_client, job["id"])
    assert done["status"] == "succeeded", done
    outputs = done["outputs"]
    assert len(outputs) == 3
    assert len({out["asset_id"] for out in outputs}) == 3
    indexes = []
    for out in outputs:
        image, _ = png(shared_client, out["url"])
        assert image.size == (64, 64)
        indexes.append(json.loads(image.text["aptmagic"])["index"])
    assert indexes == [0, 1, 2]


def test_different_seeds_give_different_images(shared_client: httpx.Client) -> None:
    seed = fresh_seed()
    first = wait_for(shared_client, submit(shared_client, prompt="a dog", steps=1, seed=seed)["id"])
    second = wait_for(shared_client, submit(shared_client, prompt="a dog", steps=1, seed=seed + 1)["id"])
    a, _ = png(shared_client, first["outputs"][0]["url"])
    b, _ = png(shared_client, second["outputs"][0]["url"])
    assert a.tobytes() != b.tobytes(), "different seeds made the same image"


# Cancel.


@pytest.fixture
def idle_server(make_settings: Callable[..., Settings]) -> Iterator[LiveServer]:
    server = start_server(make_settings(worker_concurrency=0))
    yield server
    server.stop()


def test_cancel_queued_job_is_immediate(idle_server: LiveServer) -> None:
    with httpx.Client(base_url=idle_server.url, timeout=30, headers=idle_server.auth_headers) as client:
        job = submit(client, steps=2)
        assert job["status"] == "queued"
        response = client.post(f"{JOBS}/{job['id']}/cancel")
        assert response.status_code == 202, response.text
        canceled = response.json()
        assert canceled["status"] == "canceled"
        assert canceled["cancel_requested"] is True
        assert canceled["outputs"] == []
        assert canceled["timings"]["finished_at"] is not None
        assert canceled["timings"]["started_at"] is None
        assert client.get(f"{JOBS}/{job['id']}").json()["status"] == "canceled"
        error = assert_error(client.post(f"{JOBS}/{job['id']}/cancel"), 409, "conflict")
        assert "canceled" in error["message"]


def test_cancel_running_job_stops_it_between_steps(shared_client: httpx.Client) -> None:
    job = submit(shared_client, width=64, height=64, steps=100, seed=fresh_seed())
    cancel_answers: list[httpx.Response] = []
    running: list[dict[str, Any]] = []

    def on_event(event: SSEEvent) -> None:
        if event.event == "progress" and not cancel_answers:
            running.append(shared_client.get(f"{JOBS}/{job['id']}").json())
            cancel_answers.append(shared_client.post(f"{JOBS}/{job['id']}/cancel"))

    events = collect_events(shared_client, job["id"], timeout=60, on_event=on_event)
    assert cancel_answers, f"no progress event came: {events}"
    (seen,) = running
    assert seen["status"] == "running", seen
    assert seen["attempts"] == 1 and seen["cancel_requested"] is False
    assert seen["progress"]["total"] == 100 and 0 <= seen["progress"]["step"] < 100
    assert 0 <= seen["progress"]["fraction"] < 1
    assert seen["timings"]["started_at"] is not None and seen["timings"]["finished_at"] is None
    assert seen["outputs"] == []
    answer = cancel_answers[0]
    assert answer.status_code == 202, answer.text
    assert answer.json()["cancel_requested"] is True
    assert answer.json()["status"] in ("running", "canceled")

    final = events[-1]
    assert final.event == "job"
    assert final.data["status"] == "canceled"
    steps = [e.data["step"] for e in events if e.event == "progress"]
    assert max(steps) < 100, "the job ran to its end"

    done = shared_client.get(f"{JOBS}/{job['id']}").json()
    assert done["status"] == "canceled"
    assert done["outputs"] == []
    assert done["cancel_requested"] is True
    assert done["attempts"] == 1
    assert done["progress"]["step"] < 100
    assert done["timings"]["finished_at"] is not None
    assert_error(shared_client.post(f"{JOBS}/{job['id']}/cancel"), 409, "conflict")


def test_cancel_finished_job_is_409(shared_client: httpx.Client) -> None:
    job = submit(shared_client, steps=1, seed=fresh_seed())
    done = wait_for(shared_client, job["id"])
    assert done["status"] == "succeeded"
    error = assert_error(shared_client.post(f"{JOBS}/{job['id']}/cancel"), 409, "conflict")
    assert "succeeded" in error["message"]
    after = shared_client.get(f"{JOBS}/{job['id']}").json()
    assert after["status"] == "succeeded" and after["cancel_requested"] is False
    assert after["outputs"] == done["outputs"]


def test_cancel_unknown_job_is_404(shared_client: httpx.Client) -> None:
    assert_error(shared_client.post(f"{JOBS}/{'f' * 32}/cancel"), 404, "not_found")


def test_canceled_job_is_not_run_later(idle_server: LiveServer) -> None:
    """A job canceled while queued is skipped by the worker that later takes its id."""
    with httpx.Client(base_url=idle_server.url, timeout=30, headers=idle_server.auth_headers) as client:
        job = submit(client, steps=1)
        client.post(f"{JOBS}/{job['id']}/cancel").raise_for_status()
    idle_server.services.runner.run(job["id"])  # what a worker does with the id
    with httpx.Client(base_url=idle_server.url, timeout=30, headers=idle_server.auth_headers) as client:
        after = client.get(f"{JOBS}/{job['id']}").json()
    assert after["status"] == "canceled" and after["attempts"] == 0 and after["outputs"] == []


# Result cache.


def test_same_request_twice_is_a_cache_hit(shared_client: httpx.Client) -> None:
    seed = fresh_seed()
    first = wait_for(shared_client, submit(shared_client, steps=2, seed=seed)["id"])
    assert first["status"] == "succeeded"

    response = submit_body(shared_client, job_body(steps=2, seed=seed))
    assert response.status_code == 202
    second = response.json()
    assert second["id"] != first["id"]
    assert response.headers["location"] == f"/api/v1/jobs/{second['id']}"
    assert second["status"] == "succeeded"
    assert second["cache_hit"] is True
    assert second["cached_from"] == first["id"]
    assert [o["asset_id"] for o in second["outputs"]] == [o["asset_id"] for o in first["outputs"]]
    assert second["progress"]["fraction"] == 1.0
    assert second["params"] == first["params"]
    assert second["timings"]["finished_at"] is not None

    reread = shared_client.get(f"{JOBS}/{second['id']}").json()
    assert reread["cache_hit"] is True and reread["cached_from"] == first["id"]
    assert reread["outputs"] == second["outputs"]
    png(shared_client, reread["outputs"][0]["url"])

    # Its events stream is the one final job event.
    events = collect_events(shared_client, second["id"], timeout=10)
    assert [e.event for e in events] == ["job"]
    assert events[0].data["cache_hit"] is True


def test_cache_hit_normalises_defaults_and_whitespace(shared_client: httpx.Client) -> None:
    seed = fresh_seed()
    first = wait_for(shared_client, submit(shared_client, prompt="a cat", steps=1, seed=seed)["id"])
    assert first["status"] == "succeeded"
    same = submit(
        shared_client,
        prompt="  a cat ",
        negative_prompt="",
        width=64,
        height=64,
        steps=1,
        guidance=5.0,
        num_images=1,
        seed=seed,
    )
    assert same["cache_hit"] is True and same["cached_from"] == first["id"]


def test_unseeded_requests_get_a_recorded_random_seed_and_no_cache_hit(shared_client: httpx.Client) -> None:
    first = submit(shared_client, steps=1)
    assert isinstance(first["seed"], int) and 0 <= first["seed"] < 2**32
    assert first["params"]["seed"] == first["seed"]
    first = wait_for(shared_client, first["id"])
    assert first["status"] == "succeeded"

    second = submit(shared_client, steps=1)
    assert second["cache_hit"] is False and second["cached_from"] is None
    assert second["params"]["seed"] == second["seed"]
    assert second["seed"] != first["seed"]
    assert wait_for(shared_client, second["id"])["status"] == "succeeded"

    # The recorded seed reproduces the job: asking for it again is a cache hit.
    again = submit(shared_client, steps=1, seed=first["seed"])
    assert again["cache_hit"] is True and again["cached_from"] == first["id"]


def test_different_params_are_no_cache_hit(make_settings: Callable[..., Settings]) -> None:
    copy = ModelSpec(
        id="tiny-sd-copy", task="text-to-image", backend="diffusers", source="builtin:tiny-sd", version="tiny-1"
    )
    server = start_server(make_settings(models=[copy]))
    try:
        with httpx.Client(base_url=server.url, timeout=30, headers=server.auth_headers) as client:
            base = {"prompt": "a cat", "steps": 1, "seed": 7}
            first = wait_for(client, submit(client, **base)["id"])
            assert first["status"] == "succeeded"
            server.services.queue.stop(5)  # the variants are only looked up in the cache, never run
            for change in (
                {"prompt": "a dog"},
                {"negative_prompt": "blur"},
                {"steps": 2},
                {"width": 72},
                {"height": 72},
                {"guidance": 4.0},
                {"num_images": 2},
                {"seed": 8},
                {"model": "tiny-sd-copy"},
            ):
                other = submit(client, **{**base, **change})
                assert other["cache_hit"] is False and other["cached_from"] is None, change
                assert other["status"] == "queued", change
            assert submit(client, **base)["cache_hit"] is True
    finally:
        server.stop()


def test_cache_entry_whose_file_is_gone_is_recomputed(live: LiveServer, client: httpx.Client) -> None:
    first = wait_for(client, submit(client, steps=1, seed=11)["id"])
    assert first["status"] == "succeeded"
    asset_id = first["outputs"][0]["asset_id"]
    with live.services.session_factory() as session:
        key = live.services.assets.get(session, asset_id).storage_key
    live.services.store.delete(key)

    assert_error(client.get(first["outputs"][0]["url"]), 404, "not_found")
    second = submit(client, steps=1, seed=11)
    assert second["cache_hit"] is False
    done = wait_for(client, second["id"])
    assert done["status"] == "succeeded"
    assert done["outputs"][0]["asset_id"] != asset_id
    png(client, done["outputs"][0]["url"])


# Listing.


@pytest.fixture
def listing(make_settings: Callable[..., Settings]) -> Iterator[tuple[httpx.Client, list[dict[str, Any]]]]:
    """An idle server holding 7 jobs: 5 text-to-image on tiny-sd (2 of them canceled),
    1 on tiny-sd-copy, 1 text job. Yields the client and the jobs, oldest first."""
    copy = ModelSpec(
        id="tiny-sd-copy", task="text-to-image", backend="diffusers", source="builtin:tiny-sd", version="tiny-1"
    )
    server = start_server(make_settings(worker_concurrency=0, models=[copy]))
    try:
        with httpx.Client(base_url=server.url, timeout=30, headers=server.auth_headers) as client:
            jobs = [submit(client, prompt=f"cat {i}", seed=i) for i in range(5)]
            jobs.append(submit(client, model="tiny-sd-copy", seed=5))
            text = submit_body(
                client,
                {"task": "text", "model": "tiny-llm", "params": {"messages": [{"role": "user", "content": "hi"}]}},
            )
            assert text.status_code == 202, text.text
            jobs.append(text.json())
            for index in (1, 3):
                client.post(f"{JOBS}/{jobs[index]['id']}/cancel").raise_for_status()
            yield client, jobs
    finally:
        server.stop()


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def test_list_is_newest_first(listing: tuple[httpx.Client, list[dict[str, Any]]]) -> None:
    client, jobs = listing
    page = client.get(JOBS).json()
    assert ids(page["items"]) == ids(jobs)[::-1]
    assert page["next_cursor"] is None
    created = [when(item["timings"]["created_at"]) for item in page["items"]]
    assert created == sorted(created, reverse=True)
    # Items are whole jobs, as GET shows them.
    assert page["items"][0] == client.get(f"{JOBS}/{jobs[-1]['id']}").json()


def test_list_limit_and_cursor_walk_every_job_once(listing: tuple[httpx.Client, list[dict[str, Any]]]) -> None:
    client, jobs = listing
    for limit in (1, 2, 3, 6, 7, 100):
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            query: dict[str, Any] = {"limit": limit}
            if cursor:
                query["cursor"] = cursor
            response = client.get(JOBS, params=query)
            assert response.status_code == 200, response.text
            page = response.json()
            assert len(page["items"]) <= limit
            seen.extend(ids(page["items"]))
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert len(page["items"]) == limit
            assert pages <= len(jobs), "pagination does not end"
        assert seen == ids(jobs)[::-1], limit
        assert pages == max(1, -(-len(jobs) // limit)), (limit, pages)


def test_list_default_limit_is_20(idle_server: LiveServer) -> None:
    with httpx.Client(base_url=idle_server.url, timeout=30, headers=idle_server.auth_headers) as client:
        for i in range(21):
            submit(client, seed=i)
        page = client.get(JOBS).json()
        assert len(page["items"]) == 20 and page["next_cursor"]
        rest = client.get(JOBS, params={"cursor": page["next_cursor"]}).json()
        assert len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_list_filters(listing: tuple[httpx.Client, list[dict[str, Any]]]) -> None:
    client, jobs = listing

    def listed(**query: Any) -> list[str]:
        response = client.get(JOBS, params=query)
        assert response.status_code == 200, response.text
        return ids(response.json()["items"])

    newest_first = ids(jobs)[::-1]
    canceled = [jobs[3]["id"], jobs[1]["id"]]
    assert listed(status="canceled") == canceled
    assert listed(status="queued") == [i for i in newest_first if i not in canceled]
    assert listed(status="succeeded") == []
    assert listed(task="text") == [jobs[6]["id"]]
    assert listed(task="text-to-image") == newest_first[1:]
    assert listed(task="caption") == []
    assert listed(model="tiny-sd-copy") == [jobs[5]["id"]]
    assert listed(model="tiny-sd") == [jobs[i]["id"] for i in (4, 3, 2, 1, 0)]
    assert listed(model="no-such-model") == []
    assert listed(model="tiny-sd", status="queued") == [jobs[i]["id"] for i in (4, 2, 0)]
    assert listed(model="tiny-sd", status="queued", limit=2) == [jobs[4]["id"], jobs[2]["id"]]

    # The cursor of a filtered page continues the filtered list.
    first = client.get(JOBS, params={"model": "tiny-sd", "limit": 2}).json()
    rest = client.get(JOBS, params={"model": "tiny-sd", "limit": 2, "cursor": first["next_cursor"]}).json()
    assert ids(first["items"]) + ids(rest["items"]) == [jobs[i]["id"] for i in (4, 3, 2, 1)]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "!!!!",
        "a",
        "é",
        "%00",
        _b64(b"no separator"),
        _b64(b"yesterday|abc"),
        _b64(b"2024-01-01T00:00:00|abc"),  # no zone
        _b64(b"\xff\xfe\xfd|abc"),
        _b64(b"0001-01-01T00:00:00+05:00|abc"),  # before year 1 in UTC
        _b64(b"9999-12-31T23:59:59-05:00|abc"),  # after year 9999 in UTC
        _b64(b"2024-13-45T99:99:99+00:00|abc"),
    ],
)
def test_malformed_cursor_is_422(listing: tuple[httpx.Client, list[dict[str, Any]]], cursor: str) -> None:
    client, _ = listing
    error = assert_validation_error(client.get(JOBS, params={"cursor": cursor}), ["query", "cursor"])
    assert "cursor" in error["message"]


def test_cursor_in_another_time_zone_means_the_same_instant(listing: tuple[httpx.Client, list[dict[str, Any]]]) -> None:
    client, jobs = listing
    page = client.get(JOBS, params={"limit": 3}).json()
    created, job_id = base64.urlsafe_b64decode(page["next_cursor"] + "==").decode().split("|")
    shifted = datetime.fromisoformat(created).astimezone(datetime.fromisoformat("2000-01-01T00:00:00+05:30").tzinfo)
    cursor = _b64(f"{shifted.isoformat()}|{job_id}".encode())
    rest = client.get(JOBS, params={"cursor": cursor}).json()
    assert ids(rest["items"]) == ids(jobs)[::-1][3:]


@pytest.mark.parametrize("limit", [0, -1, 101, 10**12, "x", ""])
def test_list_limit_out_of_range_is_422(listing: tuple[httpx.Client, list[dict[str, Any]]], limit: Any) -> None:
    client, _ = listing
    assert_validation_error(client.get(JOBS, params={"limit": limit}), ["query", "limit"])


def test_list_bad_status_is_422(listing: tuple[httpx.Client, list[dict[str, Any]]]) -> None:
    client, _ = listing
    assert_validation_error(client.get(JOBS, params={"status": "done"}), ["query", "status"])


# OpenAPI.


def test_openapi_describes_the_jobs_api(idle_client: httpx.Client) -> None:
    response = idle_client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    paths = spec["paths"]
    for path in (
        "/api/v1/jobs",
        "/api/v1/jobs/{job_id}",
        "/api/v1/jobs/{job_id}/cancel",
        "/api/v1/jobs/{job_id}/events",
    ):
        assert path in paths, sorted(paths)
    assert "/api/v1/assets/{asset_id}" in paths
    submit_op = paths["/api/v1/jobs"]["post"]
    assert "202" in submit_op["responses"] and "422" in submit_op["responses"]
    content = submit_op["requestBody"]["content"]["application/json"]
    examples = content.get("examples") or {}
    assert examples, content
    example = next(iter(examples.values()))["value"]
    assert example["task"] == "text-to-image" and example["params"]["prompt"]
    # The example is a valid request.
    accepted = idle_client.post(JOBS, json=example)
    assert accepted.status_code == 202, accepted.text
    assert "get" in paths["/api/v1/jobs"]
    assert "404" in paths["/api/v1/jobs/{job_id}"]["get"]["responses"]
    assert "409" in paths["/api/v1/jobs/{job_id}/cancel"]["post"]["responses"]
