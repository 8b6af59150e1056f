"""FUNDSTELLE_ENCODER=auto (the default): an index is answered with the encoder variant that built it, whatever
variant this machine would choose for a new one (question and passage vectors must come from the same variant)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.documents import Article, Passage
from core.settings import Settings
from engine.local import LocalEngine
from models.encoders import load_encoder
from store.index import Index
from store.store import Prepared


@dataclass
class RecordedModel:
    """What an index records of its encoder (its vectors here are random: nothing is embedded)."""

    fingerprint: str
    dim: int = 384
    name: str = "multilingual-e5-small"


def test_an_existing_index_is_answered_by_the_variant_that_built_it(tmp_path):
    for variant in ("onnx-int8", "torch"):
        built = load_encoder(Settings(encoder=variant))  # no model loads: the fingerprint reads the files
        folder = tmp_path / variant
        index = Index.open(folder, RecordedModel(built.fingerprint), create=True)
        text = "Nordkorea hat Soldaten nach Russland geschickt."
        vector = np.random.default_rng(0).standard_normal((1, 384)).astype(np.float32)
        with index.write_lock():
            index.store.upsert([Prepared(Article(doc_id="a", title="T", text=text),
                                         [Passage("a", 0, 1, 0, len(text), text)], vector / np.linalg.norm(vector),
                                         [["nordkorea"]])], meta=index.model_meta())
        index.close()
        engine = LocalEngine(Settings(index_dir=folder, encoder="auto"))
        assert engine.encoder.encoder == variant and engine.encoder.fingerprint == built.fingerprint
        engine.index.close()
