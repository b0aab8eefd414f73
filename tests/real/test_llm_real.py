"""Real SmolLM2-135M-Instruct (a Q4_1 GGUF) through the transformers-llm backend and the
caption rewriter: answers have to be right, not just well-formed.

Dequantising the GGUF takes about 20-30 s, so the model is loaded once and every check
runs in one test: under pytest-xdist, tests of one module may land on different workers,
and each worker would load its own copy."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aptmagic.inference.base import BackendEnv, InferenceBackend
from aptmagic.inference.params import SummarizeParams, TextParams
from aptmagic.inference.spec import ModelSpec
from aptmagic.inference.transformers_caption import TransformersCaption, word_limit
from tests.real.conftest import SMOLLM2, Recorder

PARAGRAPH = (
    "The Rhine is one of the major rivers of Europe. It rises in the Swiss Alps, flows through Lake Constance, "
    "and forms part of the border between Germany and France before it turns north. Along its course lie "
    "important cities such as Basel, Strasbourg, Cologne and Rotterdam. For centuries the Rhine has carried "
    "barges loaded with coal, grain and steel, and today it is still one of the busiest inland waterways in the "
    "world. Its valley is also known for vineyards and castles, which draw many tourists every summer."
)
DESCRIPTION = "a brown dog running on a sandy beach with a red ball in its mouth"
CHAT_MARKUP = re.compile(r"<\|im_(start|end)\|>")


def timed(label: str, started: float, text: str | None) -> None:
    print(f"\n{label}: {time.perf_counter() - started:.2f}s {text!r}")


def check_chat_answers_a_factual_question(llm: InferenceBackend) -> None:
    recorder = Recorder()
    params = TextParams(
        messages=[{"role": "user", "content": "What is the capital of France?"}], max_tokens=40, temperature=0.0
    )
    started = time.perf_counter()
    result = llm.run(params, recorder.ctx)
    timed("chat", started, result.text)
    assert result.text is not None and "Paris" in result.text
    assert result.data["finish_reason"] == "stop"  # the turn ends at the chat template's end token
    assert not CHAT_MARKUP.search(result.text)
    assert "".join(recorder.texts("token")) == result.text


def check_sampled_chat_is_repeatable_with_a_seed(llm: InferenceBackend) -> None:
    params = TextParams(
        messages=[{"role": "user", "content": "Name a fruit that is yellow."}], max_tokens=16, temperature=0.8
    )
    first = llm.run(params, Recorder(seed=7).ctx).text
    again = llm.run(params, Recorder(seed=7).ctx).text
    assert first and first == again


def check_summary_is_shorter_and_keeps_the_key_terms(llm: InferenceBackend) -> None:
    started = time.perf_counter()
    result = llm.run(SummarizeParams(text=PARAGRAPH, length="short", style="paragraph"), Recorder().ctx)
    timed("summary", started, result.text)
    summary = result.text or ""
    assert 0 < len(summary.split()) < len(PARAGRAPH.split()) / 2
    assert "Rhine" in summary
    terms = ("Europe", "Alps", "Germany", "France", "river", "waterway")
    assert any(term.lower() in summary.lower() for term in terms), summary
    assert not CHAT_MARKUP.search(summary)


def check_caption_rewriter_keeps_the_tone(llm: InferenceBackend, models_dir: Path) -> None:
    @contextmanager
    def use_model(model_id: str) -> Iterator[InferenceBackend]:
        assert model_id == SMOLLM2.id
        yield llm

    spec = ModelSpec(
        id="captioner",
        task="caption",
        backend="transformers-caption",
        source="builtin:tiny-caption",
        options={"rewriter": SMOLLM2.id},
    )
    captioner = TransformersCaption(spec, BackendEnv(models_dir=models_dir, use_model=use_model))
    captions = {}
    for tone in ("formal", "playful"):
        started = time.perf_counter()
        # The rewrite stage on a fixed description (the random-weight captioner would describe nothing real).
        text, rewriter = captioner._rewrite(DESCRIPTION, tone, "short", False, None, Recorder(seed=1).ctx, 3)
        timed(f"rewrite {tone}", started, text)
        assert rewriter == SMOLLM2.id  # written by the model, not the plain-description fallback
        assert 0 < len(text.split()) <= word_limit("short"), text
        assert "dog" in text.lower(), text  # keeps to the description
        captions[tone] = text
    assert captions["formal"] != captions["playful"]


def test_smollm2_chat_summary_and_caption_rewrites(smollm2: InferenceBackend, models_dir: Path) -> None:
    check_chat_answers_a_factual_question(smollm2)
    check_sampled_chat_is_repeatable_with_a_seed(smollm2)
    check_summary_is_shorter_and_keeps_the_key_terms(smollm2)
    check_caption_rewriter_keeps_the_tone(smollm2, models_dir)
