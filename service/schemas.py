"""Request and response shapes of the HTTP API (the public contract) and of `fundstelle ask --json`."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    field_validator,
    model_validator,
)

from core.filters import Filters
from indexer.ingest import schema as ingest
from indexer.ingest.schema import valid_unicode
from retrieval.hits import Answer, Hit
from retrieval.ordering import Sort

QUESTION_MAX = 1000  # characters of a question
TOP_K_MAX = 50  # passages in one answer
HISTORY_MAX = 5  # earlier questions of a conversation (retrieval.followup joins an elliptic one with the last)
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _iso_day(value: str) -> str:
    if ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise ValueError(f"must be a date as YYYY-MM-DD, got {value[:40]!r}")


IsoDay = Annotated[str, Strict(), AfterValidator(_iso_day)]


SourceName = Annotated[str, Strict(), StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                       AfterValidator(valid_unicode)]
FilterDocId = Annotated[str, Strict(), Field(min_length=1, max_length=200), AfterValidator(valid_unicode)]


class RequestBody(BaseModel):
    """A request's JSON body: unknown fields are refused with a 422 that names them (a typo such as
    ``"filter"`` or ``"topk"`` must not silently change the request); the schema says
    ``additionalProperties: false``."""

    model_config = ConfigDict(extra="forbid")


class Group(StrEnum):
    PASSAGE = "passage"  # the best passages, however many come from one article (the default)
    ARTICLE = "article"  # one passage per article, its best: "who said what, when" with sort=date


class AskFilters(RequestBody):
    """Each condition optional; all given must hold. Unknown fields are refused (a typo must not
    silently widen the search)."""

    sources: list[SourceName] | None = Field(None, max_length=100, description="Outlets, matched case-insensitively.")
    published_from: IsoDay | None = Field(None, description="First day (inclusive), YYYY-MM-DD.")
    published_to: IsoDay | None = Field(None, description="Last day (inclusive), YYYY-MM-DD.")
    doc_ids: list[FilterDocId] | None = Field(None, max_length=1000)

    @model_validator(mode="after")
    def _ordered(self) -> AskFilters:
        if self.published_from and self.published_to and self.published_from > self.published_to:
            raise ValueError(f"published_from ({self.published_from}) is after published_to ({self.published_to})")
        return self

    def to_filters(self) -> Filters:
        return Filters(
            sources=tuple(self.sources or ()),
            published_from=date.fromisoformat(self.published_from) if self.published_from else None,
            published_to=date.fromisoformat(self.published_to) if self.published_to else None,
            doc_ids=tuple(self.doc_ids or ()),
        )


class AskRequest(RequestBody):
    question: Annotated[str, Strict(), Field(min_length=1, max_length=QUESTION_MAX)]
    top_k: Annotated[int, Strict(), Field(ge=1, le=TOP_K_MAX)] = 5
    filters: AskFilters | None = Field(None, description="Only passages of articles that match all given conditions.")
    sort: Sort = Field(Sort.RELEVANCE,
                       description="`relevance` (best first) or `date` (the same passages, newest first).")
    group: Group = Field(Group.PASSAGE,
                         description="`passage` (the best passages) or `article`: at most one passage per article "
                                     "(its best), at most top_k articles; with sort `date`, a timeline of who said "
                                     "what, when.")
    history: list[Annotated[str, Strict(), Field(min_length=1, max_length=QUESTION_MAX)]] = Field(
        default_factory=list, max_length=HISTORY_MAX,
        description="The conversation's earlier questions, most recent last. An elliptic follow-up "
                    "(\"Und im Jahr davor?\") is searched with the question before it; a self-contained one as it is.")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question must contain text")
        if "\x00" in value:
            raise ValueError("question must not contain NUL characters")
        return value.strip()


class Highlight(BaseModel):
    start: int = Field(description="Offset within the passage text (characters).")
    end: int


class Citation(BaseModel):
    doc_id: str
    title: str
    source: str | None
    published: str | None
    url: str | None
    author: str | None = Field(None, description="The article's author (byline); null when unknown.")
    page: int | None = Field(None, ge=1, description="1-based page of a PDF article where the passage's highlighted "
                             "sentence starts; null for articles that are not paged.")
    paragraph: int = Field(description="1-based number of the paragraph (non-empty line) in the article text "
                           "where the passage starts (a context window may run on into the next one).")
    char_start: int = Field(description="Offset of the passage in the article text: text[char_start:char_end].")
    char_end: int


class PassageHit(BaseModel):
    rank: int
    score: float
    passage_id: int
    text: str
    highlights: list[Highlight]
    citation: Citation
    confidence: float = Field(0.0, ge=0, le=1, description="How surely this passage answers the question, on a "
                              "fixed scale: 0.5 and above counts as an answer.")


class AskResponse(BaseModel):
    question: str
    took_ms: float
    passages: list[PassageHit]
    sort: Sort = Field(Sort.RELEVANCE, description="The order asked for.")
    group: Group = Field(Group.PASSAGE, description="`article`: one passage per article.")
    answer_found: bool = Field(True, description="False when nothing in the archive answers the question: the "
                               "passages are then only the nearest ones.")
    partial: bool = Field(False, description="True when a sharded archive answered without some of its shards.")
    missing_shards: list[int] = Field(default_factory=list, description="The shards that did not answer.")

    @classmethod
    def from_answer(cls, answer: Answer, sort: Sort = Sort.RELEVANCE, group: Group = Group.PASSAGE) -> AskResponse:
        return cls(question=answer.question, took_ms=answer.took_ms, answer_found=answer.answer_found,
                   partial=answer.partial, sort=sort, group=group,
                   missing_shards=list(answer.missing_shards), passages=[
            PassageHit(
                rank=rank, score=round(hit.score, 6), passage_id=p.id, text=p.text,
                highlights=[Highlight(start=s, end=e) for s, e in hit.highlights],
                confidence=round(hit.confidence, 4),
                citation=Citation(doc_id=p.doc_id, title=p.title, source=p.source, published=p.published,
                                  url=p.url, author=p.author, page=_page(hit), paragraph=p.paragraph,
                                  char_start=p.char_start, char_end=p.char_end),
            )
            for rank, hit in enumerate(answer.hits, start=1)
            for p in (hit.passage,)
        ])


def _page(hit: Hit) -> int | None:
    """The page of the passage's first highlighted character (of its start when nothing is highlighted)."""
    return hit.passage.page_of(min((start for start, _ in hit.highlights), default=0))


class SourceSummary(BaseModel):
    source: str
    documents: int = Field(description="Articles from this outlet.")
    first_published: str | None = Field(description="Earliest publication day (YYYY-MM-DD); null if none is dated.")
    last_published: str | None = Field(description="Latest publication day (YYYY-MM-DD); null if none is dated.")


class SourceList(BaseModel):
    sources: list[SourceSummary] = Field(description="Most articles first. Articles without a source are not listed.")


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    source: str | None
    published: str | None
    url: str | None
    author: str | None = None
    passages: int


class DocumentQuery(RequestBody):
    """The query of ``GET /api/documents``: a page of the articles that match all given conditions.
    Unknown parameters are refused, as unknown body fields are."""

    offset: int = Field(0, ge=0, le=10_000_000)
    limit: int = Field(50, ge=1, le=500)
    source: list[SourceName] | None = Field(None, max_length=100, description="Outlets, matched case-insensitively "
                                            "(repeat the parameter for several).")
    since: IsoDay | None = Field(None, description="Published on or after this day (YYYY-MM-DD).")
    until: IsoDay | None = Field(None, description="Published on or before this day (YYYY-MM-DD).")

    @model_validator(mode="after")
    def _ordered(self) -> DocumentQuery:
        if self.since and self.until and self.since > self.until:
            raise ValueError(f"since ({self.since}) is after until ({self.until})")
        return self

    def to_filters(self) -> Filters | None:
        filters = Filters(sources=tuple(self.source or ()),
                          published_from=date.fromisoformat(self.since) if self.since else None,
                          published_to=date.fromisoformat(self.until) if self.until else None)
        return filters if filters.active else None


class DocumentPage(BaseModel):
    total: int
    offset: int
    limit: int
    documents: list[DocumentSummary]


class PassageRef(BaseModel):
    passage_id: int
    paragraph: int
    char_start: int
    char_end: int
    page: int | None = Field(None, ge=1, description="1-based page where the passage starts (PDF articles; else null).")


class Span(BaseModel):
    start: int = Field(description="Offset in the article text (characters).")
    end: int


class Document(BaseModel):
    doc_id: str
    title: str
    source: str | None
    published: str | None
    url: str | None
    author: str | None = Field(None, description="The article's author (byline); null when unknown.")
    place: str | None = Field(None, description="Where the article was written (its dateline); null when unknown.")
    text: str
    passages: list[PassageRef] = Field(default_factory=list, description="Where the indexed passages lie in text.")
    prose: list[Span] = Field(default_factory=list, description="The spans of text that are the article's prose "
                              "(what cleaning kept, what passages come from); the rest of text is what cleaning left "
                              "out: datelines, bylines, teasers, reader comments.")

    @classmethod
    def from_stored(cls, document: dict) -> Document:
        """The store's article (:meth:`store.reads.Reads.document`): ``prose`` comes as [start, end] pairs."""
        return cls(**{**document, "prose": [Span(start=s, end=e) for s, e in document.get("prose") or ()]})


EXAMPLE = {"id": "2025/haushalt-giessen", "title": "Stadtrat beschließt den Haushalt 2025",
           "text": "Gießen, 03.04.2025\n\nDer Stadtrat hat am Montag den Haushalt für 2025 beschlossen: 412 "
                   "Millionen Euro, davon 38 Millionen für die Schulen.",
           "source": "Gießener Anzeiger", "author": "Katharina Mehlhorn", "published": "2025-04-03"}


class ArticleBody(ingest.ArticleBody):
    """An article for PUT (its doc_id is in the URL): ``text`` (plain text, stored as given) or ``html`` (a
    web page or fragment; its article text is extracted and stored), with optional ``title`` (else taken
    from the text), ``source`` (the outlet), ``author``, ``url`` and ``published``. ``id`` may be given
    (the body of a POST, sent again), and must then be the URL's doc_id. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{k: v for k, v in EXAMPLE.items()
                                                                               if k != "id"}]})

    id: ingest.DocId | None = Field(None, description="Optional; if given, the doc_id of the URL.")


class ArticleIn(ingest.ArticleIn):
    """One article to add (the JSONL shape): ``{"id", "text" or "html"}`` plus optional ``title``,
    ``source`` (the outlet), ``author``, ``url`` and ``published``. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})


class WriteResult(BaseModel):
    doc_id: str
    status: Literal["added", "updated", "unchanged", "deleted"]
    passages: int


class ShardReady(BaseModel):
    shard: int
    status: str = Field(description="`ready`, or `unavailable` while its replica restarts.")
    documents: int | None = None
    passages: int | None = None
    generation: int | None = None


class Ready(BaseModel):
    status: str
    documents: int
    passages: int
    generation: int | None = None
    model: str | None = None
    detail: str | None = None
    shards: list[ShardReady] | None = Field(None, description="Each shard of a sharded archive (`serve --ray`).")
