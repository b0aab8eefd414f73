"""Chat and summaries with a causal LM loaded by transformers ``from_pretrained``.

Tokens stream as they are made: a streamer running inside ``generate`` (same
thread) decodes each new token, sends the new text as a ``token`` event and
reports the step, so a cancel stops generation between tokens. Stop strings
are held back while they might still be forming, so the streamed text always
adds up to the final text.

Sampling draws from a generator seeded per run, not from torch's global RNG,
so a seed gives the same text even while other jobs run in other threads."""

from __future__ import annotations

import copy
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from aptmagic.inference import tiny_llm  # noqa: F401  (registers the tiny-llm builder)
from aptmagic.inference.base import BackendEnv, InferenceError, InferenceResult, ModelLoadError, RunContext
from aptmagic.inference.params import SummarizeParams, TextParams
from aptmagic.inference.registry import register_backend
from aptmagic.inference.spec import ModelSpec
from aptmagic.inference.torch_base import TorchBackend

DEFAULT_CONTEXT_TOKENS = 2048
MIN_SUMMARY_INPUT_TOKENS = 32
RETOKENIZE_MARGIN = 8  # the cut text may tokenize a little longer inside the prompt
SUMMARY_TEMPERATURE = 0.3  # summaries stay close to the text; the seed still decides
SUMMARY_TOP_P = 0.9
SUMMARY_SYSTEM = (
    "You summarize texts faithfully. Use only what the text says; add no facts, opinions or preamble. "
    "Answer in the language of the text."
)
SUMMARY_SHAPES: dict[tuple[str, str], str] = {
    ("paragraph", "short"): "in one or two sentences",
    ("paragraph", "medium"): "in one paragraph",
    ("paragraph", "long"): "in several paragraphs that cover every main point",
    ("bullets", "short"): "as a bulleted list of 2 to 3 points, each line starting with '- '",
    ("bullets", "medium"): "as a bulleted list of 4 to 6 points, each line starting with '- '",
    ("bullets", "long"): "as a bulleted list of up to 12 points, each line starting with '- '",
    ("tldr", "short"): "as a single line starting with 'TL;DR: ', at most 15 words",
    ("tldr", "medium"): "as a single line starting with 'TL;DR: ', at most 30 words",
    ("tldr", "long"): "as a single line starting with 'TL;DR: ', at most 50 words",
}


def summary_messages(text: str, length: str, style: str) -> list[dict[str, str]]:
    shape = SUMMARY_SHAPES[(style, length)]
    return [
        {"role": "system", "content": SUMMARY_SYSTEM},
        {"role": "user", "content": f'Summarize the text below {shape}.\n\nText:\n"""\n{text}\n"""'},
    ]


class IncrementalDecoder:
    """Decodes a growing token list into text pieces that never change once given.

    Each piece is the difference between decoding a short window with and
    without the newest tokens; a piece ending in an incomplete UTF-8 sequence
    waits for the next token."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.tokens: list[int] = []
        self.prefix_offset = 0
        self.read_offset = 0

    def _decode(self, tokens: list[int]) -> str:
        return str(self.tokenizer.decode(tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False))

    def push(self, token_id: int) -> str:
        self.tokens.append(token_id)
        prefix = self._decode(self.tokens[self.prefix_offset : self.read_offset])
        text = self._decode(self.tokens[self.prefix_offset :])
        if len(text) > len(prefix) and not text.endswith("\ufffd"):
            self.prefix_offset, self.read_offset = self.read_offset, len(self.tokens)
            return text[len(prefix) :]
        return ""

    def flush(self) -> str:
        prefix = self._decode(self.tokens[self.prefix_offset : self.read_offset])
        text = self._decode(self.tokens[self.prefix_offset :])
        self.prefix_offset = self.read_offset = len(self.tokens)
        return text[len(prefix) :]


class StopMatcher:
    """Finds stop strings in streamed text, holding back any tail that might start one."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self.pending = ""

    def feed(self, piece: str) -> tuple[str, bool]:
        """Return (text safe to send, whether a stop string was found)."""
        self.pending += piece
        found = [i for i in (self.pending.find(s) for s in self.stops) if i >= 0]
        if found:
            ready, self.pending = self.pending[: min(found)], ""
            return ready, True
        hold = self._partial_tail()
        ready, self.pending = self.pending[: len(self.pending) - hold], self.pending[len(self.pending) - hold :]
        return ready, False

    def _partial_tail(self) -> int:
        """Length of the longest tail of pending that is a proper prefix of a stop string."""
        for size in range(min(len(self.pending), max((len(s) for s in self.stops), default=1) - 1), 0, -1):
            tail = self.pending[-size:]
            if any(s.startswith(tail) for s in self.stops):
                return size
        return 0

    def flush(self) -> str:
        ready, self.pending = self.pending, ""
        return ready


@dataclass
class TokenStream:
    """What the streamer does with each token, in the generating thread.

    It sends each new piece of text as a ``token`` event and reports each
    token as a step, so ``JobCanceled`` raised by ``ctx.step`` ends
    ``generate`` between tokens. ``stopped`` turns true once a stop string
    appears; the stopping criterion then ends ``generate``."""

    tokenizer: Any
    ctx: RunContext
    total: int
    stops: list[str]
    eos_ids: set[int]
    generated: int = 0
    stopped: bool = False
    last_token: int | None = None
    pieces: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._decoder = IncrementalDecoder(self.tokenizer)
        self._matcher = StopMatcher(self.stops)
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        if not self._prompt_seen:  # generate hands over the prompt first
            self._prompt_seen = True
            return
        for token_id in value.reshape(-1).tolist():
            if self.stopped:
                break  # a token made after the stop string, before generate noticed
            self.generated += 1
            self.last_token = int(token_id)
            self._send(self._decoder.push(int(token_id)))
        self.ctx.step(min(self.generated, self.total), self.total)

    def end(self) -> None:
        if not self.stopped:
            self._send(self._decoder.flush())
        if not self.stopped:
            self._emit(self._matcher.flush())

    def _send(self, piece: str) -> None:
        if not piece:
            return
        ready, self.stopped = self._matcher.feed(piece)
        self._emit(ready)

    def _emit(self, text: str) -> None:
        if text:
            self.pieces.append(text)
            self.ctx.emit("token", {"text": text})

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def finish_reason(self) -> str:
        return "stop" if self.stopped or self.last_token in self.eos_ids else "length"


def _streamer(stream: TokenStream) -> Any:
    from transformers.generation.streamers import BaseStreamer

    class SameThreadStreamer(BaseStreamer):
        def put(self, value: Any) -> None:
            stream.put(value)

        def end(self) -> None:
            stream.end()

    return SameThreadStreamer()


def _stop_criterion(stream: TokenStream) -> Any:
    import torch
    from transformers import StoppingCriteria

    class StopAtStopString(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            return torch.full((input_ids.shape[0],), stream.stopped, dtype=torch.bool, device=input_ids.device)

    return StopAtStopString()


def _seeded_sampler(temperature: float, top_p: float, top_k: int | None, seed: int, device: str) -> Any:
    """A logits processor that samples the next token itself with its own generator.

    It leaves only the chosen token possible, so greedy selection in
    ``generate`` picks it; the global RNG is never touched."""
    import torch
    from transformers import LogitsProcessor, TopKLogitsWarper, TopPLogitsWarper

    generator_device = "cuda" if device.startswith("cuda") else "cpu"
    generator = torch.Generator(device=generator_device).manual_seed(seed)
    warpers: list[LogitsProcessor] = [TopKLogitsWarper(top_k)] if top_k else []
    if top_p < 1.0:
        warpers.append(TopPLogitsWarper(top_p))

    class SeededSampler(LogitsProcessor):
        def __call__(self, input_ids: Any, scores: Any) -> Any:
            scores = scores / temperature
            for warper in warpers:
                scores = warper(input_ids, scores)
            probs = torch.softmax(scores.float(), dim=-1).to(generator_device)
            chosen = torch.multinomial(probs, num_samples=1, generator=generator).to(scores.device)
            only = torch.full_like(scores, float("-inf"))
            return only.scatter_(1, chosen, 0.0)

    return SeededSampler()


def gguf_source(spec: ModelSpec, source: str) -> tuple[str, str | None]:
    """``(folder or hub id, GGUF file name or None)`` for ``from_pretrained(..., gguf_file=...)``.

    A GGUF model is a ``.gguf`` file as the source, option ``gguf_file`` naming
    the file inside the source folder (or hub repository), or a folder holding
    exactly one ``.gguf`` file and no ``config.json``."""
    named = spec.options.get("gguf_file")
    path = Path(source)
    if named:
        found: str | None = str(named)
    elif source.endswith(".gguf"):
        if not path.is_file():
            raise ModelLoadError(f"model {spec.id!r}: no GGUF file at {source!r}")
        source, found = str(path.parent), path.name
    elif path.is_dir() and not (path / "config.json").exists():
        files = sorted(p.name for p in path.glob("*.gguf"))
        if len(files) > 1:
            raise ModelLoadError(
                f"model {spec.id!r}: {source!r} holds several GGUF files ({', '.join(files)}); "
                "name one with options.gguf_file"
            )
        found = files[0] if files else None
    else:
        found = None
    if found and importlib.util.find_spec("gguf") is None:
        raise ModelLoadError(f"model {spec.id!r} is a GGUF file, which needs the gguf package (pip install gguf)")
    return source, found


class TransformersLLM(TorchBackend):
    def __init__(self, spec: ModelSpec, env: BackendEnv) -> None:
        super().__init__(spec, env)
        self.model: Any = None
        self.tokenizer: Any = None

    def setup(self) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        source, gguf_file = gguf_source(self.spec, self.prepare())
        if gguf_file:
            # Tokenizer, chat template and weights all come from the one file; weights are dequantised.
            tokenizer = self.pretrained(AutoTokenizer.from_pretrained, source, gguf_file=gguf_file)
            model = self.pretrained(AutoModelForCausalLM.from_pretrained, source, gguf_file=gguf_file, dtype=self.dtype)
        else:
            tokenizer = self.pretrained(AutoTokenizer.from_pretrained, source)
            model = self.weights(AutoModelForCausalLM.from_pretrained, source)
        if tokenizer.chat_template is None:
            raise ModelLoadError(f"model {self.spec.id!r} has no chat template; an instruct (chat) model is needed")
        self.model = self.place(model).eval()
        self.tokenizer = tokenizer

    def pick_dtype(self) -> Any:
        import torch

        if self.spec.dtype == "auto" and self.device == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16  # the dtype chat models are trained in; float16 may overflow
        return super().pick_dtype()

    @property
    def context_tokens(self) -> int:
        """The longest prompt plus output the model reads (tokenizers give a huge number when unset)."""
        limits = [getattr(self.model.config, "max_position_embeddings", None), self.tokenizer.model_max_length]
        known = [int(n) for n in limits if isinstance(n, int) and 0 < n < 10**7]
        return min(known) if known else DEFAULT_CONTEXT_TOKENS

    def run(self, params: BaseModel, ctx: RunContext) -> InferenceResult:
        with self.oom_is_transient():
            if isinstance(params, TextParams):
                messages = [m.model_dump() for m in params.messages]
                return self._generate(
                    messages, params.max_tokens, params.temperature, params.top_p, list(params.stop), ctx, {}
                )
            if isinstance(params, SummarizeParams):
                messages, extra = self._summary_prompt(params.text, params.length, params.style, params.max_tokens)
                return self._generate(messages, params.max_tokens, SUMMARY_TEMPERATURE, SUMMARY_TOP_P, [], ctx, extra)
            raise InferenceError(f"model {self.spec.id!r} cannot run {type(params).__name__}")

    def _summary_prompt(
        self, text: str, length: str, style: str, max_tokens: int
    ) -> tuple[list[dict[str, str]], dict[str, Any]]:
        """The summary request, with the text cut to what fits the model's context."""
        overhead = len(self._prompt_ids(summary_messages("", length, style)))
        budget = max(MIN_SUMMARY_INPUT_TOKENS, self.context_tokens - overhead - max_tokens - RETOKENIZE_MARGIN)
        text_ids = self.tokenizer.encode(text, add_special_tokens=False)
        extra: dict[str, Any] = {"truncated": len(text_ids) > budget}
        if extra["truncated"]:
            text = self.tokenizer.decode(text_ids[:budget], skip_special_tokens=True).rstrip("\ufffd")
            extra |= {"input_tokens": len(text_ids), "kept_tokens": budget}
        return summary_messages(text, length, style), extra

    def _prompt_ids(self, messages: list[dict[str, str]]) -> list[int]:
        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)
        return list(ids["input_ids"])

    def _generate(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        temperature: float,
        top_p: float,
        stops: list[str],
        ctx: RunContext,
        extra: dict[str, Any],
    ) -> InferenceResult:
        from transformers import LogitsProcessorList

        prompt = self._prompt_ids(messages)
        config, top_k, eos_ids = self._generation_config(min(max_tokens, self._room(prompt)))
        stream = TokenStream(self.tokenizer, ctx, max_tokens, stops, eos_ids)
        processors = LogitsProcessorList()
        if temperature > 0:
            processors.append(_seeded_sampler(temperature, top_p, top_k, ctx.seed, self.device))
        ctx.step(0, max_tokens)
        self._stream(prompt, config, processors, stream)
        usage = {"prompt_tokens": len(prompt), "completion_tokens": stream.generated}
        return InferenceResult(text=stream.text, data={"finish_reason": stream.finish_reason, "usage": usage, **extra})

    def _room(self, prompt: list[int]) -> int:
        """How many tokens the context leaves after ``prompt``; an error when none."""
        room = self.context_tokens - len(prompt)
        if room < 1:
            raise InferenceError(
                f"the prompt is {len(prompt)} tokens; model {self.spec.id!r} reads at most {self.context_tokens}"
            )
        return room

    def _generation_config(self, max_new: int) -> tuple[Any, int | None, set[int]]:
        """The model's generation config made greedy, with the model's top_k and end-of-sequence ids."""
        config = copy.deepcopy(self.model.generation_config)
        top_k = config.top_k
        # Sampling is the seeded sampler's job; generate itself picks the one token it leaves.
        # (None would be refilled from the model's own config, so the neutral values are set.)
        config.temperature, config.top_p, config.top_k = 1.0, 1.0, 50
        config.do_sample = False
        config.max_new_tokens, config.max_length = max_new, None
        eos = config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        # The chat template closes a turn with the tokenizer's end token; a config made
        # from a GGUF file or an older export may name only the base model's end of text.
        if isinstance(self.tokenizer.eos_token_id, int) and self.tokenizer.eos_token_id not in eos_ids:
            eos_ids.add(self.tokenizer.eos_token_id)
            config.eos_token_id = sorted(eos_ids)
        if config.pad_token_id is None and eos_ids:
            config.pad_token_id = min(eos_ids)
        return config, top_k, eos_ids

    def _stream(self, prompt: list[int], config: Any, processors: Any, stream: TokenStream) -> None:
        import torch
        from transformers import StoppingCriteriaList

        input_ids = torch.tensor([prompt], device=self.device)
        with torch.inference_mode():
            self.model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                generation_config=config,
                logits_processor=processors,
                stopping_criteria=StoppingCriteriaList([_stop_criterion(stream)]),
                streamer=_streamer(stream),
            )

    def release(self) -> None:
        self.model = self.tokenizer = None

    def modules(self) -> tuple[Any, ...]:
        return (self.model,)


register_backend("transformers-llm")(TransformersLLM)
