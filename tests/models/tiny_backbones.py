"""Tiny random backbones built from configs (no download): a Qwen3 decoder and a BERT encoder.

Both share a word-level tokenizer built with the `tokenizers` library over a small vocabulary.
"""

from __future__ import annotations

from pathlib import Path

WORDS = (
    "i feel fine good happy calm okay tired sad hopeless empty cannot sleep eat focus worthless slow restless "
    "alone crying today work friends family week day night always never sometimes really very not so and the "
    "a to of it is was am my me at with about"
).split()


def build_tokenizer(folder: Path, *, padding_side: str = "right") -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "<eos>"]
    vocab = {w: i for i, w in enumerate(specials + sorted(set(WORDS)))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="<eos>", padding_side=padding_side
    )
    fast.save_pretrained(str(folder))


def vocab_size() -> int:
    return 3 + len(set(WORDS))


def build_tiny_qwen3(folder: Path, *, seed: int = 0, padding_side: str = "left") -> Path:
    """A 2-layer, 32-wide Qwen3 causal LM with random weights, saved as a local HF folder."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    cfg = Qwen3Config(
        vocab_size=vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        max_position_embeddings=256,
        pad_token_id=0,
        eos_token_id=2,
        bos_token_id=2,
        tie_word_embeddings=True,
    )
    folder.mkdir(parents=True, exist_ok=True)
    Qwen3ForCausalLM(cfg).save_pretrained(str(folder))
    build_tokenizer(folder, padding_side=padding_side)
    return folder


def build_tiny_bert(folder: Path, *, seed: int = 0) -> Path:
    """A 2-layer, 32-wide BERT encoder with random weights, saved as a local HF folder."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=128,
        pad_token_id=0,
    )
    folder.mkdir(parents=True, exist_ok=True)
    BertModel(cfg).save_pretrained(str(folder))
    build_tokenizer(folder)
    return folder
