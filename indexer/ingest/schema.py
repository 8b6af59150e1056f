"""The article input shape shared by JSONL files and the write API."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from core.documents import Article

DOC_ID_MAX = 200
TITLE_MAX = 1000
TEXT_MAX = 2_000_000
HTML_MAX = 10_000_000  # a web page is mostly markup; the request body limit applies first
AUTHOR_MAX = 300
# Letters, digits and a few separators, in segments joined by "/" (a file's path below the folder
# given to `fundstelle index`: "2024/haushalt"). Each segment starts with a letter or digit, so an id
# never starts with "/", never holds "//", "./" or "../" and no control characters: it can never be
# mistaken for a path outside the archive or smuggle bytes into logs and URLs.
DOC_ID_PATTERN = r"^[\w][\w.:@+-]*(?:/[\w][\w.:@+-]*)*$"
DOC_ID_RULES = (f"letters, digits and _ . : @ + -, in segments joined by / (each starting with a letter or digit), "
                f"up to {DOC_ID_MAX} characters, no '..'")


def _iso_date(value: str | None) -> str | None:
    """Dates in the forms news use (2025-05-21, 2025-05-21T08:00:00+02:00, 21.05.2025, 21. Mai 2025,
    May 21, 2025, RFC 2822) become an ISO date (YYYY-MM-DD); anything else is refused."""
    from text.metadata import parse_date

    if value is None or not value.strip():
        return None
    if iso := parse_date(value):
        return iso
    raise ValueError(f"not a date: {value.strip()[:40]!r} (use e.g. 2025-05-21, 21.05.2025 or 21. Mai 2025)")


def _http_url(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if not re.match(r"^https?://[^\s/$.?#][^\s]*$", value.strip(), re.IGNORECASE):
        raise ValueError("url must be an absolute http(s) URL")
    return valid_unicode(value.strip())


def _no_dot_dot(value: str) -> str:
    if ".." in value:
        raise ValueError("doc_id must not contain '..'")
    return value


def valid_unicode(value: str | None) -> str | None:
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
    return valid_unicode(value)


DocId = Annotated[
    str, StringConstraints(min_length=1, max_length=DOC_ID_MAX, pattern=DOC_ID_PATTERN), AfterValidator(_no_dot_dot)
]
Title = Annotated[str, StringConstraints(min_length=1, max_length=TITLE_MAX), AfterValidator(_has_text)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX), AfterValidator(_has_text)]
Html = Annotated[str, StringConstraints(min_length=1, max_length=HTML_MAX), AfterValidator(_has_text)]


class ArticleBody(BaseModel):
    """An article without its id (the id comes from the URL on PUT).

    The article is ``text`` (plain text, stored as given) or ``html`` (a web page or fragment: its
    article text is extracted and stored, as for ``.html`` files). Without a ``title`` the title comes
    from the text (its headline, or the first sentence of its lead); a page's own title, outlet,
    author, date and canonical URL fill in the fields not given. ``source`` is the outlet, ``author``
    the person who wrote it.
    """

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    title: Title | None = None
    text: Text | None = None
    html: Html | None = Field(None, description='A web page (or a fragment of one) instead of "text".')
    source: Annotated[str, StringConstraints(max_length=300), AfterValidator(valid_unicode)] | None = Field(
        None, description="The outlet (newspaper, agency, site); a byline's author goes in author.")
    author: Annotated[str, StringConstraints(max_length=AUTHOR_MAX), AfterValidator(valid_unicode)] | None = None
    url: Annotated[str, StringConstraints(max_length=2000), AfterValidator(_http_url)] | None = None
    published: Annotated[str, StringConstraints(max_length=40), AfterValidator(_iso_date)] | None = None

    @model_validator(mode="after")
    def _text_or_html(self) -> ArticleBody:
        if self.text is None and self.html is None:
            raise ValueError('text: field required; send the article as "text" (plain text) or "html" (a web page)')
        if self.text is not None and self.html is not None:
            raise ValueError('give the article as "text" or as "html", not both')
        if self.html is not None:
            from indexer.ingest.html import extract_page

            page = extract_page(self.html, url=self.url)  # ValueError: no article text in the page
            if len(page.text) > TEXT_MAX:
                raise ValueError(f"html: the extracted text has {len(page.text)} characters; at most {TEXT_MAX}")
            self.text, self.html = page.text, None
            self.title = self.title or (page.title[:TITLE_MAX] if page.title else None)
            self.source = self.source or (page.source[:300] if page.source else None)
            self.author = self.author or (page.author[:AUTHOR_MAX] if page.author else None)
            self.published = self.published or page.published
            self.url = self.url or (page.url if page.url and len(page.url) <= 2000 else None)
        if self.title is None or not self.title.strip():
            from text.metadata import detect_metadata

            self.title = detect_metadata(self.text).title[:TITLE_MAX] or self.text.strip()[:80]
        return self

    def to_article(self, doc_id: str, origin: str | None = None) -> Article:
        text = self.text.replace("\r\n", "\n").replace("\r", "\n")
        return Article(
            doc_id=doc_id, title=self.title.strip(), text=text, source=(self.source or "").strip() or None,
            published=self.published, url=self.url, origin=origin, author=(self.author or "").strip() or None,
        )


class ArticleIn(ArticleBody):
    """One JSONL line or one POST body: ``{"id", "text" or "html"}`` plus optional title and metadata."""

    id: DocId = Field(description="Becomes the doc_id exactly.")

    def to_article(self, doc_id: str | None = None, origin: str | None = None) -> Article:  # type: ignore[override]
        return super().to_article(doc_id or self.id, origin)
