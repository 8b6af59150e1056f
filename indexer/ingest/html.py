"""Turn a news web page into an :class:`Article`: the article's prose as plain text, plus its metadata.

The main text comes from trafilatura (metadata and dates via htmldate), a well-kept extractor
that drops navigation, cookie layers, ads, comment sections, scripts and teaser lists. We do
not take its text output: we render its XML body ourselves, so that

- each paragraph, heading and quote is a block of its own (blank line between blocks), and the
  items of one list (or the rows of one table) are consecutive lines of one block: the cleaner
  tells a section heading from a list item by that layout (see :mod:`text.cleaning`);
- list items lose their "- " marker (plain text, no markup) but each stays a line of its own;
- paragraphs that are nothing but a link to another article ("Lesen Sie auch: …", "» Auch der …")
  are left out: trafilatura keeps them inside an article body, and they are teasers, not prose.

Only text ever leaves this module: no tags, attributes or URLs from the page body, so hostile
markup (scripts, ``on*`` handlers, ``javascript:`` links) ends up as inert characters at most.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.documents import Article
from indexer.ingest.decoding import decoded_as, detect

# trafilatura and htmldate log every page they cannot read at ERROR level; without a handler of the
# application's, Python would print those to stderr beside our own ReadError for the same page.
for _name in ("trafilatura", "htmldate", "courlan", "justext"):
    logging.getLogger(_name).addHandler(logging.NullHandler())

MAX_HTML_BYTES = 16 * 1024 * 1024  # a news page with inline scripts and styles is rarely above 2 MiB

# Measured on tests/fixtures/web (4 German news pages, 27 prose paragraphs, 118 boilerplate strings;
# tests/indexer/test_html.py::test_the_chosen_settings_are_the_best_measured reruns it):
#   defaults / include_comments=False / favor_precision:  26/27 prose, 2 leaks
#   favor_recall:                                         27/27 prose, 3 leaks
#   favor_recall + our teaser-link filter below:          27/27 prose, 0 leaks
# The defaults drop a lead paragraph marked class="teaser" (a common name for the lead in German
# newsrooms); favor_recall keeps it, and the two extra leaks it lets through are link-only teaser
# paragraphs, which our own filter removes. include_tables changes nothing on prose or leaks; tables
# are kept so the stored text shows them (the cleaner decides whether table rows become passages).
EXTRACTION_OPTIONS: dict = {
    "favor_recall": True,
    "include_comments": False,
    "include_tables": True,
    "include_links": True,  # <ref> elements let us recognise link-only teaser paragraphs
    "include_images": False,
    "include_formatting": False,
}

# What may stand beside a link in a paragraph that is only a pointer to another article.
_TEASER_LABEL = re.compile(
    r"^[\W_]*(?:(?:lesen sie (?:auch|mehr|hier)|mehr (?:zum thema|dazu|lesen)|auch interessant|lesetipp|"
    r"zum thema|zum weiterlesen|weiterlesen|siehe auch|passend dazu|read more|related)\b[\W_]*)?$",
    re.IGNORECASE,
)
_BLOCKS = {"p", "head", "quote", "code", "item", "row", "cell", "list", "table", "div", "lb"}


@dataclass(frozen=True)
class Page:
    """What a page yields: the article text and whatever metadata it states."""

    text: str
    title: str | None = None
    source: str | None = None  # outlet (og:site_name, JSON-LD publisher); never the author
    author: str | None = None  # <meta name="author">, JSON-LD author, a byline trafilatura found
    published: str | None = None  # ISO date
    url: str | None = None  # canonical URL
    host: str | None = None  # the site's host name: the source of last resort
    encoding: str | None = None  # the encoding detected, where the page neither was UTF-8 nor declared one


@dataclass(frozen=True)
class Fallback:
    """Metadata known from elsewhere (a feed item), used where the page states none."""

    title: str | None = None
    source: str | None = None
    author: str | None = None
    published: str | None = None
    url: str | None = None

    def fill(self, article: Article) -> Article:
        """``article`` with what it does not state taken from here (a feed item's PDF, say)."""
        from dataclasses import replace

        # a feed item's title is its publisher's; a PDF's title is at best its document title or a guess
        return replace(article, title=self.title or article.title, source=article.source or self.source,
                       author=article.author or self.author, published=article.published or self.published,
                       url=article.url or self.url)


def _squash(value: str) -> str:
    """One line of text: runs of white space as one space, control characters gone."""
    return re.sub(r"\s+", " ", re.sub(r"[\x00-\x08\x0e-\x1f\x7f]", "", value)).strip()


def _text(element, skip_refs: bool = False) -> str:
    """The element's text with its inline children (links, formatting), line breaks kept."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == "lb":
            parts.append("\n")
        elif child.tag in ("list", "table"):
            pass  # nested blocks are rendered on their own
        elif not (skip_refs and child.tag == "ref"):
            parts.append(_text(child, skip_refs))
        parts.append(child.tail or "")
    return "".join(parts)


def _is_teaser_link(element) -> bool:
    """A paragraph that is only a link to another article, maybe with a "Lesen Sie auch:" label."""
    if element.find(".//ref") is None:
        return False
    return bool(_TEASER_LABEL.match(_squash(_text(element, skip_refs=True))))


def _lines(element) -> list[str]:
    lines = [_squash(line) for line in _text(element).split("\n")]
    return [line for line in lines if line]


def _render_blocks(element, blocks: list[list[str]]) -> None:
    """Append the element's blocks; a block is a list of lines."""
    for child in element:
        tag = child.tag
        if tag == "list":
            items: list[str] = []
            _list_items(child, items)
            if items:
                blocks.append(items)
        elif tag == "table":
            rows = []
            for row in child.iter("row"):
                cells = [_squash(_text(cell)) for cell in row.iter("cell")]
                if line := " | ".join(cell for cell in cells if cell):
                    rows.append(line)
            if rows:
                blocks.append(rows)
        elif tag in ("p", "head", "code", "quote") and not any(c.tag in _BLOCKS - {"lb"} for c in child):
            if not _is_teaser_link(child) and (lines := _lines(child)):
                blocks.append(lines)
        elif tag in ("graphic", "ref") and not _squash(_text(child)):
            continue
        else:  # containers (quote with paragraphs, div) and anything unexpected: their own text, then children
            if own := _squash(child.text or ""):
                blocks.append([own])
            _render_blocks(child, blocks)
        if tail := _squash(child.tail or ""):
            blocks.append([tail])


def _list_items(element, items: list[str]) -> None:
    for item in element:
        if item.tag != "item":
            continue
        if not _is_teaser_link(item):
            items.extend(_lines(item))
        for nested in item.iter("list"):
            if nested is not item:
                _list_items(nested, items)
                break


def render_body(body) -> str:
    """Plain text of trafilatura's XML body: blocks separated by a blank line, list items and
    table rows one per line within their block."""
    blocks: list[list[str]] = []
    _render_blocks(body, blocks)
    return "\n\n".join("\n".join(block) for block in blocks)


# What browsers do (WHATWG Encoding): a page that declares Latin-1 or ASCII is read as Windows-1252,
# whose „“ quotes and € sign such pages hold (in Latin-1 those bytes are control characters).
_AS_BROWSERS_READ = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
                     "ascii": "cp1252", "iso8859-1": "cp1252", "l1": "cp1252"}


def _decode(raw: bytes, charset: str | None) -> tuple[str | bytes, str | None]:
    """The page's text and the encoding detected, if one had to be: the charset the server declared,
    the page's <meta charset>, UTF-8, or else what charset-normalizer detects (reported). Where nothing
    fits, the bytes go to trafilatura, which guesses on its own."""
    head = raw[:4096].decode("ascii", errors="ignore")
    meta = re.search(r"<meta[^>]+charset\s*=\s*[\"']?([\w-]+)", head, re.IGNORECASE)
    for candidate in (charset, meta[1] if meta else None, "utf-8"):
        if candidate:
            try:
                return raw.decode(_AS_BROWSERS_READ.get(candidate.lower(), candidate)), None
            except (LookupError, UnicodeDecodeError):
                continue
    detected = detect(raw) if b"\x00" not in raw else None
    return (detected.text, detected.encoding) if detected is not None else (raw, None)


def _as_document(html: str) -> str:
    """trafilatura expects a whole document; a fragment (as the write API may get) is wrapped."""
    if re.search(r"<(?:html|body|!doctype)\b", html[:2048], re.IGNORECASE):
        return html
    return f"<html><body><article>{html}</article></body></html>"


def _named_source(sitename: str | None, url: str | None) -> str | None:
    """The outlet when the page names it; not the bare host name, which trafilatura puts in
    ``sitename`` when the page names no outlet (that comes last, after feed metadata), and never the
    author (a byline is an author, not an outlet)."""
    sitename = _squash(sitename or "") or None
    if sitename and sitename.lower().removeprefix("www.") != _host(url):
        return sitename
    return None


def _host(url: str | None) -> str:
    return urlsplit(url or "").netloc.lower().removeprefix("www.")


def extract_page(html: str | bytes, url: str | None = None, charset: str | None = None) -> Page:
    """Extract a page's article. Raises ValueError when there is no article text in it."""
    import trafilatura  # imported here: it takes a moment, and the service needs it only for HTML writes

    if not html.strip():
        raise ValueError("empty page")
    detected = None
    if isinstance(html, bytes):
        if len(html) > MAX_HTML_BYTES:
            raise ValueError(f"page too large ({len(html)} bytes; at most {MAX_HTML_BYTES})")
        html, detected = _decode(html, charset)
    if isinstance(html, str):
        html = _as_document(html)
    try:
        document = trafilatura.bare_extraction(html, url=url, with_metadata=True, **EXTRACTION_OPTIONS)
    except Exception as exc:  # a parser failure on one odd page must not end a whole run
        raise ValueError(f"cannot extract the page ({type(exc).__name__}: {exc})") from None
    text = render_body(document.body) if document is not None and document.body is not None else ""
    if not text.strip():
        raise ValueError("no article text found in the page")
    page_url = _http_url(document.url) or _http_url(url)
    return Page(
        text=text,
        title=_squash(document.title or "") or None,
        source=_named_source(document.sitename, page_url),
        author=_squash(document.author or "") or None,
        published=document.date or None,
        url=page_url,
        host=_host(page_url) or None,
        encoding=detected,
    )


def _http_url(value: str | None) -> str | None:
    if not value:
        return None
    parts = urlsplit(value.strip())
    return value.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def article_from_html(
    html: str | bytes, doc_id: str, *, url: str | None = None, origin: str | None = None,
    charset: str | None = None, fallback: Fallback | None = None,
) -> Article:
    """An Article from a web page. ``fallback`` fills in what the page does not state.

    Raises ValueError (no article text, too large) with a message naming the problem.
    """
    from text.metadata import detect_metadata

    page = extract_page(html, url=url, charset=charset)
    fallback = fallback or Fallback()
    meta = detect_metadata(page.text)
    return Article(
        doc_id=doc_id, title=page.title or fallback.title or meta.title, text=page.text,
        source=page.source or fallback.source or page.host,
        published=page.published or fallback.published or meta.published,
        url=page.url or fallback.url or _http_url(url), origin=origin,
        author=page.author or fallback.author or meta.author, place=meta.place,
        warnings=(decoded_as(page.encoding),) if page.encoding else (),
    )
