"""The service's settings: the index settings plus what only the HTTP service reads."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr

from core.settings import Settings


class ServiceSettings(Settings):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # Larger request bodies get 413 before they are read.
    max_body_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    # Write routes need this bearer token; without it they are refused (safe by default).
    api_token: SecretStr | None = None
    # When set, read routes need it (or the write token) too.
    read_token: SecretStr | None = None


@lru_cache
def get_settings() -> ServiceSettings:
    return ServiceSettings()
