"""doc_ids of files: from the path below the folder given, so two files never share one.

``fundstelle index archive/`` gives ``archive/2024/haushalt.txt`` the doc_id ``2024/haushalt`` and
``archive/2025/haushalt.txt`` the doc_id ``2025/haushalt``; a file at the top of the folder, and a
file named directly, keep the bare name without suffix (``haushalt``), as before paths counted.
Each path segment is restricted to letters, digits, ``_ . -`` (other runs become ``-``) and starts
with a letter or digit, so an id never holds ``..``, never starts with ``/`` and matches
:data:`indexer.ingest.schema.DOC_ID_PATTERN`.
"""

from __future__ import annotations

import re
from pathlib import Path

from indexer.ingest.schema import DOC_ID_MAX


def _segment(name: str) -> str:
    segment = re.sub(r"[^\w.-]+", "-", name, flags=re.UNICODE).strip("-.") or "article"
    return re.sub(r"\.{2,}", ".", segment)


def doc_id_from_path(path: Path) -> str:
    """A file's doc_id by its name alone: the name without suffix, restricted to a URL-safe alphabet."""
    return _segment(path.stem)[:DOC_ID_MAX]


def doc_id_below(path: Path, folder: Path) -> str:
    """The doc_id of ``path`` found in ``folder``: its path below the folder, without the suffix."""
    relative = path.relative_to(folder)
    doc_id = "/".join(_segment(part) for part in (*relative.parent.parts, relative.stem))
    return doc_id[:DOC_ID_MAX].rstrip("/.-") or "article"
