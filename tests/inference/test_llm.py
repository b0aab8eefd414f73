"""The transformers-llm backend on the tiny random-weight LLM, loaded through
from_pretrained from the folder its builder wrote: chat, summaries,
streaming, stop strings, seeds, cancel, context limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aptmagic.inference.base import (
    BackendEnv,
    InferenceError,
    JobCanceled,
    ModelLoadError,
    RunContext,
    TransientInferenceError,
)
from aptmagic.inference.params import SummarizeParams, TextParams
from aptmagic.inference.registry import BUILTIN_MODELS
from aptmagic.inference.spec import ModelSpec
from aptmagic.inference.tiny import ensure_builtin
from aptmagic.inference.transformers_llm import (
    IncrementalDecoder,
    StopMatcher,
    TransformersLLM,
    summary_messages,
)

TINY = next(spec for spec in BUILTIN_MODELS if spec.id == "tiny-llm")


class Recorder:
    """A RunContext that records tokens and steps, and can cancel at a step."""

    def __init__(self, seed: int = 1, cancel_at: int | None = None) -> None:
        self.tokens: list[str] = []
        self.steps: list[tuple[int, int]] = []
        self.cancel_at = cancel_at
        self.ctx = RunContext(job_id="test", seed=seed, on_step=self.on_step, on_event=self.on_event)

    def on_step(self, step: int, total: int) -> None:
        self.steps.append((step, total))
        if self.cancel_at is not None and step >= self.cancel_at:
            raise JobCanceled("test")

    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        assert kind == "token", kind
        assert set(data) == {"text"} and isinstance(data["text"], str) and data["text"], data
        self.tokens.append(data["text"])

    @property
    def streamed(self) -> str:
        return "".join(self.tokens)


@pytest.fixture(scope="module")
def llm(models_dir: Path) -> Iterator[TransformersLLM]:
    backend = TransformersLLM(TINY, BackendEnv(models_dir=models_dir))
    started = time.perf_counter()
    backend.setup()
    print(f"\ntiny-llm setup (build on first use, then from_pretrained): {time.perf_counter() - started:.3f}s")
    yield backend
    backend.unload()


def chat(content: str = "Write a haiku about rain.", **params: Any) -> TextParams:
    return TextParams(messages=[{"role": "user", "content": content}], **{"max_tokens": 16, **params})


def run(llm: TransformersLLM, params: Any, seed: int = 1) -> tuple[Any, Recorder]:
    recorder = Recorder(seed)
    return llm.run(params, recorder.ctx), recorder


# Building and loading.


def test_the_builder_writes_safetensors_and_a_chat_tokenizer(llm: TransformersLLM, models_dir: Path) -> None:
    folder = ensure_builtin("tiny-llm", models_dir)
    names = {path.name for path in folder.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json"} <= names
    assert not any(name.endswith((".bin", ".pt")) for name in names)
    tokenizer = llm.tokenizer
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    prompt = tokenizer.apply_chat_template(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi, café ☕"}],
        add_generation_prompt=True,
        tokenize=False,
    )
    assert prompt == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi, café ☕<|im_end|>\n<|im_start|>assistant\n"
    )
    ids = tokenizer.encode("Hi, café ☕ 42", add_special_tokens=False)
    assert tokenizer.decode(ids) == "Hi, café ☕ 42", "byte-level BPE must round-trip any text"
    assert llm.context_tokens == 1024


def test_memory_is_counted_and_unload_frees_it(models_dir: Path) -> None:
    backend = TransformersLLM(TINY, BackendEnv(models_dir=models_dir))
    assert backend.memory_bytes() == 0
    backend.setup()
    params = sum(p.numel() * p.element_size() for p in backend.model.parameters())
    assert backend.memory_bytes() >= params > 100_000
    backend.unload()
    assert backend.memory_bytes() == 0 and backend.model is None


def test_a_missing_model_is_a_readable_load_error(tmp_path: Path) -> None:
    spec = ModelSpec(
        id="gone-llm", task="text", backend="transformers-llm", source=str(tmp_path / "nowhere"), device="cpu"
    )
    backend = TransformersLLM(spec, BackendEnv(models_dir=tmp_path))
    with pytest.raises(ModelLoadError, match="'gone-llm' could not be loaded"):
        backend.setup()


# Chat.


def test_chat_makes_text_with_usage_and_streams_every_piece(llm: TransformersLLM) -> None:
    result, recorder = run(llm, chat(max_tokens=16))
    assert result.text and result.text.strip()
    assert result.images == []
    prompt = llm._prompt_ids([{"role": "user", "content": "Write a haiku about rain."}])
    assert result.data == {
        "finish_reason": "length",
        "usage": {"prompt_tokens": len(prompt), "completion_tokens": 16},
    }
    assert recorder.streamed == result.text
    assert len(recorder.tokens) > 1, "tokens must arrive one by one, not all at the end"
    assert recorder.steps[0] == (0, 16) and recorder.steps[-1] == (16, 16)
    assert [s for s, _ in recorder.steps] == sorted(s for s, _ in recorder.steps)


def test_the_tiny_model_writes_printable_ascii_only(llm: TransformersLLM) -> None:
    for seed in (1, 2):
        result, _ = run(llm, chat(max_tokens=24), seed)
        assert all(ch.isascii() and (ch.isprintable() or ch == "\n") for ch in result.text), repr(result.text)


def test_same_seed_same_text_other_seed_other_text(llm: TransformersLLM) -> None:
    first, _ = run(llm, chat(), seed=7)
    again, _ = run(llm, chat(), seed=7)
    other, _ = run(llm, chat(), seed=8)
    assert first.text == again.text
    assert other.text != first.text


def test_temperature_zero_is_greedy_whatever_the_seed(llm: TransformersLLM) -> None:
    a, _ = run(llm, chat(temperature=0.0), seed=1)
    b, _ = run(llm, chat(temperature=0.0), seed=2)
    assert a.text == b.text


def test_top_p_narrows_the_choice(llm: TransformersLLM) -> None:
    """A tiny top_p keeps only the likeliest token: the same as greedy."""
    greedy, _ = run(llm, chat(temperature=0.0), seed=1)
    narrow, _ = run(llm, chat(temperature=1.0, top_p=1e-6), seed=3)
    assert narrow.text == greedy.text


def test_a_stop_string_ends_the_text_before_it(llm: TransformersLLM) -> None:
    full, _ = run(llm, chat(max_tokens=32), seed=5)
    stop = full.text[len(full.text) // 2 : len(full.text) // 2 + 2]
    cut = full.text[: full.text.index(stop)]
    result, recorder = run(llm, chat(max_tokens=32, stop=[stop, "never-appears"]), seed=5)
    assert result.text == cut
    assert recorder.streamed == cut, "text of the stop string must never be streamed"
    assert result.data["finish_reason"] == "stop"
    assert result.data["usage"]["completion_tokens"] < 32


def test_a_held_back_partial_stop_string_is_sent_at_the_end(llm: TransformersLLM) -> None:
    full, _ = run(llm, chat(max_tokens=16), seed=6)
    stop = full.text[-2:] + "\x01never"  # the text ends with the start of this stop string
    result, recorder = run(llm, chat(max_tokens=16, stop=[stop]), seed=6)
    assert result.text == full.text == recorder.streamed
    assert result.data["finish_reason"] == "length"


def test_cancel_takes_effect_between_tokens(llm: TransformersLLM) -> None:
    recorder = Recorder(seed=1, cancel_at=3)
    with pytest.raises(JobCanceled):
        llm.run(chat(max_tokens=200), recorder.ctx)
    assert recorder.steps[-1] == (3, 200)
    assert len(recorder.tokens) <= 3


def test_a_conversation_longer_than_the_context_is_an_error(llm: TransformersLLM) -> None:
    with pytest.raises(InferenceError, match="reads at most 1024") as caught:
        run(llm, chat("lighthouse keeper " * 600))
    assert not caught.value.transient


def test_generation_stops_at_the_end_of_the_context(llm: TransformersLLM) -> None:
    content = ""
    while len(llm._prompt_ids([{"role": "user", "content": content}])) < 1000:
        content += "lighthouse keeper " * 10
    result, _ = run(llm, chat(content, max_tokens=64))
    usage = result.data["usage"]
    assert usage["prompt_tokens"] + usage["completion_tokens"] == 1024
    assert usage["completion_tokens"] < 64 and result.data["finish_reason"] == "length"


def test_out_of_memory_is_transient(llm: TransformersLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    def boom(*args: Any, **kwargs: Any) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(llm.model, "generate", boom)
    with pytest.raises(TransientInferenceError, match="out of memory"):
        run(llm, chat())


# Summaries.


@pytest.mark.parametrize("style", ["paragraph", "bullets", "tldr"])
def test_summaries_in_each_style(llm: TransformersLLM, style: str) -> None:
    params = SummarizeParams(text="The lighthouse keeper lit the lamp at dawn. " * 5, style=style, max_tokens=16)
    result, recorder = run(llm, params)
    assert result.text and recorder.streamed == result.text
    assert result.data["truncated"] is False
    assert result.data["usage"]["completion_tokens"] == 16


@pytest.mark.parametrize(
    ("length", "style", "words"),
    [
        ("short", "paragraph", "one or two sentences"),
        ("medium", "paragraph", "one paragraph"),
        ("long", "paragraph", "several paragraphs"),
        ("short", "bullets", "2 to 3 points"),
        ("long", "bullets", "up to 12 points"),
        ("short", "tldr", "single line starting with 'TL;DR: '"),
    ],
)
def test_the_summary_prompt_asks_for_the_length_and_style(length: str, style: str, words: str) -> None:
    system, user = summary_messages("Some text.", length, style)
    assert system["role"] == "system" and user["role"] == "user"
    assert words in user["content"]
    assert user["content"].endswith('"""\nSome text.\n"""')


def test_a_long_text_is_cut_to_the_context_and_says_so(llm: TransformersLLM) -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 800
    result, _ = run(llm, SummarizeParams(text=text, max_tokens=16))
    data = result.data
    assert data["truncated"] is True
    assert data["input_tokens"] > data["kept_tokens"] > 500
    assert data["usage"]["prompt_tokens"] + 16 <= 1024
    assert data["usage"]["completion_tokens"] == 16


# Streaming pieces.


def test_incremental_decoding_never_splits_a_character(llm: TransformersLLM) -> None:
    text = "Grüße aus Köln 😀 — ünïcödé, 東京 and plain ASCII."
    decoder = IncrementalDecoder(llm.tokenizer)
    pieces = [decoder.push(token) for token in llm.tokenizer.encode(text, add_special_tokens=False)]
    pieces.append(decoder.flush())
    assert "".join(pieces) == text
    assert not any("\ufffd" in piece for piece in pieces)


@pytest.mark.parametrize(
    ("pieces", "stops", "sent", "stopped"),
    [
        (["Hello", " wor", "ld"], ["\n"], ["Hello", " wor", "ld"], False),
        (["Hello", " EN", "D now"], ["END"], ["Hello", " ", ""], True),
        (["ab", "c", "d"], ["cde"], ["ab", "", ""], False),  # "cd" waits: it may become "cde"
        (["xxSTOP"], ["STOP", "xS"], ["x"], True),  # the earliest stop wins
    ],
)
def test_stop_matcher(pieces: list[str], stops: list[str], sent: list[str], stopped: bool) -> None:
    matcher = StopMatcher(stops)
    results = [matcher.feed(piece) for piece in pieces[: len(sent)]]
    assert [text for text, _ in results] == sent
    assert any(found for _, found in results) is stopped
    if not stopped:
        assert "".join(sent) + matcher.flush() == "".join(pieces)
