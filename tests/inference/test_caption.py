"""The transformers-caption backend on tiny-caption, with the real tiny-llm as rewriter.

Both models are built offline, saved with save_pretrained and loaded with
from_pretrained, through a ModelCache wired like the app's."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from aptmagic.inference.base import BackendEnv, InferenceError, InferenceResult, InputFile, JobCanceled, RunContext
from aptmagic.inference.cache import ModelCache
from aptmagic.inference.params import CaptionParams, Tone
from aptmagic.inference.registry import ModelRegistry, build_registry
from aptmagic.inference.tiny import ensure_builtin
from aptmagic.inference.transformers_caption import (
    TONE_GUIDES,
    TONE_TEMPERATURES,
    TransformersCaption,
    clean_base_caption,
    clean_rewrite,
    end_at_sentence,
    rewrite_messages,
    system_prompt,
    token_budget,
    trim_words,
    user_prompt,
    word_limit,
)

TONES: tuple[Tone, ...] = ("neutral", "playful", "formal", "poetic", "marketing")
SOURCE_ID = "a" * 32


def png(color: tuple[int, int, int] = (30, 160, 90)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), color).save(buffer, "PNG")
    return buffer.getvalue()


class Models:
    """A registry and warm-model cache like the app's, recording what the rewriter is asked."""

    def __init__(self, models_dir: Path) -> None:
        self.registry: ModelRegistry = build_registry([], {}, demo=True)
        self.cache = ModelCache(10**10, lambda spec: self.registry.create_backend(spec, self.env))
        self.env = BackendEnv(models_dir=models_dir, use_model=self.use_model)
        self.requests: list[tuple[str, Any]] = []
        self.stub_text: str | None = None  # when set, borrowed models answer this without running

    @contextmanager
    def use_model(self, model_id: str) -> Iterator[Any]:
        with self.cache.use(self.registry.get(model_id)) as backend:
            yield Recorder(backend, model_id, self)


class Recorder:
    def __init__(self, backend: Any, model_id: str, models: Models) -> None:
        self.backend = backend
        self.spec = backend.spec
        self.model_id = model_id
        self.models = models

    def run(self, params: Any, ctx: RunContext) -> Any:
        self.models.requests.append((self.model_id, params))
        if self.models.stub_text is not None:
            return InferenceResult(text=self.models.stub_text)
        return self.backend.run(params, ctx)


@pytest.fixture(scope="module")
def models(models_dir: Path) -> Iterator[Models]:
    models = Models(models_dir)
    yield models
    models.cache.unload_all()


@pytest.fixture(scope="module")
def captioner(models: Models) -> Iterator[Any]:
    with models.cache.use(models.registry.get("tiny-caption")) as backend:
        yield backend


@pytest.fixture(scope="module")
def plain_captioner(models: Models) -> Iterator[TransformersCaption]:
    """tiny-caption with no rewriter: the caption is BLIP's description."""
    spec = models.registry.get("tiny-caption").model_copy(update={"id": "tiny-caption-plain", "options": {}})
    backend = TransformersCaption(spec, models.env)
    backend.setup()
    yield backend
    backend.unload()


def run_caption(
    backend: Any, seed: int = 7, data: bytes | None = None, media_kind: str = "image", **params: Any
) -> Any:
    source = InputFile(SOURCE_ID, data if data is not None else png(), "image/png", media_kind)
    steps: list[tuple[int, int]] = []
    ctx = RunContext(
        "job", seed, on_step=lambda step, total: steps.append((step, total)), load_input=lambda _id: source
    )
    result = backend.run(CaptionParams(source=SOURCE_ID, **params), ctx)
    result.data["_steps"] = steps
    return result


def test_tiny_caption_is_saved_like_a_hub_model(models_dir: Path) -> None:
    from transformers import BlipForConditionalGeneration, BlipProcessor

    folder = ensure_builtin("tiny-caption", models_dir)
    names = {path.name for path in folder.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors", "processor_config.json"} <= names
    assert not any(name.endswith(".bin") for name in names)
    model = BlipForConditionalGeneration.from_pretrained(folder, use_safetensors=True)
    processor = BlipProcessor.from_pretrained(folder)
    text = model.config.text_config
    assert text.bos_token_id == processor.tokenizer.bos_token_id == processor.tokenizer.convert_tokens_to_ids("[DEC]")
    assert text.sep_token_id == processor.tokenizer.sep_token_id
    assert model.generation_config.decoder_start_token_id == text.bos_token_id
    assert model.generation_config.min_new_tokens
    assert processor.image_processor.size["height"] == model.config.vision_config.image_size


def test_base_caption_without_a_rewriter(plain_captioner: TransformersCaption) -> None:
    result = run_caption(plain_captioner, tone="playful", length="long")
    base = result.data["base_caption"]
    assert base.strip() and "[" not in base and "##" not in base
    assert result.text == trim_words(base[:1].upper() + base[1:], 150)
    assert result.data["rewriter"] is None
    assert (result.data["tone"], result.data["length"]) == ("playful", "long")
    assert result.data["_steps"][0] == (0, 3) and result.data["_steps"][-1] == (3, 3)
    assert run_caption(plain_captioner).data["base_caption"] == base  # the same picture, the same description


def test_int_length_trims_to_that_many_words(captioner: Any, plain_captioner: TransformersCaption) -> None:
    for backend in (captioner, plain_captioner):
        result = run_caption(backend, length=3)
        assert 1 <= len(result.text.split()) <= 3


def test_rewrite_with_the_tiny_llm(models: Models, captioner: Any) -> None:
    models.requests.clear()
    result = run_caption(captioner, seed=11, tone="poetic", length="short")
    assert result.text.strip()
    assert len(result.text.split()) <= 15
    assert result.data["rewriter"] == "tiny-llm"
    assert result.data["base_caption"] and result.text != result.data["base_caption"]
    [(model_id, params)] = models.requests
    assert model_id == "tiny-llm"
    system, user = params.messages
    assert system.role == "system" and TONE_GUIDES["poetic"] in system.content and "15 words" in system.content
    assert user.role == "user" and result.data["base_caption"] in user.content
    assert params.max_tokens == token_budget("short")
    assert params.temperature == TONE_TEMPERATURES["poetic"] and params.seed == 11


def test_tone_changes_the_output_and_the_seed_repeats_it(models: Models, captioner: Any) -> None:
    outputs = {tone: run_caption(captioner, seed=3, tone=tone, length=4).text for tone in TONES}
    assert len(set(outputs.values())) == len(TONES), outputs
    assert run_caption(captioner, seed=3, tone="playful", length=4).text == outputs["playful"]
    assert run_caption(captioner, seed=4, tone="playful", length=4).text != outputs["playful"]


def test_token_budget_follows_the_length(models: Models, captioner: Any) -> None:
    models.requests.clear()
    models.stub_text = "word " * 200
    try:
        texts = [run_caption(captioner, length=length).text for length in ("short", "medium", "long", 12)]
    finally:
        models.stub_text = None
    assert [len(text.split()) for text in texts] == [15, 60, 150, 12]
    budgets = [params.max_tokens for _, params in models.requests]
    assert budgets[0] < budgets[1] < budgets[2]
    assert budgets[3] == token_budget(12) < budgets[1]
    assert budgets[2] <= models.registry.get("tiny-llm").limits["max_max_tokens"]


def test_each_tone_has_its_own_instruction() -> None:
    prompts = {tone: system_prompt(tone, "short") for tone in TONES}
    assert len(set(prompts.values())) == len(TONES)
    assert len(set(TONE_GUIDES.values())) == len(TONES)
    for tone, prompt in prompts.items():
        assert TONE_GUIDES[tone] in prompt
        assert all(TONE_GUIDES[other] not in prompt for other in TONES if other != tone)


def test_the_length_rule_is_in_the_prompt() -> None:
    rules = {length: system_prompt("neutral", length) for length in ("short", "medium", "long", 8, 40)}
    assert len(set(rules.values())) == 5
    assert "one sentence of at most 15 words" in rules["short"]
    assert "two or three sentences" in rules["medium"]
    assert "one paragraph" in rules["long"]
    assert "at most 8 words" in rules[8] and "at most 40 words" in rules[40]
    assert [word_limit(n) for n in ("short", "medium", "long", 8)] == [15, 60, 150, 8]
    assert token_budget("short") < token_budget("medium") < token_budget("long")


def test_video_prompts_carry_the_transcript() -> None:
    system, user = rewrite_messages("a man on a stage", "formal", "short", video=True, transcript="thank you all")
    assert "transcript" in system.content and "video" in system.content
    assert "Keyframe description: a man on a stage" in user.content and "thank you all" in user.content
    assert "no audio track" in user_prompt("a beach", video=True, transcript=None)
    assert "no speech" in user_prompt("a beach", video=True, transcript="")
    assert user_prompt("a beach") == "Image description: a beach"


def test_trim_words() -> None:
    assert trim_words("  one two\nthree ", 5) == "one two three"
    assert trim_words("one two three four five six", 4) == "one two three four…"
    assert trim_words("One two three. Four five six seven", 5) == "One two three."
    assert trim_words("One. Two three four five six", 5) == "One. Two three four five…"  # a sentence of 1 is too short
    assert trim_words("one two three, four", 3) == "one two three…"
    assert len(trim_words("word " * 40, 12).split()) == 12


def test_a_rewrite_cut_by_the_token_budget_ends_at_a_sentence() -> None:
    assert end_at_sentence("A calm lake at dawn. Mist rises over the") == "A calm lake at dawn."
    assert end_at_sentence("Done. One two three four five") == "Done. One two three four five…"
    assert end_at_sentence("no sentence end at all") == "no sentence end at all…"
    assert end_at_sentence("Complete sentence!") == "Complete sentence!"
    assert end_at_sentence("trailing comma,") == "trailing comma…"
    assert end_at_sentence("") == ""


def test_cleanups() -> None:
    assert clean_base_caption("arafed man sitting on a bench") == "man sitting on a bench"
    assert clean_base_caption("##m a  dog") == "m a dog"
    assert (
        clean_rewrite('Here is a playful caption: "Sun, sand and a very good dog."') == "Sun, sand and a very good dog."
    )
    assert clean_rewrite("Caption:  A calm lake\nat dawn.") == "A calm lake at dawn."
    assert clean_rewrite("  ") == ""


def test_cancel_during_the_rewrite(captioner: Any) -> None:
    calls: list[int] = []

    def on_step(step: int, total: int) -> None:
        calls.append(step)
        if calls.count(total - 1) == 2:  # the first token of the rewrite
            raise JobCanceled("job")

    source = InputFile(SOURCE_ID, png(), "image/png", "image")
    ctx = RunContext("job", 1, on_step=on_step, load_input=lambda _id: source)
    with pytest.raises(JobCanceled):
        captioner.run(CaptionParams(source=SOURCE_ID), ctx)


def test_bad_sources_fail_cleanly(captioner: Any) -> None:
    with pytest.raises(InferenceError, match="could not be decoded"):
        run_caption(captioner, data=b"not a picture")
    with pytest.raises(InferenceError, match="audio"):
        run_caption(captioner, media_kind="audio")
