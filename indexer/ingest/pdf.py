"""Read a PDF's text layer (pypdf) as an article: reading order, whole words, paragraphs, page starts.

pypdf gives the text of each page in the order of its content stream, which is the reading order
of PDFs made by word processors, layout programs and LaTeX, line by line with each line's position.
From those lines we rebuild what a reader sees:

- running headers and footers go: a line in the top or bottom band of the page that repeats on
  most pages (digits count as one: "Seite 2 von 5" repeats "Seite 1 von 5"), and bare page
  numbers ("3", "- 3 -", "Seite 3", "3 / 12") in those bands on any page;
- words hyphenated at a line end are joined ("Bundes-" + "regierung" is "Bundesregierung"); a
  hyphen before a capital stays ("CDU-" + "Vorsitzende" is "CDU-Vorsitzende"), and so does a
  suspended one ("Nord-" + "und Südkorea" is "Nord- und Südkorea");
- lines become paragraphs: a paragraph ends at a larger vertical gap, a change of font size, or a
  short line that ends a sentence; a paragraph that runs on to the next page is joined across it.
  Paragraphs are separated by a blank line, as the other readers do, so the cleaner sees one
  paragraph per line;
- where each page starts in the text is kept (``pages``, character offsets), so a citation can
  name the page.

A PDF without any text (a scan) is refused as such; OCR is not done. Pages without text in a PDF
that has some are reported in a warning. Encrypted PDFs open if they need no password.
"""

from __future__ import annotations

import io
import logging
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

# pypdf logs every oddity of a PDF it can read anyway at WARNING; without a handler of the
# application's, Python would print those to stderr beside our own report of the same file.
logging.getLogger("pypdf").addHandler(logging.NullHandler())

MAX_PDF_BYTES = 100 * 1024 * 1024  # a report with images; its text is a small part
BAND = 0.12  # the top and bottom 12 % of a page hold running headers and footers
PAGE_NUMBER = re.compile(
    r"^(?:(?:seite|page|s\.)\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?(?:\s*(?:/|von|of|\|)\s*\d{1,4})?$", re.IGNORECASE,
)
# After a hyphen at a line end, these words show a suspended compound ("Nord- und Südkorea").
SUSPENDING = {"und", "oder", "bis", "sowie", "bzw", "bzw.", "beziehungsweise", "wie", "als", "noch", "respektive",
              "resp.", "u.", "o.", "and", "or", "to", "&"}
SENTENCE_END = (".", "!", "?", ":", "“", "”", '"', "»", "«", ")")
_HYPHENS = ("-", "\u2010", "\u00ad")  # hyphen-minus, hyphen, soft hyphen (never a dash)


@dataclass(frozen=True)
class PdfLine:
    text: str
    y: float | None  # baseline height above the page's bottom edge (None: unknown)
    size: float  # font size in points
    page: int  # 0-based


@dataclass(frozen=True)
class PdfText:
    text: str
    pages: tuple[int, ...]  # where each page starts in ``text``
    title: str | None = None  # the document's own title, where it looks like one
    author: str | None = None  # the document's author, where it looks like a person's name
    empty_pages: tuple[int, ...] = ()  # 1-based numbers of pages without a text layer
    warnings: tuple[str, ...] = field(default=())


def _open(data: bytes):
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:1024].startswith(b"%PDF") and b"%PDF-" not in data[:1024]:
        raise ValueError("not a PDF (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ValueError("encrypted PDF: it needs a password, which indexing does not have")
        len(reader.pages)  # parses the page tree: a broken one fails here, not later
    except ValueError:
        raise
    except (PdfReadError, OSError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"not a readable PDF ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # pypdf on a damaged file can raise almost anything
        if "cryptography" in str(exc) or "AES" in str(exc):
            raise ValueError(f"encrypted PDF that pypdf cannot decrypt here ({exc})") from None
        raise ValueError(f"not a readable PDF ({type(exc).__name__}: {exc})") from None
    return reader


def _squash(value: str) -> str:
    return re.sub(r"\s+", " ", value.replace("\u00a0", " ")).strip()


class _LineCollector:
    """Collects pypdf's text pieces into lines (pypdf ends each line with a newline), each with the
    position and font size of its first visible piece."""

    def __init__(self, page: int):
        self.page = page
        self.lines: list[PdfLine] = []
        self.pieces: list[str] = []
        self.where: tuple[float | None, float] | None = None

    def visit(self, text, cm, tm, font, size) -> None:
        for i, piece in enumerate((text or "").split("\n")):
            if i:
                self.flush()
            if piece.strip() and self.where is None:
                # the text matrix's origin in page space (cm after tm), and the size a reader sees
                y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
                self.where = (y, (size or 0.0) * (abs(tm[3]) or 1.0) * (abs(cm[3]) or 1.0))
            self.pieces.append(piece)

    def flush(self) -> None:
        if (line := _squash("".join(self.pieces))) and self.where is not None:
            self.lines.append(PdfLine(line, self.where[0], round(self.where[1], 1), self.page))
        self.pieces, self.where = [], None


def _page_lines(page, number: int) -> list[PdfLine]:
    """The page's lines in content order."""
    collector = _LineCollector(number)
    page.extract_text(visitor_text=collector.visit)
    collector.flush()
    return collector.lines


def _height(page) -> float | None:
    try:
        box = page.mediabox
        return float(box.top) - float(box.bottom) or None
    except Exception:  # a page without a usable media box: positions are not used
        return None


def _in_band(line: PdfLine, height: float | None, index: int, count: int) -> bool:
    """In the top or bottom band of its page (by position; by order where positions are unknown)."""
    if line.y is not None and height:
        return line.y > height * (1 - BAND) or line.y < height * BAND
    return index < 2 or index >= count - 2


def _running_key(text: str) -> str:
    return re.sub(r"\d+", "#", text).casefold()


def _without_running_lines(pages: list[list[PdfLine]], heights: list[float | None]) -> list[list[PdfLine]]:
    """Pages without running headers, footers and page numbers."""
    banded = [[_in_band(line, heights[p], i, len(lines)) for i, line in enumerate(lines)]
              for p, lines in enumerate(pages)]
    counts: dict[str, int] = {}
    for lines, bands in zip(pages, banded, strict=True):
        for key in {_running_key(line.text) for line, band in zip(lines, bands, strict=True) if band}:
            counts[key] = counts.get(key, 0) + 1
    with_text = sum(1 for lines in pages if lines)
    running = {key for key, n in counts.items() if n >= 2 and 2 * n > with_text}
    return [[line for line, band in zip(lines, bands, strict=True)
             if not (band and (_running_key(line.text) in running or PAGE_NUMBER.match(line.text)))]
            for lines, bands in zip(pages, banded, strict=True)]


def join_lines(first: str, second: str) -> str:
    """Two lines of one paragraph as one: a hyphenated word joined, a suspended hyphen kept."""
    if first.endswith(_HYPHENS) and len(first) > 1 and first[-2].isalpha():
        word = second.split(" ", 1)[0]
        if first.endswith("\u00ad"):
            return first[:-1] + second
        if word[:1].islower() and word.rstrip(",;") not in SUSPENDING:
            return first[:-1] + second  # "Bundes-" + "regierung"
        if word[:1].isupper() or word[:1].isdigit():
            return first + second  # "CDU-" + "Vorsitzende", "Covid-" + "19"
    return f"{first} {second}"


def _typical(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _paragraphs(pages: list[list[PdfLine]]) -> tuple[list[str], list[int]]:
    """The paragraphs, and where each page starts in their text joined by blank lines."""
    lines = [line for page in pages for line in page]
    long_line = sorted(len(line.text) for line in lines)[int(0.8 * (len(lines) - 1))] if lines else 0
    gaps = [a.y - b.y for a, b in zip(lines, lines[1:], strict=False)
            if a.page == b.page and a.y is not None and b.y is not None and abs(a.size - b.size) < 0.5 and a.y > b.y]
    spacing = _typical(gaps)
    paragraphs: list[list[str]] = []  # the lines of each paragraph
    page_starts: list[tuple[int, int]] = []  # (paragraph index, line index in it) where each page starts
    previous: PdfLine | None = None
    for page in pages:
        for i, line in enumerate(page):
            if previous is None or _breaks(previous, line, spacing, long_line):
                paragraphs.append([])
            if i == 0:
                page_starts.append((len(paragraphs) - 1, len(paragraphs[-1])))
            paragraphs[-1].append(line.text)
            previous = line
        if not page:
            page_starts.append((len(paragraphs), 0))  # an empty page starts where the next text will
    texts, offsets = [], []
    for lines_of in paragraphs:
        text, starts = lines_of[0], [0]
        for following in lines_of[1:]:
            joined = join_lines(text, following)
            starts.append(len(joined) - len(following))
            text = joined
        texts.append((text, starts))
    position, paragraph_at = 0, []
    for text, _ in texts:
        paragraph_at.append(position)
        position += len(text) + 2  # "\n\n" between paragraphs
    for paragraph, line in page_starts:
        if paragraph >= len(texts):
            offsets.append(max(0, position - 2))
        else:
            offsets.append(paragraph_at[paragraph] + texts[paragraph][1][line])
    return [text for text, _ in texts], offsets


def _breaks(previous: PdfLine, line: PdfLine, spacing: float, long_line: int) -> bool:
    """Whether ``line`` starts a new paragraph after ``previous``."""
    if abs(previous.size - line.size) >= 0.5:
        return True  # a heading, a caption, the body after a title
    ends_sentence = previous.text.endswith(SENTENCE_END)
    if previous.page != line.page:  # a paragraph runs on to the next page unless the last line ended one
        return ends_sentence and len(previous.text) < 0.85 * long_line
    if spacing and previous.y is not None and line.y is not None:
        gap = previous.y - line.y
        if gap > 1.4 * spacing or gap < -0.5 * spacing:
            return True  # a blank line's height between them, or a jump up (a new column, a box)
    if previous.text.endswith(_HYPHENS) or previous.text.endswith((",", ";")):
        return False
    if ends_sentence and len(previous.text) < 0.85 * long_line:
        return True  # the short last line of a paragraph
    return len(previous.text) < 0.6 * long_line and line.text[:1].isupper()  # a heading above its text


def _title(value) -> str | None:
    title = _squash(str(value or ""))
    if not title or len(title) > 300 or " " not in title or re.search(r"\.(?:docx?|odt|pdf|indd|rtf|tex)$", title, re.I):
        return None
    if re.match(r"^(?:microsoft (?:word|powerpoint)|untitled|unbenannt|dokument\d*|document\d*)\b", title, re.I):
        return None
    return title


def _author(value) -> str | None:
    """The document's author where it reads like a person ("Katharina Mehlhorn"), not a login name."""
    author = _squash(str(value or ""))
    words = author.split()
    return author if 2 <= len(words) <= 6 and not re.search(r"[\d@\\_]", author) else None


def read_pdf(data: bytes | Path) -> PdfText:
    """The text of a PDF, rebuilt as described in the module docstring. Raises ValueError for a
    file that is no readable PDF, an encrypted one, and one without any text (a scan)."""
    if isinstance(data, Path):
        size = data.stat().st_size
        if size > MAX_PDF_BYTES:
            raise ValueError(f"file too large ({size} bytes; a PDF may have at most {MAX_PDF_BYTES})")
        data = data.read_bytes()
    reader = _open(data)
    pages, heights, warnings, failed = [], [], [], []
    for number, page in enumerate(reader.pages):
        try:
            pages.append(_page_lines(page, number))
        except Exception as exc:  # one damaged page must not cost the others
            pages.append([])
            failed.append(number + 1)
            warnings.append(f"page {number + 1}: its text cannot be read ({type(exc).__name__}); left out")
        heights.append(_height(page))
    if not any(pages):
        if failed:
            raise ValueError("no page's text could be read")
        raise ValueError("no text layer: a scanned PDF? OCR is not supported")
    empty = tuple(n + 1 for n, lines in enumerate(pages) if not lines and n + 1 not in failed)
    if empty:
        listed = ", ".join(str(n) for n in empty)
        warnings.append(f"page{'s' if len(empty) > 1 else ''} {listed} without a text layer (scanned?); "
                        "not indexed (OCR is not supported)")
    paragraphs, offsets = _paragraphs(_without_running_lines(pages, heights))
    text = "\n\n".join(paragraphs)
    if not text.strip():
        raise ValueError("no text left after leaving out running headers, footers and page numbers")
    info = reader.metadata or {}
    return PdfText(text=text, pages=tuple(offsets), title=_title(info.get("/Title")),
                   author=_author(info.get("/Author")), empty_pages=empty, warnings=tuple(warnings))


def article_from_pdf(data: bytes | Path, doc_id: str, *, url: str | None = None, origin: str | None = None):
    """An Article from a PDF: its rebuilt text, the page starts, and the metadata its text or its
    document information states. Raises ValueError naming the problem."""
    from core.documents import Article
    from text.metadata import detect_metadata

    pdf = read_pdf(data)
    meta = detect_metadata(pdf.text)
    return Article(
        doc_id=doc_id, title=pdf.title or meta.title or pdf.text[:80], text=pdf.text, source=meta.source,
        published=meta.published, url=meta.url if url is None else url, origin=origin,
        author=meta.author or pdf.author, place=meta.place, pages=pdf.pages, warnings=pdf.warnings,
    )
