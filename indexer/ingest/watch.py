"""Follow feeds: every few minutes, fetch new items and hand them to the indexer.

Idempotent by URL and by content: an item whose URL was handed over before (recorded in a small
state file) or that the index already holds (the ``known(url)`` callback asks the index, which
stays the truth) is not fetched again; an article whose text hash was handed over before (the
same article under a second URL, say with another tracking parameter or in a second feed) is not
handed over again. So a restart re-fetches and
re-embeds nothing that is indexed. An item that fails (fetch, extraction, or the index call) is
not recorded and is tried again in the next round.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.documents import Article
from indexer.ingest.errors import ReadError
from indexer.ingest.feeds import canonical_item_url, doc_id_for_url, load_feed, read_item
from indexer.ingest.fetch import Fetcher

_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"(\d+(?:\.\d+)?)\s*(sec|min|s|m|h|d)?", re.IGNORECASE)


def parse_interval(text: str) -> float:
    """Seconds in an interval such as ``90s``, ``15m``, ``1h``, ``1h30m``, ``2d`` (a bare number is seconds)."""
    value = (text or "").strip().lower().replace(" ", "")
    parts = list(_INTERVAL.finditer(value))
    unitless = len(parts) > 1 and any(m.group(2) is None for m in parts)  # "1h 30": 30 what?
    if not value or unitless or "".join(m.group(0) for m in parts) != value:
        raise ValueError(f"cannot read the interval {text!r}; use e.g. 90s, 15m, 1h or 1h30m")
    seconds = sum(float(m.group(1)) * _UNITS[(m.group(2) or "s").lower()] for m in parts)
    if seconds <= 0:
        raise ValueError(f"the interval must be longer than 0 seconds (got {text!r})")
    return seconds


@dataclass
class WatchRound:
    number: int
    new: list[str] = field(default_factory=list)  # item URLs handed to index_fn
    known: int = 0  # items not fetched: indexed or handed over before
    duplicates: int = 0  # fetched, but the same text was handed over before under another URL
    errors: list[ReadError] = field(default_factory=list)
    report: Any = None  # what index_fn returned


def text_hash(article: Article) -> str:
    """What makes two items the same article: their text (doc_id and URL differ by construction)."""
    return hashlib.sha256(article.text.encode("utf-8")).hexdigest()


class WatchState:
    """The items handed to the indexer so far, by canonical URL with doc_id and content hash.

    A JSON file, replaced atomically, so a crash leaves the old or the new state, never half of one.
    """

    def __init__(self, path: Path | None):
        self.path = path
        self.items: dict[str, dict[str, str]] = {}
        if path is not None and path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self.items = dict(data.get("items", {}))
            except (OSError, ValueError, AttributeError) as exc:
                raise ValueError(f"cannot read the watch state {path}: {exc}; move it away to start afresh") from None
        self.hashes = {entry.get("hash") for entry in self.items.values()}

    def has_url(self, url: str) -> bool:
        return canonical_item_url(url) in self.items

    def has_hash(self, digest: str) -> bool:
        return digest in self.hashes

    def remember(self, url: str, article: Article) -> None:
        digest = text_hash(article)
        self.items[canonical_item_url(url)] = {
            "doc_id": article.doc_id, "hash": digest, "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self.hashes.add(digest)

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"version": 1, "items": self.items}, fh, ensure_ascii=False, indent=0, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def watch_round(
    number: int, feeds: Sequence[str | Path], index_fn: Callable[[list[Article]], Any], state: WatchState,
    fetcher: Fetcher, known: Callable[[str], bool] | None = None,
) -> WatchRound:
    """One pass over the feeds: fetch what is new, hand it over in one call, record it."""
    result = WatchRound(number)
    fresh: list[tuple[str, Article]] = []
    urls: set[str] = set()
    hashes: set[str] = set()
    for feed in feeds:
        loaded = load_feed(feed, fetcher)
        if isinstance(loaded, ReadError):
            result.errors.append(loaded)
            continue
        for item in loaded[0]:
            if not item.url:
                result.errors.append(ReadError(f"{feed}: item {item.title or '(untitled)'!r}", "the item has no link"))
                continue
            canonical = canonical_item_url(item.url)
            if canonical in urls or state.has_url(item.url) or (known is not None and known(item.url)):
                result.known += 1
                continue
            urls.add(canonical)
            article = read_item(item, fetcher)
            if isinstance(article, ReadError):
                result.errors.append(article)
                continue
            digest = text_hash(article)
            if state.has_hash(digest) or digest in hashes:
                result.duplicates += 1
                continue
            hashes.add(digest)
            fresh.append((item.url, article))
    if not fresh:
        return result
    try:
        result.report = index_fn([article for _, article in fresh])
    except Exception as exc:  # the watcher keeps going; the items are tried again next round
        result.errors.append(ReadError("index", f"indexing {len(fresh)} new items failed: {type(exc).__name__}: {exc}"))
        return result
    for url, article in fresh:
        state.remember(url, article)
    state.save()
    result.new = [url for url, _ in fresh]
    return result


def watch(
    feeds: Sequence[str | Path], every_seconds: float, index_fn: Callable[[list[Article]], Any],
    state_path: Path | None, stop_event: threading.Event | None = None, max_rounds: int | None = None,
    *, fetcher: Fetcher | None = None, known: Callable[[str], bool] | None = None,
    on_round: Callable[[WatchRound], None] | None = None,
) -> list[WatchRound]:
    """Follow ``feeds`` (URLs or files) until ``stop_event`` is set or ``max_rounds`` rounds are done.

    Each round fetches the feeds, hands the new items' articles to ``index_fn`` in one call (its
    return value is kept in ``WatchRound.report``), records them in ``state_path`` and then waits
    ``every_seconds`` (returning at once when ``stop_event`` is set). ``known(url)`` lets the index
    say which item URLs it holds already (their doc_id is ``indexer.ingest.feeds.doc_id_for_url(url)``).
    ``on_round`` is called after every round (progress output). Returns the last rounds (at most 100).
    """
    from filelock import FileLock, Timeout

    if every_seconds <= 0:
        raise ValueError("every_seconds must be positive")
    stop_event = stop_event or threading.Event()
    lock = FileLock(f"{state_path}.lock") if state_path is not None else None
    if lock is not None:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise RuntimeError(f"another watcher is using {state_path}; give each watcher its own state file") from None
    own_fetcher = fetcher is None
    fetcher = fetcher or Fetcher()
    rounds: deque[WatchRound] = deque(maxlen=100)
    try:
        state = WatchState(state_path)
        number = 0
        while not stop_event.is_set() and (max_rounds is None or number < max_rounds):
            number += 1
            started = time.monotonic()
            result = watch_round(number, feeds, index_fn, state, fetcher, known)
            rounds.append(result)
            if on_round is not None:
                on_round(result)
            if max_rounds is not None and number >= max_rounds:
                break
            stop_event.wait(max(0.0, every_seconds - (time.monotonic() - started)))
    finally:
        if own_fetcher:
            fetcher.close()
        if lock is not None:
            lock.release()
    return list(rounds)


def known_in_index(content_hashes: Callable[[list[str]], dict]) -> Callable[[str], bool]:
    """A ``known(url)`` callback from a store's ``content_hashes(doc_ids) -> {doc_id: hash}``."""
    return lambda url: doc_id_for_url(url) in content_hashes([doc_id_for_url(url)])
