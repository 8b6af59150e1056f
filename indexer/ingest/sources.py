"""What one run reads: the files under the folders given (with their doc_ids) and the URLs, and the
doc_ids that two inputs would share.

A file in a folder given to `fundstelle index` takes its doc_id from its path below that folder
(:mod:`indexer.ingest.doc_ids`); a JSONL line names its own. Where two inputs of one run still
claim one doc_id (``a.txt`` and ``a.md`` side by side, two folders with a ``haushalt.txt`` at the
top, a JSONL id that a file has too), each of them is refused with a reason naming the other, and
neither is read: no article silently overwrites another. This is found before anything is read,
so nothing is written of a collision either.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from indexer.ingest.doc_ids import doc_id_below, doc_id_from_path
from indexer.ingest.errors import ReadError
from indexer.ingest.formats import for_suffix

URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)  # any scheme: the fetcher names the ones it refuses


@dataclass(frozen=True)
class FileInput:
    path: Path
    doc_id: str | None  # for a one-article file: its doc_id; None for a collection (JSONL, feed) or another type

    @property
    def ids_known_before_reading(self) -> bool:
        """Whether the doc_ids of its articles are known before it is read (from the path, or listed
        quickly as JSONL lines are); a feed's are known only once its items are fetched."""
        fmt = for_suffix(self.path.suffix)
        return fmt is not None and (self.doc_id is not None or fmt.doc_ids is not None)


@dataclass(frozen=True)
class UrlInput:
    url: str


Input = FileInput | UrlInput | ReadError


def _walk(folder: Path) -> Iterator[Path | ReadError]:
    """Every file under ``folder`` in a stable order; hidden folders are reported, not entered."""
    for root, dirs, files in os.walk(folder):
        hidden = sorted(d for d in dirs if d.startswith("."))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in hidden:
            yield ReadError(str(Path(root) / name), "hidden folder, not read")
        for name in sorted(files):
            path = Path(root) / name
            yield path if path.is_file() else ReadError(str(path), "not a regular file or folder")


def _file_input(path: Path, folder: Path | None) -> FileInput:
    fmt = for_suffix(path.suffix)
    if fmt is None or not fmt.one_article:
        return FileInput(path, None)
    return FileInput(path, doc_id_below(path, folder) if folder is not None else doc_id_from_path(path))


def plan(inputs: Iterable[str | Path]) -> Iterator[Input]:
    """Each input as what will be read: files (folders walked, in a stable order), URLs, and a
    ReadError for what is neither (a missing path, a device). A file named twice (itself and in its
    folder, say) is one input: it is read once, as it was named first."""
    seen: set[Path] = set()

    def once(path: Path, folder: Path | None) -> Iterator[FileInput]:
        real = path.resolve()
        if real not in seen:
            seen.add(real)
            yield _file_input(path, folder)

    for raw in inputs:
        if isinstance(raw, str) and URL.match(raw.strip()):
            yield UrlInput(raw.strip())
            continue
        path = Path(raw)
        if path.is_dir():
            for item in _walk(path):
                if isinstance(item, ReadError):
                    yield item
                else:
                    yield from once(item, path)
        elif path.is_file():
            yield from once(path, None)
        elif path.exists():
            yield ReadError(str(path), "not a regular file or folder")
        else:
            yield ReadError(str(path), "no such file or directory")


def iter_files(paths: Iterable[Path]) -> Iterator[Path | ReadError]:
    """The files under ``paths`` (folders walked), and what is not a file."""
    for item in plan(Path(p) for p in paths):
        yield item.path if isinstance(item, FileInput) else item


@dataclass
class Claims:
    """The doc_ids the files of a run claim before anything is read, and the inputs refused for it."""

    first: dict[str, str]  # doc_id -> the first input (file, or "file.jsonl:LINE") that claims it
    refused: dict[str, str]  # input -> why it is not read (its doc_id is claimed by another input too)


def claims_of(planned: list[Input]) -> Claims:
    """Which input claims which doc_id, and every input (a file, or ``file.jsonl:LINE``) refused
    because another input of the run claims its doc_id too."""
    first: dict[str, str] = {}
    shared: dict[str, list[str]] = {}  # only the doc_ids claimed more than once: a big archive has few
    for item in planned:
        if not isinstance(item, FileInput):
            continue
        if item.doc_id is not None:
            found: Iterable[tuple[str, str]] = [(str(item.path), item.doc_id)]
        elif (fmt := for_suffix(item.path.suffix)) is not None and fmt.doc_ids is not None:
            found = fmt.doc_ids(item.path)
        else:
            continue
        for origin, doc_id in found:
            if doc_id not in first:
                first[doc_id] = origin
            else:
                shared.setdefault(doc_id, [first[doc_id]]).append(origin)
    refused = {}
    for doc_id, origins in shared.items():
        if len(origins) > 1:
            for origin in origins:
                others = [o for o in origins if o != origin]
                shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
                refused[origin] = (f"doc_id {doc_id!r} is also the doc_id of {shown}; "
                                   f"{'neither' if len(origins) == 2 else 'none of them'} is indexed (rename one, "
                                   "or index a folder above them, whose paths tell them apart)")
    return Claims(first, refused)
