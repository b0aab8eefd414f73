"""``tiny-caption``: a random-weight BLIP captioner built offline.

The folder it writes has the same files as ``Salesforce/blip-image-captioning-base``
(config, generation config, safetensors weights, a WordPiece BERT tokenizer
and a BLIP image processor), so the backend loads both with ``from_pretrained``."""

from __future__ import annotations

from pathlib import Path

from aptmagic.inference.tiny import TINY_SEED, register_builtin

IMAGE_SIZE = 32
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
DECODER_BOS = "[DEC]"  # BLIP starts every caption with this token, as the real tokenizer does
CAPTION_WORDS = """
a an the of on in with and at by near under over next to two three some
dog cat man woman person people child boy girl car street road table room
tree trees sky water beach field city house boat bird horse plate food pizza
bike train bus snow grass mountain river lake park bench window door wall
sitting standing walking running holding looking playing riding eating lying
red blue green white black yellow brown small large old young tall wooden
sunny cloudy night day light dark picture photo view close up group front
""".split()  # noqa: SIM905


def caption_vocab() -> list[str]:
    """Special tokens, caption words, then letters and ``##`` pieces so any word can be spelt."""
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    tokens = [*SPECIAL_TOKENS, *CAPTION_WORDS, *letters, *(f"##{c}" for c in letters), ".", ",", DECODER_BOS]
    return list(dict.fromkeys(tokens))


@register_builtin("tiny-caption")
def build_tiny_caption(folder: Path) -> None:
    import torch
    from transformers import BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipProcessor, GenerationConfig
    from transformers.models.blip.image_processing_pil_blip import BlipImageProcessorPil

    (folder / "vocab.txt").write_text("\n".join(caption_vocab()) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer.from_pretrained(str(folder), bos_token=DECODER_BOS, model_max_length=64)
    (folder / "vocab.txt").unlink()  # the processor writes the tokenizer back in full below
    image_processor = BlipImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    processor = BlipProcessor(image_processor=image_processor, tokenizer=tokenizer)  # type: ignore[no-untyped-call]

    ids = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.sep_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    torch.manual_seed(TINY_SEED)
    config = BlipConfig(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "image_size": IMAGE_SIZE,
            "patch_size": 16,
            "projection_dim": 32,
        },
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "encoder_hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "max_position_embeddings": 64,
            "projection_dim": 32,
            "sep_token_id": tokenizer.sep_token_id,
            **ids,
        },
        projection_dim=32,
        image_text_hidden_size=32,
    )
    config.decoder_start_token_id = tokenizer.bos_token_id
    model = BlipForConditionalGeneration(config)
    # Random weights often pick [SEP] first; a minimum length makes every caption say something.
    model.generation_config = GenerationConfig(  # type: ignore[no-untyped-call]
        decoder_start_token_id=tokenizer.bos_token_id, min_new_tokens=4, max_new_tokens=12, **ids
    )
    model.save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)
