"""The transcribe task end to end over HTTP, on tiny-whisper: submit, run, download as txt/srt/vtt/json."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, create_asset, wait_for
from tests.inference.test_whisper import mp4_with_audio, mp4_without_audio, wav_bytes
from tests.jobs.conftest import JOBS, SSEEvent, assert_error, assert_validation_error, collect_events

SRT_TIME = r"(\d{2}):(\d{2}):(\d{2}),(\d{3})"
VTT_TIME = r"(\d{2}):(\d{2}):(\d{2})\.(\d{3})"


def transcribe(client: httpx.Client, source: str, **params: Any) -> dict[str, Any]:
    body = {"task": "transcribe", "model": "tiny-whisper", "params": {"source": source, **params}}
    response = client.post(JOBS, json=body)
    assert response.status_code == 202, response.text
    return response.json()


def audio_asset(live: LiveServer, seconds: float = 3.0, rate: int = 16_000) -> str:
    return create_asset(live, wav_bytes(seconds, rate=rate), "audio/wav", "audio")


def seconds_of(match: tuple[str, ...]) -> float:
    hours, minutes, secs, millis = (int(part) for part in match)
    return hours * 3600 + minutes * 60 + secs + millis / 1000


def parse_srt(body: str) -> list[tuple[float, float, str]]:
    cues = []
    for number, block in enumerate(body.strip("\n").split("\n\n"), start=1):
        lines = block.split("\n")
        assert lines[0] == str(number), block
        timing = re.fullmatch(f"{SRT_TIME} --> {SRT_TIME}", lines[1])
        assert timing, block
        assert len(lines) >= 3 and all(line.strip() for line in lines[2:]), block
        parts = timing.groups()
        cues.append((seconds_of(parts[:4]), seconds_of(parts[4:]), "\n".join(lines[2:])))
    return cues


def parse_vtt(body: str) -> list[tuple[float, float, str]]:
    header, _, rest = body.partition("\n\n")
    assert header == "WEBVTT", body[:40]
    cues = []
    for block in rest.strip("\n").split("\n\n"):
        lines = block.split("\n")
        timing = re.fullmatch(f"{VTT_TIME} --> {VTT_TIME}", lines[0])
        assert timing, block
        assert len(lines) >= 2 and all(line.strip() for line in lines[1:]), block
        parts = timing.groups()
        cues.append((seconds_of(parts[:4]), seconds_of(parts[4:]), "\n".join(lines[1:])))
    return cues


def assert_transcript(result: dict[str, Any], duration: float) -> None:
    assert isinstance(result["text"], str) and result["text"]
    assert result["duration"] == pytest.approx(duration, abs=0.1)
    assert isinstance(result["language"], str)
    segments = result["segments"]
    assert segments
    previous_end = 0.0
    for segment in segments:
        assert previous_end <= segment["start"] <= segment["end"] <= result["duration"] + 0.01, segments
        assert segment["text"].strip()
        previous_end = segment["end"]


def test_transcribe_a_wav_and_download_txt_srt_vtt_json(shared_live: LiveServer, shared_client: httpx.Client) -> None:
    job = transcribe(shared_client, audio_asset(shared_live))
    done = wait_for(shared_client, job["id"])
    assert done["status"] == "succeeded", done
    result = done["result"]
    assert_transcript(result, 3.0)
    segments = result["segments"]
    url = f"{JOBS}/{job['id']}/result"

    txt = shared_client.get(url, params={"format": "txt"})
    assert txt.status_code == 200 and txt.headers["content-type"].startswith("text/plain")
    assert txt.text == result["text"] + "\n"

    srt = shared_client.get(url, params={"format": "srt"})
    assert srt.status_code == 200 and srt.headers["content-type"].startswith("application/x-subrip")
    assert f'filename="{job["id"]}.srt"' in srt.headers["content-disposition"]
    cues = parse_srt(srt.text)
    assert [(start, end) for start, end, _ in cues] == [
        (pytest.approx(s["start"], abs=0.001), pytest.approx(s["end"], abs=0.001)) for s in segments
    ]
    assert [text for _, _, text in cues] == [s["text"] for s in segments]

    vtt = shared_client.get(url, params={"format": "vtt"})
    assert vtt.status_code == 200 and vtt.headers["content-type"].startswith("text/vtt")
    assert [(start, end) for start, end, _ in parse_vtt(vtt.text)] == [(start, end) for start, end, _ in cues]

    assert shared_client.get(url, params={"format": "json"}).json() == result


def test_transcribe_the_audio_track_of_an_mp4(shared_live: LiveServer, shared_client: httpx.Client) -> None:
    source = create_asset(shared_live, mp4_with_audio(2.0), "video/mp4", "video")
    done = wait_for(shared_client, transcribe(shared_client, source, language="en")["id"])
    assert done["status"] == "succeeded", done
    assert_transcript(done["result"], 2.0)
    assert done["result"]["language"] == "en"


def test_a_video_without_audio_fails_with_a_readable_error(
    shared_live: LiveServer, shared_client: httpx.Client
) -> None:
    source = create_asset(shared_live, mp4_without_audio(), "video/mp4", "video")
    done = wait_for(shared_client, transcribe(shared_client, source)["id"])
    assert done["status"] == "failed", done
    assert done["error"]["code"] == "inference_error"
    assert done["error"]["message"] == "the video has no audio track"
    assert done["attempts"] == 1  # not worth a retry


def test_corrupt_audio_fails_with_a_readable_error(shared_live: LiveServer, shared_client: httpx.Client) -> None:
    source = create_asset(shared_live, b"ID3" + bytes(5000), "audio/mpeg", "audio")
    done = wait_for(shared_client, transcribe(shared_client, source)["id"])
    assert done["status"] == "failed", done
    assert done["error"]["code"] == "inference_error"
    assert "Errno" not in done["error"]["message"]


def test_audio_longer_than_30_seconds_runs_in_windows(shared_live: LiveServer, shared_client: httpx.Client) -> None:
    done = wait_for(shared_client, transcribe(shared_client, audio_asset(shared_live, 40.0, rate=8_000))["id"])
    assert done["status"] == "succeeded", done
    assert done["progress"]["total"] >= 2
    assert done["progress"]["step"] == done["progress"]["total"]
    assert done["result"]["windows"] == done["progress"]["total"]
    assert_transcript(done["result"], 40.0)
    assert done["result"]["segments"][-1]["end"] > 30.0


def test_without_timestamps_there_is_text_but_no_subtitles(
    shared_live: LiveServer, shared_client: httpx.Client
) -> None:
    job = transcribe(shared_client, audio_asset(shared_live, 2.0), timestamps=False)
    done = wait_for(shared_client, job["id"])
    assert done["status"] == "succeeded", done
    assert done["result"]["text"] and "segments" not in done["result"]
    assert_error(shared_client.get(f"{JOBS}/{job['id']}/result", params={"format": "srt"}), 409, "conflict")


def test_a_language_the_model_does_not_know_fails(shared_live: LiveServer, shared_client: httpx.Client) -> None:
    done = wait_for(shared_client, transcribe(shared_client, audio_asset(shared_live, 1.0), language="ko")["id"])
    assert done["status"] == "failed", done
    assert "'ko'" in done["error"]["message"]


def test_cancel_stops_between_windows(shared_live: LiveServer, shared_client: httpx.Client) -> None:
    job = transcribe(shared_client, audio_asset(shared_live, 240.0, rate=8_000))
    answers: list[httpx.Response] = []

    def on_event(event: SSEEvent) -> None:
        if event.event == "segment" and not answers:
            assert {"start", "end", "text"} <= set(event.data)
            answers.append(shared_client.post(f"{JOBS}/{job['id']}/cancel"))

    events = collect_events(shared_client, job["id"], timeout=60, on_event=on_event)
    assert answers, f"no segment event came: {events}"
    assert answers[0].status_code == 202, answers[0].text
    assert events[-1].event == "job" and events[-1].data["status"] == "canceled"
    done = shared_client.get(f"{JOBS}/{job['id']}").json()
    assert done["status"] == "canceled"
    assert done["result"] is None
    assert done["progress"]["step"] < done["progress"]["total"]


def test_an_image_asset_is_refused(shared_live: LiveServer, shared_client: httpx.Client) -> None:
    source = create_asset(shared_live, b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png", "image")
    body = {"task": "transcribe", "model": "tiny-whisper", "params": {"source": source}}
    error = assert_validation_error(shared_client.post(JOBS, json=body), ["body", "params", "source"])
    assert "expected audio or video" in str(error["details"])


def test_a_missing_asset_is_404(shared_client: httpx.Client) -> None:
    body = {"task": "transcribe", "model": "tiny-whisper", "params": {"source": "ab" * 16}}
    assert_error(shared_client.post(JOBS, json=body), 404, "not_found")
