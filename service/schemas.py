"""Request and response shapes of the HTTP API (the public contract) and of `fundstelle ask --json`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, Strict, field_validator

from retrieval.hits import Answer

QUESTION_MAX = 1000  # characters of a question
TOP_K_MAX = 50  # passages in one answer


class AskRequest(BaseModel):
    question: Annotated[str, Strict(), Field(min_length=1, max_length=QUESTION_MAX)]
    top_k: Annotated[int, Strict(), Field(ge=1, le=TOP_K_MAX)] = 5

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
    paragraph: int = Field(description="1-based number of the paragraph (non-empty line) in the article text.")
    char_start: int = Field(description="Offset of the passage in the article text: text[char_start:char_end].")
    char_end: int


class PassageHit(BaseModel):
    rank: int
    score: float
    passage_id: int
    text: str
    highlights: list[Highlight]
    citation: Citation


class AskResponse(BaseModel):
    question: str
    took_ms: float
    passages: list[PassageHit]

    @classmethod
    def from_answer(cls, answer: Answer) -> AskResponse:
        return cls(question=answer.question, took_ms=answer.took_ms, passages=[
            PassageHit(
                rank=rank, score=round(hit.score, 6), passage_id=p.id, text=p.text,
                highlights=[Highlight(start=s, end=e) for s, e in hit.highlights],
                citation=Citation(doc_id=p.doc_id, title=p.title, source=p.source, published=p.published,
                                  url=p.url, paragraph=p.paragraph, char_start=p.char_start, char_end=p.char_end),
            )
            for rank, hit in enumerate(answer.hits, start=1)
            for p in (hit.passage,)
        ])


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


class Ready(BaseModel):
    status: str
    documents: int
    passages: int
    generation: int | None = None
    model: str | None = None
    detail: str | None = None
