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


def vectors_made_by(encoder: Encoder) -> str:
    """Who makes ``encoder``'s vectors: :attr:`models.encoders.SentenceEncoder.vectors_id` (the fingerprint, with a
    bulk variant's when it has one), else the fingerprint (a stand-in encoder). Caches of vectors key on this, so
    a bulk variant's vectors are cached apart; an index's compatibility stays on the fingerprint."""
    return getattr(encoder, "vectors_id", encoder.fingerprint)
