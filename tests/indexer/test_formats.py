"""The format registry (issue 17): every list of formats comes from it, and a new format is one
module that registers itself; the reading modules import each other in no circle."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.documents import Article
from indexer.ingest import formats
from indexer.ingest.formats import registry
from indexer.ingest.readers import SUPPORTED_HINT, SUPPORTED_SUFFIXES, ReadError, read_articles
from tests.paths import REPO_ROOT


def test_the_registered_formats_and_what_is_derived_from_them():
    assert [(f.name, f.suffixes) for f in formats.formats()] == [
        ("plain text", (".txt",)), ("Markdown", (".md", ".markdown")), ("web page", (".html", ".htm")),
        ("JSON Lines", (".jsonl",)), ("PDF", (".pdf",)), ("RSS/Atom feed", (".xml", ".rss", ".atom")),
    ]
    assert sorted(SUPPORTED_SUFFIXES) == [".atom", ".htm", ".html", ".jsonl", ".markdown", ".md", ".pdf", ".rss",
                                          ".txt", ".xml"]
    assert SUPPORTED_HINT == "use .txt, .md, .html, .jsonl, .pdf or an RSS/Atom feed (.xml)"
    assert formats.suffix_list() == ".txt .md .markdown .html .htm .jsonl .pdf .xml .rss .atom"
    assert all(f.description and "\n" not in f.description for f in formats.formats())
    assert formats.described().splitlines()[0].startswith(".txt: plain text")


def test_the_cli_help_lists_the_registered_formats():
    out = subprocess.run([sys.executable, "-m", "cli", "index", "--help"], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "COLUMNS": "300"}).stdout
    assert formats.suffix_list() in out
    for fmt in formats.formats():
        assert fmt.description[:40] in " ".join(out.split())


def test_a_new_format_is_one_registration(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_FORMATS", list(registry._FORMATS))  # this test's registration stays here

    def read_csv_lines(path: Path, context: formats.ReadContext) -> Article:
        rows = path.read_text(encoding="utf-8").splitlines()
        return Article(doc_id=context.doc_id or path.stem, title=rows[0], text="\n\n".join(rows), origin=str(path))

    formats.register(formats.Format("Notiz", (".notiz",), "eine Notiz pro Datei", read_csv_lines, rank=60))
    (tmp_path / "ordner").mkdir()
    (tmp_path / "ordner" / "a.notiz").write_text("Titel der Notiz\nDer Rat tagt.", encoding="utf-8")
    (article,) = read_articles([tmp_path])
    assert (article.doc_id, article.title) == ("ordner/a", "Titel der Notiz")  # path doc_ids come along too
    assert formats.supported_hint() == "use .txt, .md, .html, .jsonl, .pdf, .notiz or an RSS/Atom feed (.xml)"
    with pytest.raises(ValueError, match="already registered by Notiz"):
        formats.register(formats.Format("Andere", (".notiz",), "…", read_csv_lines))


def test_a_reader_that_fails_is_one_error_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_FORMATS", list(registry._FORMATS))

    def broken(path: Path, context: formats.ReadContext) -> Article:
        raise ValueError("kaputt in Zeile 3")

    formats.register(formats.Format("Kaputt", (".kaputt",), "…", broken))
    (tmp_path / "x.kaputt").write_text("…", encoding="utf-8")
    assert list(read_articles([tmp_path])) == [ReadError(str(tmp_path / "x.kaputt"), "kaputt in Zeile 3")]


def test_the_ingest_modules_import_each_other_in_no_circle():
    """`lint-imports` (pyproject.toml) keeps the "No import circles inside a folder" contract for
    indexer.ingest; here, the part of it this package once broke (readers <-> fetch <-> feeds)."""
    import ast

    folder = REPO_ROOT / "indexer" / "ingest"
    imports: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        name = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports[name] = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
                         and node.module.startswith("indexer.ingest")}
    for low in ("indexer.ingest.errors", "indexer.ingest.fetch", "indexer.ingest.feeds"):
        assert "indexer.ingest.readers" not in imports[low]
    assert not {m for m in imports["indexer.ingest.fetch"] if m.endswith(("feeds", "readers", "formats"))}
