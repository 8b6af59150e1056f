"""The article input shape shared by JSONL files and the write API."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from indexer.documents import Article

DOC_ID_MAX = 200
TITLE_MAX = 1000
TEXT_MAX = 2_000_000
# Letters, digits and a few separators; no slashes, no "..", no control characters, so an
# id can never be mistaken for a path or smuggle bytes into logs and URLs.
DOC_ID_PATTERN = r"^[\w][\w.:@+-]*$"


def _iso_date(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
        return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
    except ValueError:
        raise ValueError("published must be an ISO date like 2024-10-15 or 2024-10-15T04:15:00") from None


def _http_url(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if not re.match(r"^https?://[^\s/$.?#][^\s]*$", value.strip(), re.IGNORECASE):
        raise ValueError("url must be an absolute http(s) URL")
    return _valid_unicode(value.strip())


def _no_dot_dot(value: str) -> str:
    if ".." in value:
        raise ValueError("doc_id must not contain '..'")
    return value


def _valid_unicode(value: str | None) -> str | None:
    """No NUL characters and no lone surrogates (JSON "\\ud800" decodes to one; it cannot be stored)."""
    if value is None:
        return value
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (it contains a lone surrogate)") from None
    return value


def _has_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must contain non-whitespace text")
    return _valid_unicode(value)


DocId = Annotated[
    str, StringConstraints(min_length=1, max_length=DOC_ID_MAX, pattern=DOC_ID_PATTERN), AfterValidator(_no_dot_dot)
]
Title = Annotated[str, StringConstraints(min_length=1, max_length=TITLE_MAX), AfterValidator(_has_text)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX), AfterValidator(_has_text)]


class ArticleBody(BaseModel):
    """An article without its id (the id comes from the URL on PUT)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    title: Title
    text: Text
    source: Annotated[str, StringConstraints(max_length=300), AfterValidator(_valid_unicode)] | None = None
    url: Annotated[str, StringConstraints(max_length=2000), AfterValidator(_http_url)] | None = None
    published: Annotated[str, StringConstraints(max_length=40), AfterValidator(_iso_date)] | None = None

    def to_article(self, doc_id: str, origin: str | None = None) -> Article:
        text = self.text.replace("\r\n", "\n").replace("\r", "\n")
        return Article(
            doc_id=doc_id, title=self.title.strip(), text=text, source=(self.source or "").strip() or None,
            published=self.published, url=self.url, origin=origin,
        )


class ArticleIn(ArticleBody):
    """One JSONL line or one POST body: ``{"id", "title", "text"}`` plus optional metadata."""

    id: DocId = Field(description="Becomes the doc_id exactly.")

    def to_article(self, doc_id: str | None = None, origin: str | None = None) -> Article:  # type: ignore[override]
        return super().to_article(doc_id or self.id, origin)
