"""Real SmolLM2-135M-Instruct (a Q4_1 GGUF) through the transformers-llm backend:
answers have to be right, not just well-formed."""

from __future__ import annotations

import re
import time

import pytest

from aptmagic.inference.base import InferenceBackend
from aptmagic.inference.params import SummarizeParams, TextParams
from tests.real.conftest import Recorder

pytestmark = pytest.mark.xdist_group("smollm2")

PARAGRAPH = (
    "The Rhine is one of the major rivers of Europe. It rises in the Swiss Alps, flows through Lake Constance, "
    "and forms part of the border between Germany and France before it turns north. Along its course lie "
    "important cities such as Basel, Strasbourg, Cologne and Rotterdam. For centuries the Rhine has carried "
    "barges loaded with coal, grain and steel, and today it is still one of the busiest inland waterways in the "
    "world. Its valley is also known for vineyards and castles, which draw many tourists every summer."
)


def test_chat_answers_a_factual_question(smollm2: InferenceBackend) -> None:
    recorder = Recorder()
    params = TextParams(
        messages=[{"role": "user", "content": "What is the capital of France?"}], max_tokens=40, temperature=0.0
    )
    started = time.perf_counter()
    result = smollm2.run(params, recorder.ctx)
    print(f"\nchat: {time.perf_counter() - started:.2f}s {result.text!r}")
    assert result.text is not None and "Paris" in result.text
    assert result.data["finish_reason"] == "stop"  # the turn ends at the chat template's end token
    assert "<|im_end|>" not in result.text and "<|im_start|>" not in result.text
    assert "".join(recorder.texts("token")) == result.text


def test_sampled_chat_is_repeatable_with_a_seed(smollm2: InferenceBackend) -> None:
    params = TextParams(
        messages=[{"role": "user", "content": "Name a fruit that is yellow."}], max_tokens=16, temperature=0.8
    )
    first = smollm2.run(params, Recorder(seed=7).ctx).text
    again = smollm2.run(params, Recorder(seed=7).ctx).text
    assert first and first == again


def test_summary_is_shorter_and_keeps_the_key_terms(smollm2: InferenceBackend) -> None:
    started = time.perf_counter()
    result = smollm2.run(SummarizeParams(text=PARAGRAPH, length="short", style="paragraph"), Recorder().ctx)
    print(f"\nsummary: {time.perf_counter() - started:.2f}s {result.text!r}")
    summary = result.text or ""
    assert 0 < len(summary.split()) < len(PARAGRAPH.split()) / 2
    assert "Rhine" in summary
    kept = {term for term in ("Europe", "Alps", "Germany", "France", "river", "waterway") if term.lower() in summary.lower()}
    assert len(kept) >= 1, summary
    assert not re.search(r"<\|im_(start|end)\|>", summary)
