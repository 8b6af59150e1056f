"""``.jsonl``: one article per line, ``{"id", "text" or "html"}`` plus optional metadata.

A line without a usable ``id`` or text is refused, naming the line and the field. A bad optional
field (a date that is no date, a title that is a number, a URL that is none) costs only that field:
the article is indexed without it and a warning names the field and the line. Lines that are not
UTF-8 are decoded with the encoding detected on the first such line (reported once per file).
Fields the article shape does not know are left out and named in a warning, once per name and file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from core.documents import Article
from indexer.ingest.decoding import decoded_as, detect
from indexer.ingest.errors import ReadError
from indexer.ingest.formats.registry import Format, ReadContext, register
from indexer.ingest.schema import DOC_ID_RULES, TEXT_MAX

MAX_LINE_BYTES = 4 * TEXT_MAX + 64 * 1024  # one article with its metadata (UTF-8: at most 4 bytes a character)
BINARY_SNIFF_BYTES = 8192
OPTIONAL_FIELDS = ("title", "source", "author", "url", "published")


class _LineDecoder:
    """UTF-8 line by line; a line that is not is decoded with the encoding detected on the first such
    line (detected again where that one does not fit)."""

    def __init__(self) -> None:
        self.encoding: str | None = None
        self.announced = False

    def __call__(self, raw: bytes) -> tuple[str, str | None]:
        """The line's text and a warning the first time a detected encoding is used."""
        if b"\x00" in raw:
            raise ValueError("binary data (NUL bytes)")
        try:
            return raw.decode("utf-8"), None
        except UnicodeDecodeError as exc:
            first_bad = exc.start
        if self.encoding is not None:
            try:
                return raw.decode(self.encoding), None
            except UnicodeDecodeError:
                pass
        detected = detect(raw)
        if detected is None:
            raise ValueError(f"not valid UTF-8 (byte {first_bad}), and no other text encoding fits")
        announce = not self.announced or detected.encoding != self.encoding
        self.encoding, self.announced = detected.encoding, True
        note = f"{decoded_as(detected.encoding)}; so is every later line of this file that is not UTF-8"
        return detected.text, note if announce else None


def _numbered_lines(fh: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of every line that is not blank; a UTF-8 BOM on the first is dropped."""
    for number, raw in enumerate(fh, start=1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        if raw.strip():
            yield number, raw


def line_ids(path: Path) -> Iterator[tuple[str, str]]:
    """(``file:line``, id) of each line that names an id: a quick first pass, so that two inputs of
    one run that claim one doc_id are found before either is written. Lines it cannot read are
    left to the reader, which reports them."""
    decoder = _LineDecoder()
    try:
        with path.open("rb") as fh:
            if b"\x00" in fh.read(BINARY_SNIFF_BYTES):
                return
            fh.seek(0)
            for number, raw in _numbered_lines(fh):
                if len(raw) > MAX_LINE_BYTES:
                    continue
                try:
                    item = json.loads(decoder(raw)[0])
                except ValueError:
                    continue
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    yield f"{path}:{number}", item["id"]
    except OSError:
        return


def _error(exc: ValidationError) -> str:
    """The first problem, in words: field, then what is wrong with it."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    if err["type"] == "string_pattern_mismatch" and loc == "id":
        return f"id: {str(err.get('input'))[:60]!r} is not a doc_id; use {DOC_ID_RULES}"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{loc}: {message}" if loc else message


def _article(text: str, where: str, known_unknown: set[str]) -> Article | ReadError:
    """One line as an article: bad optional fields dropped (with a warning each), unknown fields named."""
    from indexer.ingest.schema import ArticleIn

    try:
        data = json.loads(text)
    except ValueError as exc:
        return ReadError(where, f"invalid JSON ({getattr(exc, 'msg', exc)}, column {getattr(exc, 'colno', '?')})")
    if not isinstance(data, dict):
        return ReadError(where, f"not a JSON object but {type(data).__name__}; each line is one article "
                                '{"id": …, "text": …}')
    warnings = []
    unknown = sorted(set(data) - set(ArticleIn.model_fields) - known_unknown)
    if unknown:
        known_unknown.update(unknown)
        warnings.append(f"field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} not known; left out "
                        "(said once per file)")
    try:
        item = ArticleIn.model_validate(data)
    except ValidationError as exc:
        at_fault = [str(err["loc"][0]) if err.get("loc") else "" for err in exc.errors()]
        if not set(at_fault) <= set(OPTIONAL_FIELDS):  # the id, the text, or the article as a whole
            return ReadError(where, _error(exc))
        for err, name in zip(exc.errors(), at_fault, strict=True):
            warnings.append(f"{name}: {str(err['msg']).removeprefix('Value error, ')}; indexed without {name}")
        try:
            item = ArticleIn.model_validate({k: v for k, v in data.items() if k not in at_fault})
        except ValidationError as again:
            return ReadError(where, _error(again))
    article = item.to_article(origin=where)
    return replace(article, warnings=tuple(warnings)) if warnings else article


def read_jsonl_file(path: Path, context: ReadContext) -> Iterator[Article | ReadError]:
    """Line by line (a collection may be large); each bad line is reported with its number and skipped."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        yield ReadError(str(path), f"cannot read: {exc.strerror or exc}")
        return
    decoder, unknown, seen_content = _LineDecoder(), set(), False
    with fh:
        try:
            if b"\x00" in fh.read(BINARY_SNIFF_BYTES):
                yield ReadError(str(path), "binary file (contains NUL bytes)")
                return
            fh.seek(0)
            for number, raw in _numbered_lines(fh):
                where = f"{path}:{number}"
                seen_content = True
                if where in context.refused:
                    yield ReadError(where, context.refused[where])
                    continue
                if len(raw) > MAX_LINE_BYTES:
                    yield ReadError(where, f"line too long ({len(raw)} bytes)")
                    continue
                try:
                    text, note = decoder(raw.rstrip(b"\r\n"))
                except ValueError as exc:
                    yield ReadError(where, str(exc))
                    continue
                article = _article(text, where, unknown)
                if note and isinstance(article, Article):
                    article = replace(article, warnings=(note, *article.warnings))
                yield article
        except OSError as exc:
            yield ReadError(str(path), f"cannot read: {exc.strerror or exc}")
            return
    if not seen_content:
        yield ReadError(str(path), "empty file")


FORMAT = register(Format(
    "JSON Lines", (".jsonl",),
    'one article per line: {"id", "text" or "html"} plus optional "title", "source", "author", "url", "published"',
    read_jsonl_file, one_article=False, rank=40, doc_ids=line_ids,
))
