"""Evaluation indexes, built through the real indexing pipeline and cached under ``var/eval/<key>``:
the key covers the data, the indexing code and the model, so an index is reused only when
nothing that decides its content changed."""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.documents import Article
from core.settings import Settings
from evaluation.datasets import EvalError
from indexer.pipeline import ArticleIndexer
from models.types import vectors_made_by
from store.index import Index

if TYPE_CHECKING:
    from models.types import Encoder

EVAL_ROOT = Path("var/eval")  # relative to the working directory, like the default index
MARKER = "eval-index.json"
KEEP_CACHED = 4  # cached eval indexes under var/eval (each data set x code version is one)
# The modules whose code decides what is indexed: a change to any of them means a new index.
BUILD_MODULES = ("text.chunking", "text.cleaning", "text.inputs", "text.terms", "text.lines", "text.metadata",
                 "indexer.pipeline", "store.schema", "store.writes")


def build_key(articles: Sequence[Article], settings: Settings, encoder: Encoder) -> str:
    """Identifies an index: the articles, the code and settings that cut and embed them, the model."""
    digest = hashlib.sha256()
    for name in BUILD_MODULES:
        module = importlib.import_module(name)
        digest.update(Path(module.__file__).read_bytes())
    digest.update(f"{settings.passage_target_chars}|{settings.passage_max_chars}|{vectors_made_by(encoder)}".encode())
    if settings.sentence_vectors != "separate":  # (the default keeps the keys indexes were cached under)
        digest.update(f"|sentences:{settings.sentence_vectors}".encode())
    for article in articles:
        digest.update(f"{article.doc_id}:{article.content_hash()}\n".encode())
    return digest.hexdigest()[:16]


def _prune(root: Path, keep: int, spare: Path) -> None:
    """Drop all but the ``keep`` most recently used cached eval indexes (only folders this tool made)."""
    made = sorted((d for d in root.glob("*") if d.is_dir() and d != spare and (d / MARKER).is_file()),
                  key=lambda d: (d / MARKER).stat().st_mtime, reverse=True)
    for old in made[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def _clear(folder: Path) -> None:
    for pattern in ("fundstelle.sqlite3*", "vectors.g*.faiss", "write.lock", MARKER):
        for path in folder.glob(pattern):
            path.unlink()


def open_index(articles: Sequence[Article], encoder: Encoder, settings: Settings, folder: Path | None,
               progress: bool = True, log=print):
    """An index of exactly ``articles`` built with the current code: reused when its key matches."""
    key = build_key(articles, settings, encoder)
    if folder is None:
        folder = EVAL_ROOT / key
        _prune(EVAL_ROOT, keep=KEEP_CACHED - 1, spare=folder)
    folder = Path(folder)
    marker = folder / MARKER
    if marker.exists():
        if json.loads(marker.read_text()).get("key") == key:
            log(f"reusing index {folder}")
            marker.touch()
            return Index.open(folder, encoder), folder
        log(f"index {folder} was built from other data or code: rebuilding it")
        _clear(folder)
    elif (folder / "fundstelle.sqlite3").exists():
        raise EvalError(f"{folder} holds an index that `fundstelle eval` did not build; choose another --index-dir")
    folder.mkdir(parents=True, exist_ok=True)
    index = Index.open(folder, encoder, create=True)
    started = time.perf_counter()
    report = ArticleIndexer(index, settings).run(articles, progress=progress)
    docs, passages = index.counts()
    marker.write_text(json.dumps({"key": key, "articles": docs, "passages": passages,
                                  "seconds": round(time.perf_counter() - started, 1)}))
    log(f"indexed {docs} articles, {passages} passages in {report.seconds:.0f}s into {folder}")
    return index, folder
