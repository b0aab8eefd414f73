"""The text (chat) and summarize tasks end to end over HTTP on the tiny LLM:
results, usage, seeds and the result cache, streamed tokens, cancel,
validation and text downloads."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, wait_for
from tests.jobs.conftest import JOBS, SSEEvent, assert_error, assert_validation_error, collect_events, fresh_seed

P = ["body", "params"]
ARTICLE = (
    "The lighthouse on the north cape was built in 1871 and automated in 1992. "
    "Its keeper's logbooks, kept for a century, record storms, shipwrecks and the arrival of radio. "
    "The town now runs it as a museum, open from April to October."
)


def chat_body(
    content: str = "Write a haiku about rain.", model: str | None = "tiny-llm", **params: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task": "text",
        "params": {"messages": [{"role": "user", "content": content}], "max_tokens": 16, **params},
    }
    if model is not None:
        body["model"] = model
    return body


def summary_body(**params: Any) -> dict[str, Any]:
    return {"task": "summarize", "model": "tiny-llm", "params": {"text": ARTICLE, "max_tokens": 16, **params}}


def submit(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(JOBS, json=body)
    assert response.status_code == 202, response.text
    return response.json()


def run_job(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    job = wait_for(client, submit(client, body)["id"])
    assert job["status"] == "succeeded", job
    return job


def stream_while_running(server: LiveServer, client: httpx.Client, job_id: str) -> list[SSEEvent]:
    """Open the event stream first, then run the job as a worker would, so no event is missed."""
    runner: list[threading.Thread] = []

    def on_event(event: SSEEvent) -> None:
        if not runner:
            runner.append(threading.Thread(target=server.services.runner.run, args=(job_id,), daemon=True))
            runner[0].start()

    events = collect_events(client, job_id, timeout=60, on_event=on_event)
    runner[0].join(30)
    return events


def tokens_of(events: list[SSEEvent], job_id: str) -> list[str]:
    tokens = [e.data for e in events if e.event == "token"]
    assert all(t["job_id"] == job_id and isinstance(t["text"], str) for t in tokens), tokens
    return [t["text"] for t in tokens]


# Chat.


def test_chat_job_gives_text_usage_and_a_download(shared_client: httpx.Client) -> None:
    started = time.perf_counter()
    job = run_job(shared_client, chat_body(max_tokens=32, seed=fresh_seed()))
    print(f"\ntext job, 32 tokens, through the API (first one loads tiny-llm): {time.perf_counter() - started:.3f}s")
    result = job["result"]
    assert isinstance(result["text"], str) and result["text"].strip()
    assert result["finish_reason"] == "length"
    assert result["usage"]["completion_tokens"] == 32 and result["usage"]["prompt_tokens"] > 5
    assert job["outputs"] == [] and job["model"] == "tiny-llm"
    assert job["progress"]["step"] == job["progress"]["total"] == 32

    started = time.perf_counter()
    run_job(shared_client, chat_body(max_tokens=32, seed=fresh_seed()))
    print(f"text job, 32 tokens, through the API (model warm): {time.perf_counter() - started:.3f}s")

    text = shared_client.get(f"{JOBS}/{job['id']}/result", params={"format": "txt"})
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert text.text == result["text"] + "\n"
    assert f"{job['id']}.txt" in text.headers["content-disposition"]
    as_json = shared_client.get(f"{JOBS}/{job['id']}/result", params={"format": "json"})
    assert as_json.status_code == 200 and as_json.json() == result
    assert_error(shared_client.get(f"{JOBS}/{job['id']}/result", params={"format": "srt"}), 409, "conflict")


def test_same_seed_is_a_cache_hit_and_deterministic_without_the_cache(shared_client: httpx.Client) -> None:
    seed = fresh_seed()
    first = run_job(shared_client, chat_body(seed=seed))

    again = submit(shared_client, chat_body(seed=seed))
    assert again["status"] == "succeeded" and again["cache_hit"] is True
    assert again["cached_from"] == first["id"] and again["result"] == first["result"]

    # A stop string that never appears changes the cache key, not the text.
    rerun = run_job(shared_client, chat_body(seed=seed, stop=["\u2603never\u2603"]))
    assert rerun["cache_hit"] is False
    assert rerun["result"] == first["result"]

    other = run_job(shared_client, chat_body(seed=seed + 1))
    assert other["result"]["text"] != first["result"]["text"]


def test_messages_of_every_role_are_accepted(shared_client: httpx.Client) -> None:
    messages = [
        {"role": "system", "content": "Answer in one line."},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi! How can I help?"},
        {"role": "user", "content": "Tell me a fact about lighthouses."},
    ]
    params = {"messages": messages, "max_tokens": 8, "seed": fresh_seed()}
    body = {"task": "text", "model": "tiny-llm", "params": params}
    job = run_job(shared_client, body)
    assert job["result"]["usage"]["completion_tokens"] == 8
    assert job["params"]["messages"] == messages


def test_tokens_stream_over_sse_and_add_up_to_the_text(idle_live: LiveServer, idle_client: httpx.Client) -> None:
    job = submit(idle_client, chat_body(max_tokens=24, seed=fresh_seed()))
    events = stream_while_running(idle_live, idle_client, job["id"])
    names = [e.event for e in events]
    final = events[-1]
    assert final.event == "job" and final.data["status"] == "succeeded", names
    tokens = tokens_of(events, job["id"])
    assert len(tokens) > 1, names
    assert "".join(tokens) == final.data["result"]["text"]
    assert names.index("token") < len(names) - 1, "tokens must come before the job ends"
    steps = [e.data["step"] for e in events if e.event == "progress"]
    assert steps[-1] == 24 and steps == sorted(steps)


def test_a_stop_string_cuts_the_text_and_the_stream(idle_live: LiveServer, idle_client: httpx.Client) -> None:
    seed = fresh_seed()
    plain = submit(idle_client, chat_body(max_tokens=32, seed=seed))
    idle_live.services.runner.run(plain["id"])  # what a worker does with the id
    full = idle_client.get(f"{JOBS}/{plain['id']}").json()["result"]["text"]
    stop = full[len(full) // 2 : len(full) // 2 + 2]

    job = submit(idle_client, chat_body(max_tokens=32, seed=seed, stop=[stop]))
    events = stream_while_running(idle_live, idle_client, job["id"])
    result = events[-1].data["result"]
    assert result["text"] == full[: full.index(stop)]
    assert "".join(tokens_of(events, job["id"])) == result["text"]
    assert result["finish_reason"] == "stop"
    assert result["usage"]["completion_tokens"] < 32


def test_cancel_stops_generation_between_tokens(shared_client: httpx.Client) -> None:
    job = submit(shared_client, chat_body(max_tokens=512, seed=fresh_seed()))
    answers: list[httpx.Response] = []

    def on_event(event: SSEEvent) -> None:
        if event.event == "token" and not answers:
            answers.append(shared_client.post(f"{JOBS}/{job['id']}/cancel"))

    events = collect_events(shared_client, job["id"], timeout=60, on_event=on_event)
    assert answers and answers[0].status_code == 202, events
    final = events[-1]
    assert final.event == "job" and final.data["status"] == "canceled"
    assert final.data["result"] is None
    steps = [e.data["step"] for e in events if e.event == "progress"]
    assert max(steps) < 512, "generation ran to its end"
    assert_error(shared_client.get(f"{JOBS}/{job['id']}/result"), 409, "conflict")


# Summaries.


@pytest.mark.parametrize(("style", "length"), [("paragraph", "short"), ("bullets", "medium"), ("tldr", "long")])
def test_summarize_job_in_each_style(shared_client: httpx.Client, style: str, length: str) -> None:
    job = run_job(shared_client, summary_body(style=style, length=length, seed=fresh_seed()))
    result = job["result"]
    assert result["text"].strip()
    assert result["truncated"] is False
    assert result["finish_reason"] == "length" and result["usage"]["completion_tokens"] == 16
    assert job["params"]["style"] == style and job["params"]["length"] == length
    text = shared_client.get(f"{JOBS}/{job['id']}/result?format=txt")
    assert text.status_code == 200 and text.text == result["text"] + "\n"


def test_summarize_streams_tokens_too(idle_live: LiveServer, idle_client: httpx.Client) -> None:
    job = submit(idle_client, summary_body(style="bullets", seed=fresh_seed()))
    events = stream_while_running(idle_live, idle_client, job["id"])
    assert events[-1].data["status"] == "succeeded"
    assert "".join(tokens_of(events, job["id"])) == events[-1].data["result"]["text"]


def test_a_text_longer_than_the_context_is_summarized_from_its_start(shared_client: httpx.Client) -> None:
    job = run_job(shared_client, summary_body(text=ARTICLE * 40, seed=fresh_seed()))
    result = job["result"]
    assert result["truncated"] is True
    assert result["input_tokens"] > result["kept_tokens"]
    assert result["usage"]["prompt_tokens"] + 16 <= 1024


# Validation: every case is rejected before a job exists.


def post(client: httpx.Client, body: Any) -> httpx.Response:
    return client.post(JOBS, json=body)


VALIDATION_CASES: list[tuple[str, dict[str, Any], list[str | int]]] = [
    ("no-messages", chat_body() | {"params": {"messages": [], "max_tokens": 16}}, [*P, "messages"]),
    ("messages-missing", {"task": "text", "model": "tiny-llm", "params": {"max_tokens": 16}}, [*P, "messages"]),
    (
        "bad-role",
        {"task": "text", "model": "tiny-llm", "params": {"messages": [{"role": "robot", "content": "hi"}]}},
        [*P, "messages", 0, "role"],
    ),
    (
        "no-content",
        {"task": "text", "model": "tiny-llm", "params": {"messages": [{"role": "user"}]}},
        [*P, "messages", 0, "content"],
    ),
    ("max-tokens-0", chat_body(max_tokens=0), [*P, "max_tokens"]),
    ("max-tokens-negative", chat_body(max_tokens=-5), [*P, "max_tokens"]),
    ("temperature-3", chat_body(temperature=3), [*P, "temperature"]),
    ("temperature-negative", chat_body(temperature=-0.1), [*P, "temperature"]),
    ("top-p-0", chat_body(top_p=0), [*P, "top_p"]),
    ("empty-stop", chat_body(stop=[""]), [*P, "stop", 0]),
    ("five-stops", chat_body(stop=["a", "b", "c", "d", "e"]), [*P, "stop"]),
    ("unknown-param", chat_body(prompt="hi"), [*P, "prompt"]),
    ("summary-empty", summary_body(text="   "), [*P, "text"]),
    ("summary-style", summary_body(style="haiku"), [*P, "style"]),
    ("summary-length", summary_body(length="tiny"), [*P, "length"]),
    ("summary-max-tokens-0", summary_body(max_tokens=0), [*P, "max_tokens"]),
]


@pytest.mark.parametrize(("body", "loc"), [c[1:] for c in VALIDATION_CASES], ids=[c[0] for c in VALIDATION_CASES])
def test_invalid_text_params_are_422(idle_client: httpx.Client, body: dict[str, Any], loc: list[str | int]) -> None:
    assert_validation_error(post(idle_client, body), loc)


@pytest.mark.parametrize("body", [chat_body(max_tokens=513), summary_body(max_tokens=513)], ids=["text", "summarize"])
def test_max_tokens_above_the_model_limit_is_422(idle_client: httpx.Client, body: dict[str, Any]) -> None:
    error = assert_validation_error(post(idle_client, body), [*P, "max_tokens"])
    assert "512" in error["message"] and "tiny-llm" in error["message"], error


def test_limits_and_defaults_are_accepted(idle_client: httpx.Client) -> None:
    accepted = (
        chat_body(max_tokens=512, temperature=2.0, top_p=1.0),
        chat_body(temperature=0.0),
        summary_body(max_tokens=512),
    )
    for body in accepted:
        response = post(idle_client, body)
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "queued"
    job = submit(idle_client, chat_body(model=None))
    assert job["model"] == "tiny-llm" and job["task"] == "text"
    assert job["params"]["temperature"] == 0.7 and job["params"]["stop"] == []
    summary = submit(idle_client, {"task": "summarize", "params": {"text": "Hello."}})
    assert summary["model"] == "tiny-llm"
    assert (summary["params"]["length"], summary["params"]["style"]) == ("short", "paragraph")
