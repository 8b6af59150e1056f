"""The protocols of the model layer: what the rest of the product needs from a model."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Encoder(Protocol):
    """What the index, retrieval and evaluation need from a model."""

    name: str
    dim: int
    fingerprint: str

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray: ...

    def encode_passages_with_sentences(
        self, texts: list[str], spans: list[list[tuple[int, int]]], progress: bool = False,
    ) -> tuple[np.ndarray, list[np.ndarray]]: ...
