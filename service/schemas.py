"""Request and response shapes of the HTTP API (the public contract) and of `fundstelle ask --json`."""

from __future__ import annotations

import re
from datetime import date
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
from indexer.ingest.schema import valid_unicode
from retrieval.followup import MAX_HISTORY
from retrieval.hits import Answer
from retrieval.ordering import Sort

QUESTION_MAX = 1000  # characters of a question
TOP_K_MAX = 50  # passages in one answer
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


class AskFilters(BaseModel):
    """Each condition optional; all given must hold. Unknown fields are refused (a typo must not
    silently widen the search)."""

    model_config = ConfigDict(extra="forbid")

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


class AskRequest(BaseModel):
    question: Annotated[str, Strict(), Field(min_length=1, max_length=QUESTION_MAX)]
    top_k: Annotated[int, Strict(), Field(ge=1, le=TOP_K_MAX)] = 5
    filters: AskFilters | None = Field(None, description="Only passages of articles that match all given conditions.")
    sort: Sort = Field(Sort.RELEVANCE,
                       description="`relevance` (best first) or `date` (the same passages, newest first).")
    history: list[Annotated[str, Strict(), Field(min_length=1, max_length=QUESTION_MAX)]] = Field(
        default_factory=list, max_length=MAX_HISTORY,
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
    answer_found: bool = Field(True, description="False when nothing in the archive answers the question: the "
                               "passages are then only the nearest ones.")
    partial: bool = Field(False, description="True when a sharded archive answered without some of its shards.")
    missing_shards: list[int] = Field(default_factory=list, description="The shards that did not answer.")

    @classmethod
    def from_answer(cls, answer: Answer) -> AskResponse:
        return cls(question=answer.question, took_ms=answer.took_ms, answer_found=answer.answer_found,
                   partial=answer.partial,
                   missing_shards=list(answer.missing_shards), passages=[
            PassageHit(
                rank=rank, score=round(hit.score, 6), passage_id=p.id, text=p.text,
                highlights=[Highlight(start=s, end=e) for s, e in hit.highlights],
                confidence=round(hit.confidence, 4),
                citation=Citation(doc_id=p.doc_id, title=p.title, source=p.source, published=p.published,
                                  url=p.url, paragraph=p.paragraph, char_start=p.char_start, char_end=p.char_end),
            )
            for rank, hit in enumerate(answer.hits, start=1)
            for p in (hit.passage,)
        ])


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
    passages: int


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


class Document(BaseModel):
    doc_id: str
    title: str
    source: str | None
    published: str | None
    url: str | None
    text: str
    passages: list[PassageRef] = Field(default_factory=list, description="Where the indexed passages lie in text.")


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
