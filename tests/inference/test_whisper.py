"""Audio decoding, keyframes and the Whisper backend on the random-weight tiny-whisper.

Test media is made here: WAV with the ``wave`` module, everything else
encoded with PyAV (FLAC, Vorbis, Opus, MP3, AAC; MP4, WebM, MOV with a
video track). The helpers are imported by tests/jobs/test_transcribe.py."""

from __future__ import annotations

import io
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aptmagic.inference.base import BackendEnv, InferenceError, InputFile, JobCanceled, RunContext
from aptmagic.inference.media_audio import decode_audio, extract_keyframe
from aptmagic.inference.params import TranscribeParams
from aptmagic.inference.registry import build_registry
from aptmagic.inference.tiny import ensure_builtin
from aptmagic.inference.tiny_whisper import TINY_LANGUAGES
from aptmagic.inference.transformers_whisper import Piece, TransformersWhisper, split_window

TONE_HZ = 440.0
AMPLITUDE = 0.3
VIDEO_SIZE = (64, 48)
VIDEO_FPS = 10


# media made for the tests
def tone(seconds: float, rate: int, channels: int = 1, freq: float = TONE_HZ) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave_ = (AMPLITUDE * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.tile(wave_, (channels, 1))


def wav_bytes(seconds: float = 2.0, rate: int = 16_000, channels: int = 1, freq: float = TONE_HZ) -> bytes:
    """16-bit PCM WAV written with the standard library."""
    samples = (tone(seconds, rate, channels, freq).T * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def encode_media(
    container: str,
    audio_codec: str | None,
    seconds: float = 2.0,
    rate: int = 44_100,
    channels: int = 2,
    video_codec: str | None = None,
) -> bytes:
    """A tone (and, with ``video_codec``, a video whose red level rises frame by frame) encoded by PyAV."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as out:
        video = None
        if video_codec is not None:
            video = out.add_stream(video_codec, rate=VIDEO_FPS)
            video.width, video.height = VIDEO_SIZE
            video.pix_fmt = "yuv420p"
        if audio_codec is not None:
            options = {"strict": "experimental"} if audio_codec == "vorbis" else {}
            audio = out.add_stream(audio_codec, rate=rate, options=options)
            audio.layout = "stereo" if channels == 2 else "mono"
            samples = tone(seconds, rate, channels)
            step = audio.codec_context.frame_size or 1024
            for start in range(0, samples.shape[1], step):
                chunk = np.ascontiguousarray(samples[:, start : start + step])
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=audio.layout.name)
                frame.sample_rate, frame.pts = rate, start
                out.mux(audio.encode(frame))
            out.mux(audio.encode(None))
        if video is not None:
            count = int(seconds * VIDEO_FPS)
            for index in range(count):
                pixels = np.zeros((VIDEO_SIZE[1], VIDEO_SIZE[0], 3), np.uint8)
                pixels[..., 0] = index * 255 // max(1, count - 1)
                frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                frame.pts = index
                out.mux(video.encode(frame))
            out.mux(video.encode(None))
    return buffer.getvalue()


def mp4_with_audio(seconds: float = 2.0) -> bytes:
    return encode_media("mp4", "aac", seconds, video_codec="libx264")


def mp4_without_audio(seconds: float = 2.0) -> bytes:
    return encode_media("mp4", None, seconds, video_codec="libx264")


def dominant_hz(samples: np.ndarray, rate: int = 16_000) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def assert_tone(samples: np.ndarray, seconds: float, slack: float = 0.1) -> None:
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) / 16_000 - seconds) <= slack, len(samples) / 16_000
    assert abs(dominant_hz(samples) - TONE_HZ) < 5
    assert abs(float(np.abs(samples).max()) - AMPLITUDE) < 0.06


# decode_audio
def test_decode_wav_from_the_wave_module_resamples_to_16k_mono() -> None:
    samples = decode_audio(wav_bytes(2.0, rate=44_100, channels=2))
    assert len(samples) == 32_000
    assert_tone(samples, 2.0, slack=0.0)


def test_decode_upsamples_narrowband_audio() -> None:
    assert_tone(decode_audio(wav_bytes(1.5, rate=8_000)), 1.5, slack=0.0)


AUDIO_FORMATS = {
    "flac": ("flac", "flac", 44_100),
    "ogg-vorbis": ("ogg", "vorbis", 44_100),
    "ogg-opus": ("ogg", "libopus", 48_000),
    "mp3": ("mp3", "libmp3lame", 44_100),
    "m4a-aac": ("ipod", "aac", 44_100),
    "adts-aac": ("adts", "aac", 22_050),
    "webm-opus": ("webm", "libopus", 48_000),
}


@pytest.mark.parametrize("name", AUDIO_FORMATS)
def test_decode_audio_formats(name: str) -> None:
    container, codec, rate = AUDIO_FORMATS[name]
    assert_tone(decode_audio(encode_media(container, codec, 2.0, rate)), 2.0)


VIDEO_FORMATS = {
    "mp4": ("mp4", "aac", 44_100, "libx264"),
    "webm": ("webm", "libopus", 48_000, "libvpx"),
    "mov": ("mov", "aac", 44_100, "mpeg4"),
    "mkv": ("matroska", "flac", 44_100, "libx264"),
}


@pytest.mark.parametrize("name", VIDEO_FORMATS)
def test_decode_the_audio_track_of_a_video(name: str) -> None:
    container, codec, rate, video_codec = VIDEO_FORMATS[name]
    data = encode_media(container, codec, 2.0, rate, video_codec=video_codec)
    assert_tone(decode_audio(data), 2.0)


def test_a_video_without_audio_says_so() -> None:
    with pytest.raises(InferenceError, match="the video has no audio track"):
        decode_audio(mp4_without_audio())


def test_an_image_is_not_audio() -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    with pytest.raises(InferenceError, match="image"):
        decode_audio(buffer.getvalue())


def test_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(InferenceError, match="limit"):
        decode_audio(wav_bytes(3.0), max_seconds=1.0)


def _corrupt_inputs() -> dict[str, bytes]:
    wav = wav_bytes(1.0)
    mp4 = mp4_with_audio(1.0)
    rng = np.random.default_rng(7)
    return {
        "empty": b"",
        "random-bytes": rng.integers(0, 256, 64_000, dtype=np.uint8).tobytes(),
        "text": b"this is not a sound file\n" * 200,
        "wav-header-cut": wav[:30],
        "mp4-header-only": mp4[:200],
        "riff-with-garbage": b"RIFF\xff\xff\xff\x7fWAVEfmt " + rng.integers(0, 256, 4_000, dtype=np.uint8).tobytes(),
    }


@pytest.mark.parametrize("name", list(_corrupt_inputs()))
def test_corrupt_input_fails_fast_with_a_readable_error(name: str) -> None:
    data = _corrupt_inputs()[name]
    started = time.monotonic()
    with pytest.raises(InferenceError) as caught:
        decode_audio(data)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert message and "Errno" not in message and len(message) < 300, message


def test_a_damaged_tail_keeps_the_audio_before_it() -> None:
    data = encode_media("mp3", "libmp3lame", 4.0)
    samples = decode_audio(data[: len(data) // 2])
    assert 1.0 < len(samples) / 16_000 < 3.0
    assert abs(dominant_hz(samples) - TONE_HZ) < 5


def test_files_joined_at_different_rates_decode_whole() -> None:
    joined = encode_media("mp3", "libmp3lame", 2.0, 44_100) + encode_media("mp3", "libmp3lame", 2.0, 22_050, channels=1)
    assert_tone(decode_audio(joined), 4.0)


def test_a_wav_that_claims_an_endless_size_decodes() -> None:
    """WAVs written to a pipe cannot fill in their sizes; the samples decide, not the header."""
    data = bytearray(wav_bytes(2.0))
    data[4:8] = data[40:44] = b"\xff\xff\xff\xff"
    assert_tone(decode_audio(bytes(data), max_seconds=10), 2.0)


# extract_keyframe
@pytest.mark.parametrize("name", ["mp4", "webm", "mov"])
def test_keyframe_has_the_video_size_and_comes_from_a_third_in(name: str) -> None:
    container, codec, rate, video_codec = VIDEO_FORMATS[name]
    image = extract_keyframe(encode_media(container, codec, 3.0, rate, video_codec=video_codec))
    assert image.mode == "RGB"
    assert image.size == VIDEO_SIZE
    red = image.getpixel((VIDEO_SIZE[0] // 2, VIDEO_SIZE[1] // 2))[0]
    assert 50 < red < 130, red  # the red level rises 0..255 over the clip; a third in is about 85


def test_keyframe_of_a_video_without_audio() -> None:
    assert extract_keyframe(mp4_without_audio()).size == VIDEO_SIZE


@pytest.mark.parametrize("data", [b"", b"garbage" * 100, None], ids=["empty", "garbage", "audio-only"])
def test_keyframe_errors(data: bytes | None) -> None:
    with pytest.raises(InferenceError):
        extract_keyframe(wav_bytes(1.0) if data is None else data)


# split_window: the pure part of the window loop
TB = 1000  # first timestamp token id in these examples


def ts(seconds: float) -> int:
    return TB + round(seconds / 0.02)


def test_split_complete_window() -> None:
    tokens = [ts(0), 1, 2, ts(2.0), ts(2.5), 3, ts(4.0)]
    pieces, covered = split_window(tokens, TB, 30.0)
    assert pieces == [Piece(0.0, 2.0, [1, 2]), Piece(2.5, 4.0, [3])]
    assert covered == 30.0


def test_split_unfinished_text_is_decoded_again_from_the_last_pair() -> None:
    tokens = [ts(0), 1, ts(12.0), ts(12.0), 2, ts(24.0), ts(24.5), 3, 4]
    pieces, covered = split_window(tokens, TB, 30.0)
    assert pieces == [Piece(0.0, 12.0, [1]), Piece(12.0, 24.0, [2])]
    assert covered == 24.0


def test_split_too_little_progress_keeps_the_text_and_moves_a_whole_window() -> None:
    tokens = [ts(0), 1, ts(1.0), ts(1.2), 2, 3]
    pieces, covered = split_window(tokens, TB, 30.0)
    assert pieces == [Piece(0.0, 1.0, [1]), Piece(1.2, 30.0, [2, 3])]
    assert covered == 30.0


def test_split_without_pairs_is_one_piece() -> None:
    assert split_window([ts(0.5), 1, 2], TB, 30.0) == ([Piece(0.5, 30.0, [1, 2])], 30.0)
    assert split_window([ts(0.5), 1, 2, ts(3.0)], TB, 30.0) == ([Piece(0.5, 3.0, [1, 2])], 30.0)
    assert split_window([1, 2], TB, 30.0) == ([Piece(0.0, 30.0, [1, 2])], 30.0)
    assert split_window([], TB, 30.0) == ([], 30.0)


def test_split_clamps_to_a_short_last_window_and_merges_pieces_past_its_end() -> None:
    tokens = [ts(0.2), 1, ts(2.0), ts(2.0), 2, ts(5.0), ts(6.0), 3, ts(8.0)]
    pieces, covered = split_window(tokens, TB, 4.0)
    assert pieces == [Piece(0.2, 2.0, [1]), Piece(2.0, 4.0, [2, 3])]
    assert covered == 4.0


# the backend on tiny-whisper
@pytest.fixture(scope="module")
def whisper(models_dir: Path) -> Iterator[TransformersWhisper]:
    registry = build_registry([], {}, demo=True)
    spec = registry.get("tiny-whisper")
    backend = registry.create_backend(spec, BackendEnv(models_dir=models_dir))
    assert isinstance(backend, TransformersWhisper)
    backend.setup()
    yield backend
    backend.unload()


class Recorder:
    def __init__(self, data: bytes, media_kind: str = "audio", cancel_at: int | None = None) -> None:
        self.data, self.media_kind, self.cancel_at = data, media_kind, cancel_at
        self.steps: list[tuple[int, int]] = []
        self.events: list[tuple[str, dict[str, Any]]] = []

    def on_step(self, step: int, total: int) -> None:
        self.steps.append((step, total))
        if self.cancel_at is not None and step >= self.cancel_at:
            raise JobCanceled("test")

    def ctx(self, seed: int = 1) -> RunContext:
        return RunContext(
            job_id="test",
            seed=seed,
            on_step=self.on_step,
            on_event=lambda kind, data: self.events.append((kind, data)),
            load_input=lambda asset_id: InputFile(asset_id, self.data, "application/octet-stream", self.media_kind),
        )


def params(**values: Any) -> TranscribeParams:
    return TranscribeParams(source="0" * 32, **values)


def assert_valid_segments(segments: list[dict[str, Any]], duration: float) -> None:
    assert segments
    previous_end = 0.0
    for segment in segments:
        assert set(segment) == {"start", "end", "text"}
        assert isinstance(segment["text"], str) and segment["text"].strip()
        assert previous_end <= segment["start"] <= segment["end"] <= duration + 0.01, segments
        previous_end = segment["end"]


def test_tiny_whisper_is_saved_as_safetensors(models_dir: Path) -> None:
    folder = ensure_builtin("tiny-whisper", models_dir)
    names = {path.name for path in folder.iterdir()}
    assert {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json"} <= names
    assert not any(name.endswith(".bin") for name in names)
    assert sum(path.stat().st_size for path in folder.iterdir()) < 4_000_000


def test_transcribe_short_audio(whisper: TransformersWhisper) -> None:
    recorder = Recorder(wav_bytes(3.0))
    result = whisper.run(params(), recorder.ctx())
    assert isinstance(result.text, str) and result.text
    assert result.data["language"] in TINY_LANGUAGES
    assert result.data["duration"] == 3.0
    assert result.data["windows"] == 1
    assert_valid_segments(result.data["segments"], 3.0)
    assert [data for kind, data in recorder.events if kind == "segment"] == result.data["segments"]
    assert recorder.steps[0] == (0, 1) and recorder.steps[-1] == (1, 1)
    assert whisper.memory_bytes() > 0


def test_transcribe_the_audio_of_a_video_with_a_language(whisper: TransformersWhisper) -> None:
    result = whisper.run(params(language="de"), Recorder(mp4_with_audio(2.0), "video").ctx())
    assert result.data["language"] == "de"
    assert_valid_segments(result.data["segments"], result.data["duration"])


def test_without_timestamps_there_are_no_segments(whisper: TransformersWhisper) -> None:
    result = whisper.run(params(timestamps=False), Recorder(wav_bytes(2.0)).ctx())
    assert result.text
    assert "segments" not in result.data


def test_long_audio_is_transcribed_in_windows_with_absolute_times(whisper: TransformersWhisper) -> None:
    recorder = Recorder(encode_media("flac", "flac", 45.0, 16_000, channels=1))
    result = whisper.run(params(language="en"), recorder.ctx())
    windows = result.data["windows"]
    assert windows >= 2
    assert [step for step, _ in recorder.steps] == list(range(windows + 1))
    assert all(total >= 2 for _, total in recorder.steps)
    assert_valid_segments(result.data["segments"], 45.0)
    assert result.data["segments"][-1]["end"] > 30.0


def test_cancel_between_windows(whisper: TransformersWhisper) -> None:
    recorder = Recorder(wav_bytes(95.0, rate=8_000), cancel_at=1)
    with pytest.raises(JobCanceled):
        whisper.run(params(language="en"), recorder.ctx())
    assert [step for step, _ in recorder.steps] == [0, 1]
    assert len([kind for kind, _ in recorder.events if kind == "segment"]) >= 1


@pytest.mark.parametrize(
    ("data", "kind", "values", "message"),
    [
        (None, "audio", {"language": "ko"}, "does not know language 'ko'"),
        (b"not audio at all" * 50, "audio", {}, "not audio or video"),
        ("no-audio", "video", {}, "the video has no audio track"),
        (None, "image", {}, "cannot transcribe this image asset"),
    ],
    ids=["unknown-language", "corrupt", "silent-video", "image"],
)
def test_run_errors(whisper: TransformersWhisper, data: Any, kind: str, values: dict[str, Any], message: str) -> None:
    payload = mp4_without_audio() if data == "no-audio" else data if data is not None else wav_bytes(1.0)
    with pytest.raises(InferenceError, match=message):
        whisper.run(params(**values), Recorder(payload, kind).ctx())


def test_temperature_fallback_decodes_again_and_stays_valid(
    whisper: TransformersWhisper, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real checkpoints decode a window again, hotter, when its text loops; random weights always trip it."""
    registry = build_registry([], {}, demo=True)
    tiny = registry.get("tiny-whisper")
    assert not TransformersWhisper(tiny, whisper.env)._fallback
    with_fallback = tiny.model_copy(update={"options": {"temperature_fallback": True}})
    assert TransformersWhisper(with_fallback, whisper.env)._fallback
    monkeypatch.setattr(whisper, "_fallback", True)
    monkeypatch.setattr("aptmagic.inference.transformers_whisper.FALLBACK_TEMPERATURES", (0.0, 1.0))
    first = whisper.run(params(language="en", seed=5), Recorder(wav_bytes(2.0)).ctx(seed=5))
    again = whisper.run(params(language="en", seed=5), Recorder(wav_bytes(2.0)).ctx(seed=5))
    assert_valid_segments(first.data["segments"], 2.0)
    assert first.text == again.text  # the seed makes the sampled fallbacks repeatable
