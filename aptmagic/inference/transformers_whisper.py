"""Speech to text with Whisper (``WhisperForConditionalGeneration.from_pretrained``).

The audio is decoded with PyAV (any audio file, or the audio track of a
video), then transcribed in 30-second windows, the length Whisper was trained
on. Windows follow Whisper's own long-form rule: when a window ends in the
middle of a sentence, the next window starts at the last timestamp the model
closed, so no word is cut in two. Progress is reported per window, so a
cancel takes effect between windows, and each segment is sent as a
``segment`` event as soon as its window is done.

With timestamps the result is ``{"text", "segments": [{start, end, text}],
"language", "duration", "windows"}`` with times in seconds from the start of
the file; without them the segments are left out. The language is the one
asked for, or the one detected in the first window.

Model options: ``temperature_fallback`` (default on, off for the random-weight
built-ins) decodes a window again at rising temperatures when its text
repeats itself (``compression_ratio_threshold``, default 1.35) or the model
is unsure of it (``logprob_threshold``, default -1.0), as Whisper's own
transcribe does. ``limits.max_seconds`` caps the audio length (2 hours)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel

from aptmagic.inference import tiny_whisper  # noqa: F401  (registers the tiny-whisper builder)
from aptmagic.inference.base import BackendEnv, InferenceError, InferenceResult, ModelLoadError, RunContext
from aptmagic.inference.media_audio import DEFAULT_MAX_SECONDS, SAMPLE_RATE, decode_audio
from aptmagic.inference.registry import register_backend
from aptmagic.inference.spec import ModelSpec
from aptmagic.inference.torch_base import TorchBackend

WINDOW_SECONDS = 30.0
TIME_PRECISION = 0.02
MIN_ADVANCE_SECONDS = 5.0
"""A window that closes its last full segment earlier than this (a decoding
loop, not speech) keeps its unfinished text and moves on a whole window, so
the number of windows stays bounded by the audio's length."""
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class Piece:
    """A stretch of one window's decoding: times in seconds from the window start."""

    start: float
    end: float
    tokens: list[int]


def split_window(
    tokens: list[int], timestamp_begin: int, window_seconds: float, time_precision: float = TIME_PRECISION
) -> tuple[list[Piece], float]:
    """Cut one window's generated tokens (prompt and end token removed) into timed pieces.

    Returns the pieces and how many seconds of the window they cover: the
    whole window, or, when the text runs on past the last pair of timestamps,
    the time of that pair (the rest is decoded again from there)."""
    if not tokens:
        return [], window_seconds

    def seconds(token: int) -> float:
        return min(window_seconds, max(0.0, (token - timestamp_begin) * time_precision))

    is_time = [token >= timestamp_begin for token in tokens]
    boundaries = [i for i in range(1, len(tokens)) if is_time[i - 1] and is_time[i]]
    if not boundaries:
        # One stretch: from its first timestamp (or the window start) to its closing timestamp (or the window end).
        start = seconds(tokens[0]) if is_time[0] else 0.0
        end = seconds(tokens[-1]) if is_time[-1] and len(tokens) > 1 else window_seconds
        return [Piece(start, max(start, end), _text_tokens(tokens, timestamp_begin))], window_seconds
    single_ending = len(tokens) >= 2 and not is_time[-2] and is_time[-1]
    cuts = boundaries + ([len(tokens)] if single_ending else [])
    pieces: list[Piece] = []
    last = 0
    for cut in cuts:
        stretch = tokens[last:cut]
        start, end = seconds(stretch[0]), seconds(stretch[-1])
        pieces.append(Piece(start, max(start, end), _text_tokens(stretch, timestamp_begin)))
        last = cut
    if single_ending or last >= len(tokens):
        return _merge_past_end(pieces, window_seconds), window_seconds
    covered = seconds(tokens[last - 1])
    rest = tokens[last:]
    if covered < min(MIN_ADVANCE_SECONDS, window_seconds):
        # Too little progress to decode again from here: keep the unfinished text and move on.
        start = seconds(rest[0]) if is_time[last] else covered
        pieces.append(Piece(start, window_seconds, _text_tokens(rest, timestamp_begin)))
        return _merge_past_end(pieces, window_seconds), window_seconds
    return _merge_past_end(pieces, window_seconds), covered


def _merge_past_end(pieces: list[Piece], window_seconds: float) -> list[Piece]:
    """Pieces timed at or past the end of the audio (the silent padding of a short last
    window) join the piece before them, so no text is lost and no cue lasts zero seconds."""
    merged: list[Piece] = []
    for piece in pieces:
        if merged and piece.start >= window_seconds:
            before = merged[-1]
            merged[-1] = Piece(before.start, window_seconds, before.tokens + piece.tokens)
        else:
            merged.append(piece)
    return merged


def _text_tokens(tokens: list[int], timestamp_begin: int) -> list[int]:
    return [token for token in tokens if token < timestamp_begin]


@dataclass
class _Transcript:
    """The text and segments so far; each segment is sent as a ``segment`` event when made."""

    ctx: RunContext
    segments: list[dict[str, Any]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    last_end: float = 0.0

    def add(self, raw: str, start: float, end: float) -> None:
        """Add a decoded piece timed in seconds from the start of the file (text without words is skipped)."""
        text = " ".join(raw.split())
        if not text:
            return
        self.texts.append(raw)
        start = max(self.last_end, round(start, 3))
        self.last_end = end = max(start, round(end, 3))
        segment = {"start": start, "end": end, "text": text}
        self.segments.append(segment)
        self.ctx.emit("segment", dict(segment))

    @property
    def text(self) -> str:
        return " ".join("".join(self.texts).split())


class TransformersWhisper(TorchBackend):
    def __init__(self, spec: ModelSpec, env: BackendEnv) -> None:
        super().__init__(spec, env)
        self.model: Any = None
        self.processor: Any = None
        # Off by default for the random-weight built-ins: their gibberish trips every threshold,
        # and each window would be decoded six times.
        self._fallback = bool(spec.options.get("temperature_fallback", not spec.is_builtin))

    # loading
    def setup(self) -> None:
        from transformers import WhisperForConditionalGeneration, WhisperProcessor

        source = self.prepare()
        processor = self.pretrained(WhisperProcessor.from_pretrained, source)
        model = self.weights(WhisperForConditionalGeneration.from_pretrained, source)
        if getattr(model.generation_config, "no_timestamps_token_id", None) is None:
            raise ModelLoadError(f"model {self.spec.id!r} has no Whisper generation config (no_timestamps_token_id)")
        self.processor = processor
        self.model = self.place(model).eval()

    def release(self) -> None:
        self.model = self.processor = None

    def modules(self) -> tuple[Any, ...]:
        return (self.model,)

    # running
    def run(self, params: BaseModel, ctx: RunContext) -> InferenceResult:
        import torch

        p: Any = params
        source = ctx.load_input(p.source)
        if source.media_kind not in ("audio", "video"):
            kind = source.media_kind or "unknown"
            raise InferenceError(f"cannot transcribe this {kind} asset; expected audio or video")
        language = self._check_language(p.language)
        max_seconds = float(self.spec.limits.get("max_seconds", DEFAULT_MAX_SECONDS))
        audio = decode_audio(source.data, SAMPLE_RATE, max_seconds)
        if self._fallback:
            torch.manual_seed(ctx.seed)  # sampling happens only when a window falls back to a higher temperature
        with self.oom_is_transient(), torch.inference_mode():
            return self._transcribe(audio, language, bool(p.timestamps), ctx)

    def _check_language(self, language: str | None) -> str | None:
        generation = self.model.generation_config
        if not getattr(generation, "is_multilingual", True):
            if language not in (None, "en"):
                raise InferenceError(f"model {self.spec.id!r} transcribes English only, not {language!r}")
            return "en"
        if language is None:
            return None
        known = sorted(_language_codes(generation))
        if language not in known:
            raise InferenceError(
                f"model {self.spec.id!r} does not know language {language!r}; it knows {', '.join(known)}"
            )
        return language

    def _transcribe(
        self, audio: np.ndarray, language: str | None, timestamps: bool, ctx: RunContext
    ) -> InferenceResult:
        window = int(WINDOW_SECONDS * SAMPLE_RATE)
        transcript = _Transcript(ctx)
        seek = index = 0
        while seek < len(audio):
            ctx.step(index, index + math.ceil((len(audio) - seek) / window))
            chunk = audio[seek : seek + window]
            features = self._features(chunk)
            if language is None:
                language = self._detect_language(features)
            offset, seconds = seek / SAMPLE_RATE, len(chunk) / SAMPLE_RATE
            covered = self._window(features, language, timestamps, offset, seconds, transcript)
            seek += max(1, min(len(chunk), round(covered * SAMPLE_RATE)))
            index += 1
        ctx.step(index, index)
        data: dict[str, Any] = {"language": language, "duration": round(len(audio) / SAMPLE_RATE, 3)}
        if timestamps:
            data["segments"] = transcript.segments
        data["windows"] = index
        return InferenceResult(text=transcript.text, data=data)

    def _window(
        self, features: Any, language: str, timestamps: bool, offset: float, seconds: float, transcript: _Transcript
    ) -> float:
        """Transcribe one window of ``seconds`` starting at ``offset``; returns the seconds it covered."""
        tokens = self._generate(features, language, timestamps)
        timestamp_begin = int(self.model.generation_config.no_timestamps_token_id) + 1
        if timestamps:
            pieces, covered = split_window(tokens, timestamp_begin, seconds)
        else:
            pieces, covered = [Piece(0.0, seconds, _text_tokens(tokens, timestamp_begin))], seconds
        for piece in pieces:
            raw = self.processor.tokenizer.decode(piece.tokens, skip_special_tokens=True)
            transcript.add(raw, offset + piece.start, offset + piece.end)
        return covered

    def _features(self, chunk: np.ndarray) -> Any:
        extractor = self.processor.feature_extractor
        features = extractor(chunk, sampling_rate=SAMPLE_RATE, return_tensors="pt").input_features
        return features.to(self.device, dtype=self.dtype)

    def _detect_language(self, features: Any) -> str:
        generation = self.model.generation_config
        token_id = int(self.model.detect_language(input_features=features)[0])
        for token, lang_id in (getattr(generation, "lang_to_id", None) or {}).items():
            if lang_id == token_id:
                return str(token).strip("<|>")
        raise InferenceError(f"model {self.spec.id!r} detected a language it has no name for (token {token_id})")

    def _generate(self, features: Any, language: str, timestamps: bool) -> list[int]:
        """One window's generated tokens, without the prompt, special tokens or end token."""
        generation = self.model.generation_config
        kwargs: dict[str, Any] = {
            "return_timestamps": timestamps,
            "force_unique_generate_call": True,  # one window per call: the windows are ours
            "return_dict_in_generate": True,
        }
        if getattr(generation, "is_multilingual", True):
            kwargs.update(language=language, task="transcribe")
        if self._fallback:
            # Whisper's own remedy for loops and mumbling: decode again, a little hotter.
            kwargs.update(
                temperature=FALLBACK_TEMPERATURES,
                compression_ratio_threshold=float(self.spec.options.get("compression_ratio_threshold", 1.35)),
                logprob_threshold=float(self.spec.options.get("logprob_threshold", -1.0)),
            )
        out = self.model.generate(features, **kwargs)
        sequence = out.sequences[0].tolist() if hasattr(out, "sequences") else out[0].tolist()
        eos = generation.eos_token_id
        eos = int(eos[0] if isinstance(eos, (list, tuple)) else eos)
        return _strip_specials(sequence, eos, timestamp_begin=int(generation.no_timestamps_token_id) + 1)


def _strip_specials(sequence: list[int], eos: int, timestamp_begin: int) -> list[int]:
    """Drop the prompt (start, language, task tokens), anything from the end token on, and stray specials.

    In Whisper vocabularies the special tokens sit between the end token and the first timestamp."""
    tokens: list[int] = []
    started = False
    for token in sequence:
        special = eos <= token < timestamp_begin
        if token == eos and started:
            break
        if special:
            continue
        started = True
        tokens.append(token)
    return tokens


def _language_codes(generation: Any) -> set[str]:
    return {token.strip("<|>") for token in (getattr(generation, "lang_to_id", None) or {})}


register_backend("transformers-whisper")(TransformersWhisper)
