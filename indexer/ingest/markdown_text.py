"""Read a Markdown article as Markdown (markdown-it-py, CommonMark) and render it as plain text.

The stored article text is the rendered text, and passage offsets refer to it. Rendering keeps
every word of prose and drops only markup:

- headings lose their ``#``; emphasis, code and link syntax go (link text stays, the URL does not);
  images go (alt texts are not prose); inline and block HTML keep their text, never their tags,
  scripts or styles;
- each paragraph, heading and quote is a block (a blank line between blocks); the items of one
  list, and the rows of one table, are consecutive lines of one block, without dashes or numbers.
  That layout is what lets the cleaner tell a section heading (kept as passage context) from a
  short list item ("Kosten: 2,3 Milliarden Euro", which is prose);
- a YAML front matter block (``---`` … ``---``) is metadata, not text.

Metadata: the title is the first heading; a byline (``*Von Anna Muster, dpa*``: the author, and
the outlet if one is named), a date line, a dateline and a URL line near the top are recognised by
:func:`text.metadata.detect_metadata` on the rendered text, exactly as the cleaner sees them, so
they become metadata rather than headings or passages. A byline's author never becomes the source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser

from text.metadata import detect_metadata, parse_date

FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<body>.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_KEYS = {
    "title": "title", "headline": "title",
    "date": "published", "published": "published", "pubdate": "published", "datum": "published",
    "author": "author", "autor": "author", "autorin": "author", "by": "author", "place": "place", "ort": "place",
    "source": "source", "publisher": "source", "outlet": "source", "quelle": "source", "site": "source",
    "url": "url", "link": "url", "canonical": "url", "canonical_url": "url",
}


@dataclass(frozen=True)
class MarkdownArticle:
    text: str  # the rendered plain text
    title: str
    source: str | None = None
    author: str | None = None
    published: str | None = None
    url: str | None = None
    place: str | None = None


@lru_cache(maxsize=1)
def _parser():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


class _HtmlText(HTMLParser):
    """The text of an HTML fragment: tags dropped, script/style bodies dropped, block ends as line ends."""

    SKIP = {"script", "style", "template", "noscript", "iframe", "svg", "head", "title"}
    BREAK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "section",
             "article", "ul", "ol", "table", "figure", "figcaption", "header", "footer", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BREAK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BREAK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_text(fragment: str) -> list[str]:
    """The lines of text in an HTML fragment."""
    parser = _HtmlText()
    parser.feed(fragment)
    parser.close()
    return [line for line in (_squash(part) for part in "".join(parser.parts).split("\n")) if line]


def _squash(value: str) -> str:
    return re.sub(r"[ \t\r\f\v\u00a0]+", " ", value).strip()


def _inline(token) -> list[str]:
    """An inline token's text as lines: markup dropped, soft breaks as spaces, hard breaks as lines."""
    parts: list[str] = []
    skipping = 0  # inside an inline <script>/<style>
    for child in token.children or []:
        kind = child.type
        if kind == "html_inline":
            tag = re.match(r"<\s*(/?)\s*([a-zA-Z][\w-]*)", child.content)
            if tag and tag[2].lower() in _HtmlText.SKIP:
                skipping += -1 if tag[1] else (0 if child.content.rstrip().endswith("/>") else 1)
                skipping = max(0, skipping)
            elif tag and tag[2].lower() == "br":
                parts.append("\n")
        elif skipping:
            continue
        elif kind in ("text", "code_inline"):
            parts.append(child.content)
        elif kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak":
            parts.append("\n")
        # image (alt text is not prose), link/emphasis/strike open and close: nothing
    return [line for line in (_squash(part) for part in "".join(parts).split("\n")) if line]


def _front_matter(source: str) -> tuple[dict[str, str], str]:
    """Simple ``key: value`` front matter and the Markdown after it (same length: blanked out)."""
    match = FRONT_MATTER.match(source)
    if not match:
        return {}, source
    found: dict[str, str] = {}
    for line in match["body"].splitlines():
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        value = value.strip().strip("\"'")
        if sep and key in _FRONT_KEYS and value:
            found.setdefault(_FRONT_KEYS[key], value)
    return found, source[match.end():]


def _add(lines: list[str], blocks: list[list[str]], list_block: list[str] | None) -> None:
    if list_block is not None:
        list_block.extend(lines)
    elif lines:
        blocks.append(lines)


def render(source: str) -> tuple[str, str | None]:
    """Markdown to plain text (see the module docstring) and the first heading's text."""
    tokens = _parser().parse(source)
    blocks: list[list[str]] = []
    title: str | None = None
    list_depth = 0
    list_block: list[str] = []
    row: list[str] = []
    table_rows: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
            if list_depth == 0 and list_block:
                blocks.append(list_block)
                list_block = []
        elif kind == "heading_open":
            lines = _inline(tokens[i + 1])
            if lines:
                title = title or " ".join(lines)
                if list_depth:
                    list_block.append(" ".join(lines))
                else:
                    blocks.append([" ".join(lines)])
            i += 2  # the inline token and heading_close
        elif kind == "inline":  # paragraphs (in lists, quotes or at the top), table cells
            lines = _inline(token)
            if tokens[i - 1].type in ("th_open", "td_open"):
                row.append(" ".join(lines))
            elif list_depth:
                list_block.extend(lines)
            elif lines:
                blocks.append(lines)
        elif kind == "tr_close":
            if line := " | ".join(cell for cell in row if cell):
                table_rows.append(line)
            row = []
        elif kind == "table_close":
            if table_rows:
                blocks.append(table_rows)
            table_rows = []
        elif kind in ("fence", "code_block"):
            lines = [line.rstrip() for line in token.content.split("\n") if line.strip()]
            _add(lines, blocks, list_block if list_depth else None)
        elif kind == "html_block":
            _add(html_text(token.content), blocks, list_block if list_depth else None)
        i += 1
    if list_block:
        blocks.append(list_block)
    return "\n\n".join("\n".join(block) for block in blocks), title


def read_markdown(source: str) -> MarkdownArticle:
    """A Markdown article: rendered text and its metadata. Raises ValueError if no text is left."""
    front, body = _front_matter(source)
    text, heading = render(body)
    if not text.strip():
        raise ValueError("no text in the Markdown file (only markup)")
    meta = detect_metadata(text)
    return MarkdownArticle(
        text=text,
        title=front.get("title") or heading or meta.title,
        source=front.get("source") or meta.source,
        author=front.get("author") or meta.author,
        place=front.get("place") or meta.place,
        published=parse_date(front.get("published", "")) or meta.published,
        url=front.get("url") if re.match(r"^https?://\S+$", front.get("url", "")) else meta.url,
    )
