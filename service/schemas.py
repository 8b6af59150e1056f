"""Request and response shapes of the HTTP API (the public contract) and of `fundstelle ask --json`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, Strict, field_validator

QUESTION_MAX = 1000
TOP_K_MAX = 50


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
