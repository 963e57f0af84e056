"""Tiny random models with MiniLM's tokenizer, saved as local folders: they test the loading
and wiring of the Hugging Face black boxes without the network."""

import torch
from transformers import (
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    CLIPConfig,
    CLIPModel,
    LlamaConfig,
    LlamaForCausalLM,
)

from fedbbpt_lite.blackbox.text_encoder import minilm_path


def save_tiny_lm(folder, kind: str) -> str:
    """A random one-layer masked (BERT) or causal (Llama) LM with MiniLM's tokenizer."""
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    if kind == "masked":
        config = BertConfig(
            vocab_size=tokenizer.vocab_size,
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            architectures=["BertForMaskedLM"],
        )
        model = BertForMaskedLM(config)
    else:
        config = LlamaConfig(
            vocab_size=tokenizer.vocab_size,
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            intermediate_size=32,
            architectures=["LlamaForCausalLM"],
            pad_token_id=tokenizer.pad_token_id,
        )
        model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def save_tiny_clip(folder, image_size: int = 32) -> str:
    """A random one-layer CLIP for images of image_size pixels, with MiniLM's tokenizer."""
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    small = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1}
    small["num_attention_heads"] = 2
    config = CLIPConfig(
        text_config={
            **small,
            "vocab_size": tokenizer.vocab_size,
            "max_position_embeddings": 128,
            "bos_token_id": tokenizer.cls_token_id,
            "eos_token_id": tokenizer.sep_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        vision_config={**small, "image_size": image_size, "patch_size": image_size // 4},
        projection_dim=8,
    )
    CLIPModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)
