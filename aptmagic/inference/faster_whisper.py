"""Speech to text with faster-whisper: Whisper converted for CTranslate2, int8 on CPU by default.

The source is a CTranslate2 model folder (``model.bin``, ``config.json``,
``tokenizer.json``), ``package:<name>[/<path>]`` for one shipped inside an
installed Python package, or a faster-whisper size name / hub id (downloaded
by faster-whisper, so only where the hub is reachable).

The result has the same shape as the transformers-whisper backend's:
``{"text", "segments": [{start, end, text}], "language", "duration"}``
(segments left out without timestamps), each segment sent as a ``segment``
event when made. Progress is counted in seconds of audio, reported after
each segment, so a cancel takes effect between segments.

Model options: ``compute_type`` (default ``int8``), ``cpu_threads`` (0: the
library's default), ``beam_size`` (5), and ``vad`` (default off): when on,
Silero VAD (shipped inside faster-whisper) finds the speech first, only that
is transcribed, and the result lists the spans in ``speech``
(``[{start, end}]``, seconds). ``vad_parameters`` passes faster-whisper's
``VadOptions`` (e.g. ``min_silence_duration_ms``). ``limits.max_seconds``
caps the audio length (2 hours)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from aptmagic.inference.base import (
    BackendEnv,
    InferenceError,
    InferenceResult,
    ModelLoadError,
    RunContext,
)
from aptmagic.inference.media_audio import DEFAULT_MAX_SECONDS, SAMPLE_RATE, decode_audio
from aptmagic.inference.registry import register_backend
from aptmagic.inference.spec import ModelSpec
from aptmagic.inference.tiny import resolve_source

DEVICES = {"auto": "auto", "cpu": "cpu", "cuda": "cuda"}


class FasterWhisper:
    def __init__(self, spec: ModelSpec, env: BackendEnv) -> None:
        self.spec = spec
        self.env = env
        self.model: Any = None
        self.source = ""
        options = spec.options
        self.vad = bool(options.get("vad", False))
        self.vad_parameters: dict[str, Any] = dict(options.get("vad_parameters") or {})
        self.beam_size = int(options.get("beam_size", 5))

    # loading
    def setup(self) -> None:
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise ModelLoadError(
                f"model {self.spec.id!r} needs the faster-whisper package (pip install faster-whisper)"
            ) from exc
        self._check_vad_parameters()
        device = DEVICES.get(self.spec.device)
        if device is None:
            raise ModelLoadError(f"model {self.spec.id!r}: faster-whisper runs on cpu or cuda, not {self.spec.device}")
        try:
            self.source = resolve_source(self.spec, self.env)
            self.model = WhisperModel(
                self.source,
                device=device,
                compute_type=str(self.spec.options.get("compute_type", "int8")),
                cpu_threads=int(self.spec.options.get("cpu_threads", 0)),
                revision=self.spec.revision,
            )
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelLoadError(
                f"model {self.spec.id!r} could not be loaded from {self.spec.source!r}: {exc}"
            ) from exc

    def _check_vad_parameters(self) -> None:
        from faster_whisper.vad import VadOptions

        try:
            VadOptions(**self.vad_parameters)
        except TypeError as exc:
            raise ModelLoadError(f"model {self.spec.id!r} has unknown vad_parameters: {exc}") from exc

    def unload(self) -> None:
        self.model = None

    def memory_bytes(self) -> int:
        """The size of the weights file: CTranslate2 keeps them in its own memory, out of Python's sight."""
        weights = Path(self.source) / "model.bin"
        return weights.stat().st_size if self.model is not None and weights.is_file() else 0

    # running
    def run(self, params: BaseModel, ctx: RunContext) -> InferenceResult:
        p: Any = params
        source = ctx.load_input(p.source)
        if source.media_kind not in ("audio", "video"):
            raise InferenceError(
                f"cannot transcribe this {source.media_kind or 'unknown'} asset; expected audio or video"
            )
        language = self._check_language(p.language)
        max_seconds = float(self.spec.limits.get("max_seconds", DEFAULT_MAX_SECONDS))
        audio = decode_audio(source.data, SAMPLE_RATE, max_seconds)
        return self.transcribe(audio, language, bool(p.timestamps), ctx)

    def _check_language(self, language: str | None) -> str | None:
        if not self.model.model.is_multilingual:
            if language not in (None, "en"):
                raise InferenceError(f"model {self.spec.id!r} transcribes English only, not {language!r}")
            return "en"
        known = list(self.model.supported_languages)
        if language is not None and language not in known:
            raise InferenceError(
                f"model {self.spec.id!r} does not know language {language!r}; it knows {', '.join(sorted(known))}"
            )
        return language

    def transcribe(self, audio: np.ndarray, language: str | None, timestamps: bool, ctx: RunContext) -> InferenceResult:
        duration = len(audio) / SAMPLE_RATE
        total = max(1, math.ceil(duration))
        ctx.step(0, total)
        data: dict[str, Any] = {}
        if self.vad:
            data["speech"] = self._speech_spans(audio)
        pieces, info = self.model.transcribe(
            audio,
            language=language,
            task="transcribe",
            beam_size=self.beam_size,
            without_timestamps=not timestamps,
            vad_filter=self.vad,
            vad_parameters=self.vad_parameters or None,
        )
        segments: list[dict[str, Any]] = []
        texts: list[str] = []
        last_end = 0.0
        for piece in pieces:  # decoding happens as the generator is read
            text = " ".join(piece.text.split())
            if text:
                start = max(last_end, round(float(piece.start), 3))
                last_end = end = max(start, round(min(float(piece.end), duration), 3))
                segment = {"start": start, "end": end, "text": text}
                segments.append(segment)
                texts.append(text)
                ctx.emit("segment", dict(segment))
            ctx.step(min(total, math.floor(piece.end)), total)
        ctx.step(total, total)
        data.update(language=info.language, duration=round(duration, 3))
        if timestamps:
            data["segments"] = segments
        return InferenceResult(text=" ".join(texts), data=data)

    def _speech_spans(self, audio: np.ndarray) -> list[dict[str, float]]:
        """Where Silero VAD hears speech, in seconds: the same call faster-whisper makes for ``vad_filter``."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        spans = get_speech_timestamps(audio, VadOptions(**self.vad_parameters), sampling_rate=SAMPLE_RATE)
        return [
            {"start": round(span["start"] / SAMPLE_RATE, 3), "end": round(span["end"] / SAMPLE_RATE, 3)}
            for span in spans
        ]


register_backend("faster-whisper")(FasterWhisper)
