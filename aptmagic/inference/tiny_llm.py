"""The tiny random-weight chat LLM: a Qwen2-architecture causal LM with a small
byte-level BPE tokenizer trained on a paragraph of built-in text.

Its outputs are gibberish by design. The generation config suppresses the
end-of-text and chat-marker tokens and every token that is not printable
ASCII, so a run always produces readable characters up to ``max_tokens``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aptmagic.inference.tiny import TINY_SEED, register_builtin

CONTEXT_TOKENS = 1024
VOCAB_SIZE = 640
EOS = "<|im_end|>"
PAD = "<|endoftext|>"
SPECIAL_TOKENS = [PAD, "<|im_start|>", EOS]
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
# The same split as Qwen2's tokenizer, before the byte-level mapping.
PRETOKENIZE_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

TRAINING_TEXT = """\
A small model can still learn the shape of words. The quick brown fox jumps over the lazy dog.
Summaries are short; stories are long. Write a haiku about rain, then a list of three things to pack.
The lighthouse keeper lit the lamp at dawn and wrote in the logbook: calm sea, light wind, no ships.
Questions and answers, user and assistant, system prompts and replies: this is how a chat goes.
Numbers like 1, 2, 3, 10, 42 and 2024 appear in text, as do dates, times and prices ($9.99).
- bullet points start with a dash
- each one holds a single idea
TL;DR: keep it brief, keep it clear, and stop when you are done.
"""


def train_tokenizer() -> Any:
    """A byte-level BPE tokenizer trained in milliseconds, wrapped for transformers."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(TRAINING_TEXT.splitlines(keepends=True) * 4, trainer=trainer)
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=None,
        model_max_length=CONTEXT_TOKENS,
        chat_template=CHAT_TEMPLATE,
        clean_up_tokenization_spaces=False,
    )


def unprintable_token_ids(tokenizer: Any) -> list[int]:
    """Special tokens, and tokens whose bytes are not printable ASCII (or newline)."""
    special = set(tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS))
    ids = []
    for token_id in range(len(tokenizer)):
        text = tokenizer.decode([token_id], skip_special_tokens=False)
        printable = all(ch.isascii() and (ch.isprintable() or ch == "\n") for ch in text)
        if token_id in special or not text or not printable:
            ids.append(token_id)
    return ids


@register_builtin("tiny-llm")
def build_tiny_llm(folder: Path) -> None:
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    tokenizer = train_tokenizer()
    eos_id = tokenizer.convert_tokens_to_ids(EOS)
    pad_id = tokenizer.convert_tokens_to_ids(PAD)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=CONTEXT_TOKENS,
        tie_word_embeddings=True,
        initializer_range=0.2,
        bos_token_id=None,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
    )
    torch.manual_seed(TINY_SEED)
    model = Qwen2ForCausalLM(config).eval()  # type: ignore[no-untyped-call]
    model.generation_config = GenerationConfig(  # type: ignore[no-untyped-call]
        eos_token_id=[eos_id, pad_id],
        pad_token_id=pad_id,
        suppress_tokens=unprintable_token_ids(tokenizer),
    )
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
