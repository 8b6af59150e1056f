"""The reader as a torch module, for training and for building the serving form.

e5-small (12 layers) reads the pair; its token vectors are mean-pooled (the pooling e5 was trained
with: a [CLS] pooler collapsed in the probes) and a linear head gives one logit: does this sentence
answer the question. Only the upper ``trainable_layers`` layers and the head are trained; the word
embeddings and the lower layers stay e5's, so the committed delta is those layers in fp16 (about
3.5 MB a layer) and the serving build puts them back onto the local e5 folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from models.encoders import base_digest
from models.reader.recipe import RECIPE_FILE, WEIGHTS_FILE

LAYER_PREFIX = "encoder.layer."


class ReaderNetwork(torch.nn.Module):
    def __init__(self, encoder, trainable_layers: int):
        super().__init__()
        self.encoder = encoder
        self.trainable_layers = trainable_layers
        self.head = torch.nn.Linear(encoder.config.hidden_size, 1)
        self.dropout = torch.nn.Dropout(0.1)

    @property
    def first_trained(self) -> int:
        return self.encoder.config.num_hidden_layers - self.trainable_layers

    def freeze(self) -> None:
        """Only the upper layers and the head learn. (Frozen lower layers also cost no backward pass:
        autograd records nothing until the first parameter that needs a gradient.)"""
        for name, param in self.encoder.named_parameters():
            param.requires_grad = _trained(name, self.first_trained)

    def train(self, mode: bool = True):
        super().train(mode)
        if mode:  # the frozen part reads as at serving time (no dropout in it)
            self.encoder.embeddings.eval()
            for layer in self.encoder.encoder.layer[: self.first_trained]:
                layer.eval()
        return self

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """One logit per row (a plain tensor: a per-call output object would keep each step's graph alive,
        see the probes note)."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled)).squeeze(-1)


def _layer_of(name: str) -> int | None:
    """The layer number of an encoder parameter name ("encoder.layer.7.attention..." -> 7), else None."""
    if not name.startswith(LAYER_PREFIX):
        return None
    return int(name[len(LAYER_PREFIX) :].split(".", 1)[0])


def _trained(name: str, first_trained: int) -> bool:
    layer = _layer_of(name)
    return layer is not None and layer >= first_trained


def load_base(folder: Path):
    """e5's BertModel from the local sentence-transformers folder (never a download)."""
    import transformers

    transformers.logging.set_verbosity_error()
    return transformers.AutoModel.from_pretrained(str(folder), local_files_only=True)


def save_delta(network: ReaderNetwork, folder: Path, base: Path, meta: dict) -> Path:
    """Write the trained layers (fp16) and the head (fp32) to ``folder``, with ``meta`` and the base's digest."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"encoder.{name}": param.detach().to(torch.float16).contiguous()
               for name, param in network.encoder.named_parameters()
               if _trained(name, network.first_trained)}
    tensors["head.weight"] = network.head.weight.detach().float().contiguous()
    tensors["head.bias"] = network.head.bias.detach().float().contiguous()
    save_file(tensors, str(folder / WEIGHTS_FILE))
    recipe = {**meta, "trainable_layers": network.trainable_layers, "base_model": base.name,
              "base_digest": base_digest(base)}
    (folder / RECIPE_FILE).write_text(json.dumps(recipe, indent=2, ensure_ascii=False) + "\n")
    return folder / WEIGHTS_FILE


def load_delta(folder: Path, base: Path) -> tuple[ReaderNetwork, dict]:
    """The trained network: e5 from ``base`` with the committed layers and head of ``folder`` put in."""
    from safetensors.torch import load_file

    recipe = json.loads((folder / RECIPE_FILE).read_text())
    if recipe.get("base_digest") != base_digest(base):
        raise ValueError(f"the reader weights in {folder} were trained on another e5 folder than {base} "
                         "(its digest differs); rebuild the e5 folder with `make install`")
    network = ReaderNetwork(load_base(base), recipe["trainable_layers"])
    tensors = load_file(str(folder / WEIGHTS_FILE))
    head = {k[len("head.") :]: v for k, v in tensors.items() if k.startswith("head.")}
    layers = {k[len("encoder.") :]: v.float() for k, v in tensors.items() if k.startswith("encoder.")}
    missing = [n for n, _ in network.encoder.named_parameters()
               if _trained(n, network.first_trained) and n not in layers]
    if missing:
        raise ValueError(f"{folder / WEIGHTS_FILE} lacks {missing[0]} (and {len(missing) - 1} more)")
    network.encoder.load_state_dict(layers, strict=False)
    network.head.load_state_dict(head)
    return network.eval(), recipe
