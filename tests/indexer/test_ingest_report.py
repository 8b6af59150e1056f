"""What `fundstelle index` reports (issue 19), through the real pipeline and model: path doc_ids, two
inputs sharing a doc_id refused and neither written, warnings (an encoding detected, a bad date left
out) counted apart from errors, and the outcome the exit code is made of."""

from __future__ import annotations

import json

import pytest

from core.settings import Settings
from indexer.ingest.readers import ReadWarning, read_articles
from indexer.pipeline import ArticleIndexer
from store.index import Index

BODY = "Der Stadtrat hat am Dienstag mit großer Mehrheit den Haushalt für {year} beschlossen."


@pytest.fixture
def indexer(tmp_path, embedder):
    index = Index.open(tmp_path / "index", embedder, create=True)
    yield ArticleIndexer(index, Settings(index_dir=index.folder))
    index.close()


def test_an_archive_with_folders_collisions_and_warnings(tmp_path, indexer):
    archive = tmp_path / "archiv"
    for year in (2024, 2025):
        (archive / str(year)).mkdir(parents=True)
        (archive / str(year) / "haushalt.txt").write_text(f"Haushalt {year}\n\n{BODY.format(year=year)}",
                                                          encoding="utf-8")
    (archive / "meldung.txt").write_text("Meldung\n\nDer Rat tagt am Montag im Rathaus.", encoding="utf-8")
    (archive / "meldung.md").write_text("# Meldung\n\nDer Rat tagt am Dienstag im Rathaus.", encoding="utf-8")
    (archive / "alt.txt").write_bytes("Gebühren\n\n„Die Gebühren steigen um 4 €“, sagte der Kämmerer.".encode("cp1252"))
    (archive / "agentur.jsonl").write_text(json.dumps({"id": "dpa-1", "text": BODY.format(year=2026),
                                                       "published": "nächsten Montag"}), encoding="utf-8")
    report = indexer.run(read_articles([archive]))
    assert sorted(report.added) == ["2024/haushalt", "2025/haushalt", "alt", "dpa-1"]
    assert sorted(e.origin for e in report.errors) == [str(archive / "meldung.md"), str(archive / "meldung.txt")]
    assert indexer.index.store.content_hashes(["meldung"]) == {}  # neither was written
    assert report.warnings == [
        ReadWarning(f"{archive / 'agentur.jsonl'}:1", "published: not a date: 'nächsten Montag' (use e.g. 2025-05-21, "
                    "21.05.2025 or 21. Mai 2025); indexed without published"),
        ReadWarning(str(archive / "alt.txt"), "decoded as cp1252 (not UTF-8)"),
    ]
    assert report.outcome == "partial"  # `fundstelle index` exits 2
    stored = indexer.index.store.document("2025/haushalt")
    assert stored is not None and "2025" in stored["text"]

    (archive / "meldung.md").unlink()
    again = indexer.run(read_articles([archive]))
    assert again.added == ["meldung"] and len(again.unchanged) == 4 and not again.errors
    assert len(again.warnings) == 2  # reported on every run: they are about the files, not the index
    assert again.outcome == "complete"  # exits 0


def test_nothing_indexed_is_its_own_outcome(tmp_path, indexer):
    (tmp_path / "eingang").mkdir()
    (tmp_path / "eingang" / "leer.txt").write_text("   ", encoding="utf-8")
    report = indexer.run(read_articles([tmp_path / "eingang"]))
    assert report.outcome == "nothing" and len(report.errors) == 1  # exits 1
    assert indexer.run([]).outcome == "nothing"
