"""The input formats `fundstelle index` reads, each registered by its own module in this package.

A format names its file suffixes, says in one line what it reads, and gives its reader. Everything
that lists formats comes from here: the suffixes a folder is read for, the "use .txt, .md, …" hint
for a file of another type, the dispatch of :func:`indexer.ingest.readers.read_file`, and the help
of `fundstelle index`. Adding a format is one module that calls :func:`register` plus one import
line in ``formats/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.documents import Article
from indexer.ingest.errors import ReadError

if TYPE_CHECKING:
    from indexer.ingest.fetch import Fetcher


@dataclass(frozen=True)
class ReadContext:
    """What a reader gets besides the file."""

    max_file_bytes: int  # the largest text file read (the facade's limit, so tests can lower it)
    doc_id: str | None = None  # the doc_id for a one-article file (from its path); None: from its name
    fetcher: Fetcher | None = None  # fetches what a file points to (a feed's items); None: nothing is fetched
    # Parts of a collection not to read, by origin ("file.jsonl:7"), with the reason to report instead
    # (a doc_id that another input of the run claims too).
    refused: Mapping[str, str] = field(default_factory=dict)


# A one-article format's reader returns the Article (or raises ValueError/OSError naming the problem);
# a collection's reader yields each article and each ReadError (a bad line, an item that failed).
Reader = Callable[[Path, ReadContext], "Article | Iterable[Article | ReadError]"]


@dataclass(frozen=True)
class Format:
    name: str  # "Markdown"
    suffixes: tuple[str, ...]  # lower case with the dot; the first is the one named in hints
    description: str  # one line: what is read and how
    read: Reader
    one_article: bool = True  # one article per file, its doc_id from the path (JSONL and feeds: from inside)
    hint: str | None = None  # how the "use …" hint names it (default: its first suffix)
    rank: int = 50  # where lists (hint, help) name it: lower first, then by registration
    # For a collection that names its articles' doc_ids (JSONL): (origin, doc_id) of each, read quickly,
    # so that doc_ids two inputs of a run share are found before anything is written.
    doc_ids: Callable[[Path], Iterable[tuple[str, str]]] | None = None

    def read_file(self, path: Path, context: ReadContext) -> Iterator[Article | ReadError]:
        """The file's articles and problems; a failure to read it is one ReadError naming it."""
        try:
            result = self.read(path, context)
            if isinstance(result, Article):
                yield result
            else:
                yield from result
        except OSError as exc:
            yield ReadError(str(path), f"cannot read: {exc.strerror or exc}")
        except ValueError as exc:
            yield ReadError(str(path), str(exc))


_FORMATS: list[Format] = []


def register(fmt: Format) -> Format:
    """Add a format; a suffix may belong to one format only."""
    taken = {suffix: other.name for other in _FORMATS for suffix in other.suffixes}
    for suffix in fmt.suffixes:
        if suffix != suffix.lower() or not suffix.startswith("."):
            raise ValueError(f"{fmt.name}: a suffix is lower case and starts with a dot, not {suffix!r}")
        if suffix in taken:
            raise ValueError(f"{fmt.name}: the suffix {suffix} is already registered by {taken[suffix]}")
    _FORMATS.append(fmt)
    _FORMATS.sort(key=lambda f: f.rank)  # stable: equal ranks keep their registration order
    return fmt


def formats() -> tuple[Format, ...]:
    return tuple(_FORMATS)


def for_suffix(suffix: str) -> Format | None:
    suffix = suffix.lower()
    return next((fmt for fmt in _FORMATS if suffix in fmt.suffixes), None)


def supported_suffixes() -> set[str]:
    return {suffix for fmt in _FORMATS for suffix in fmt.suffixes}


def supported_hint() -> str:
    """"use .txt, .md, .html, .jsonl, .pdf or an RSS/Atom feed (.xml)": for a file of another type."""
    names = [fmt.hint or fmt.suffixes[0] for fmt in _FORMATS]
    return "use " + (", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else "".join(names))


def suffix_list() -> str:
    """".txt .md .html …": every suffix a folder is read for, in registration order."""
    return " ".join(suffix for fmt in _FORMATS for suffix in fmt.suffixes)


def described() -> str:
    """One line per format, for the help of `fundstelle index`."""
    return "\n".join(f"{'/'.join(fmt.suffixes)}: {fmt.description}" for fmt in _FORMATS)
