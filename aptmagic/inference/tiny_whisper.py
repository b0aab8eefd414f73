"""``tiny-whisper``: a random-weight Whisper built offline, for tests and demo mode.

The token layout follows the real multilingual checkpoints: byte-level BPE
tokens, then ``<|endoftext|>``, ``<|startoftranscript|>``, the language tokens,
the task tokens, ``<|notimestamps|>`` as the last special token, then the
timestamp tokens ``<|0.00|>`` .. ``<|30.00|>``. Generation with timestamps
relies on that order (the first timestamp id is ``no_timestamps_token_id + 1``).
Its output is gibberish, but the decoding (languages, timestamps, windows)
runs exactly as it does for openai/whisper-base."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aptmagic.inference.tiny import TINY_SEED, _bytes_to_unicode, register_builtin

TINY_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "ja", "zh")
TIME_PRECISION = 0.02
NUM_TIMESTAMPS = 1501  # <|0.00|> .. <|30.00|>
MAX_TARGET_POSITIONS = 64
MAX_NEW_TOKENS = 16
PRINTABLE = frozenset(" abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,?!'-")
TIMESTAMP_ROW_SCALE = 0.3
"""Shrinks the <|notimestamps|> and timestamp rows of the (tied) output embedding: without
timestamps, greedy decoding of random weights would otherwise pick one of those 1502 tokens
every time and leave no text; with timestamps, Whisper's timestamp rule still interleaves them."""


def special_tokens() -> list[str]:
    languages = [f"<|{code}|>" for code in TINY_LANGUAGES]
    return [
        "<|startoftranscript|>",
        *languages,
        "<|translate|>",
        "<|transcribe|>",
        "<|startoflm|>",
        "<|startofprev|>",
        "<|nospeech|>",
        "<|notimestamps|>",
    ]


def timestamp_tokens() -> list[str]:
    return [f"<|{i * TIME_PRECISION:.2f}|>" for i in range(NUM_TIMESTAMPS)]


def _token_id(tokenizer: Any, token: str) -> int:
    return int(tokenizer.convert_tokens_to_ids(token))


@register_builtin("tiny-whisper")
def build_tiny_whisper(folder: Path) -> None:
    import torch
    from tokenizers import AddedToken
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

    vocab = {char: index for index, char in enumerate(_bytes_to_unicode())}
    vocab["<|endoftext|>"] = len(vocab)
    tokenizer = WhisperTokenizer(vocab=vocab, merges=[], model_max_length=MAX_TARGET_POSITIONS)
    specials = [AddedToken(t, special=True, normalized=False) for t in special_tokens()]
    tokenizer.add_special_tokens({"additional_special_tokens": specials})
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in timestamp_tokens()])
    ids = {token: _token_id(tokenizer, token) for token in [*special_tokens(), "<|endoftext|>"]}
    if tokenizer.all_special_ids[-1] + 1 != tokenizer.convert_tokens_to_ids("<|0.00|>"):
        raise RuntimeError("tiny-whisper: the timestamp tokens must follow the last special token")

    eot = ids["<|endoftext|>"]
    space = vocab[_bytes_to_unicode()[ord(" ")]]

    # Never generate the prompt tokens (as the real checkpoints) nor unprintable bytes, so the
    # gibberish stays readable in a transcript, an SRT or a VTT file.
    byte_chars = _bytes_to_unicode()
    suppressed = [vocab[byte_chars[byte]] for byte in range(256) if chr(byte) not in PRINTABLE]
    # The same specials as the real suppress lists, in their order: <|startofprev|> comes second to last.
    suppressed += [ids[token] for token in special_tokens() if token != "<|notimestamps|>"]
    feature_extractor = WhisperFeatureExtractor(  # type: ignore[no-untyped-call]
        feature_size=80, sampling_rate=16000, chunk_length=30
    )

    torch.manual_seed(TINY_SEED)
    config = WhisperConfig(
        vocab_size=len(tokenizer),
        num_mel_bins=80,
        d_model=64,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        max_source_positions=1500,
        max_target_positions=MAX_TARGET_POSITIONS,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=ids["<|startoftranscript|>"],
        begin_suppress_tokens=None,
        suppress_tokens=None,
    )
    model = WhisperForConditionalGeneration(config)
    with torch.no_grad():
        embeddings = model.get_output_embeddings()  # type: ignore[no-untyped-call]
        embeddings.weight[ids["<|notimestamps|>"] :] *= TIMESTAMP_ROW_SCALE
    model.generation_config = GenerationConfig(  # type: ignore[no-untyped-call]
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        decoder_start_token_id=ids["<|startoftranscript|>"],
        is_multilingual=True,
        lang_to_id={f"<|{code}|>": ids[f"<|{code}|>"] for code in TINY_LANGUAGES},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        no_timestamps_token_id=ids["<|notimestamps|>"],
        prev_sot_token_id=ids["<|startofprev|>"],
        begin_suppress_tokens=[space, eot],
        suppress_tokens=suppressed,
        max_initial_timestamp_index=50,
        max_new_tokens=MAX_NEW_TOKENS,
        return_timestamps=False,
    )
    model.save_pretrained(folder)
    processor = WhisperProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer)  # type: ignore[no-untyped-call]
    processor.save_pretrained(folder)
