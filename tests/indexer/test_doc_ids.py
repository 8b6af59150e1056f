"""doc_ids from the path below the folder given (issue 19): archives sorted into year or section
folders keep every article; two inputs of one run that would still share a doc_id are both reported
and neither is read, so none overwrites the other."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.documents import Article
from indexer.ingest.doc_ids import doc_id_below
from indexer.ingest.readers import ReadError, read_articles, read_inputs
from indexer.ingest.schema import DOC_ID_PATTERN, ArticleIn, DocId

TEXT = "Haushalt {year} beschlossen\n\nDer Stadtrat hat den Haushalt für {year} mit großer Mehrheit beschlossen."


def split(items):
    items = list(items)
    return [i for i in items if isinstance(i, Article)], [i for i in items if isinstance(i, ReadError)]


@pytest.fixture
def archive(tmp_path) -> Path:
    root = tmp_path / "archiv"
    for year in ("2024", "2025"):
        (root / year).mkdir(parents=True)
        (root / year / "haushalt.txt").write_text(TEXT.format(year=year), encoding="utf-8")
    (root / "2025" / "Ressort Politik").mkdir()
    (root / "2025" / "Ressort Politik" / "Wahl (Nachlese).md").write_text("# Nach der Wahl\n\nDie Wahl ist vorbei.",
                                                                          encoding="utf-8")
    (root / "impressum.txt").write_text("Impressum des Archivs\n\nHerausgegeben von der Stadt.", encoding="utf-8")
    return root


def test_files_in_sub_folders_keep_their_path_and_top_level_files_their_name(archive):
    articles, errors = split(read_articles([archive]))
    assert not errors
    assert [a.doc_id for a in articles] == ["impressum", "2024/haushalt", "2025/haushalt",
                                            "2025/Ressort-Politik/Wahl-Nachlese"]
    assert {a.doc_id: a.title for a in articles}["2024/haushalt"] == "Haushalt 2024 beschlossen"


def test_a_file_named_directly_keeps_its_name(archive):
    (article,) = read_articles([archive / "2024" / "haushalt.txt"])
    assert article.doc_id == "haushalt"
    (article,) = read_articles([archive / "2024"])  # its folder given: the path below that folder
    assert article.doc_id == "haushalt"


def test_a_path_doc_id_passes_every_doc_id_check(archive):
    for article in read_articles([archive]):
        assert re.match(DOC_ID_PATTERN, article.doc_id) and ".." not in article.doc_id
        assert ArticleIn.model_validate({"id": article.doc_id, "text": "Ein Satz."}).id == article.doc_id
    from pydantic import TypeAdapter

    adapter = TypeAdapter(DocId)  # what the HTTP routes check a {doc_id} with
    assert adapter.validate_python("2024/haushalt") == "2024/haushalt"
    for bad in ("/etc/passwd", "../geheim", "2024/../geheim", "2024/./haushalt", "2024//haushalt", "2024/", ".",
                "a/..b", "a\\b", "a b"):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


@pytest.mark.parametrize(
    ("relative", "doc_id"),
    [
        ("a/b/c.txt", "a/b/c"),
        ("Ärger im Rat/2024 (Nachtrag)..final.txt", "Ärger-im-Rat/2024-Nachtrag-.final"),
        ("-x-/.y./z.md", "x/y/z"),
        ("ordner.mit.punkten/datei", "ordner.mit.punkten/datei"),
    ],
)
def test_each_segment_is_made_safe(tmp_path, relative, doc_id):
    assert doc_id_below(tmp_path / relative, tmp_path) == doc_id


def test_a_long_path_is_cut_to_the_limit_without_a_dangling_separator(tmp_path):
    doc_id = doc_id_below(tmp_path / ("a" * 150) / ("b" * 49) / "c.txt", tmp_path)
    assert len(doc_id) <= 200 and not doc_id.endswith(("/", ".", "-")) and re.match(DOC_ID_PATTERN, doc_id)


def test_two_files_that_share_a_doc_id_are_both_refused(tmp_path):
    (tmp_path / "meldung.txt").write_text("Meldung als Text\n\nDer Rat tagt am Montag.", encoding="utf-8")
    (tmp_path / "meldung.md").write_text("# Meldung als Markdown\n\nDer Rat tagt am Dienstag.", encoding="utf-8")
    (tmp_path / "andere.txt").write_text("Eine andere Meldung\n\nDer Rat tagt am Mittwoch.", encoding="utf-8")
    articles, errors = split(read_articles([tmp_path]))
    assert [a.doc_id for a in articles] == ["andere"]
    assert [str(e) for e in errors] == [
        f"{tmp_path / 'meldung.md'}: doc_id 'meldung' is also the doc_id of {tmp_path / 'meldung.txt'}; neither is "
        "indexed (rename one, or index a folder above them, whose paths tell them apart)",
        f"{tmp_path / 'meldung.txt'}: doc_id 'meldung' is also the doc_id of {tmp_path / 'meldung.md'}; neither is "
        "indexed (rename one, or index a folder above them, whose paths tell them apart)",
    ]


def test_two_folders_with_the_same_file_names_collide_and_their_parent_does_not(archive):
    articles, errors = split(read_articles([archive / "2024", archive / "2025"]))
    assert [a.doc_id for a in articles] == ["Ressort-Politik/Wahl-Nachlese"]
    assert sorted(Path(e.origin).parent.name for e in errors) == ["2024", "2025"]
    assert all("doc_id 'haushalt' is also the doc_id of" in e.reason for e in errors)
    articles, errors = split(read_articles([archive]))  # their parent folder tells them apart
    assert not errors and len(articles) == 4


def test_jsonl_ids_that_a_file_or_another_line_has_too_are_refused(tmp_path):
    (tmp_path / "haushalt.txt").write_text(TEXT.format(year=2024), encoding="utf-8")
    lines = [{"id": "haushalt", "text": "Eine andere Meldung."}, {"id": "einzeln", "text": "Ein Satz."},
             {"id": "doppelt", "text": "Erste Fassung."}, {"id": "doppelt", "text": "Zweite Fassung."}]
    (tmp_path / "sammlung.jsonl").write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    articles, errors = split(read_articles([tmp_path]))
    assert [a.doc_id for a in articles] == ["einzeln"]
    refused = {e.origin.removeprefix(str(tmp_path) + "/"): e.reason for e in errors}
    assert set(refused) == {"haushalt.txt", "sammlung.jsonl:1", "sammlung.jsonl:3", "sammlung.jsonl:4"}
    assert refused["sammlung.jsonl:1"].startswith(f"doc_id 'haushalt' is also the doc_id of {tmp_path / 'haushalt.txt'}")
    assert refused["sammlung.jsonl:3"].startswith(f"doc_id 'doppelt' is also the doc_id of {tmp_path}/sammlung.jsonl:4")


def test_a_page_named_twice_is_read_once(web):
    from indexer.ingest.fetch import Fetcher

    url = web.url("/news/hansepost_hafen.html")
    with Fetcher() as fetcher:
        items = list(read_inputs([url, url], fetcher))
    assert len(items) == 1 and isinstance(items[0], Article)


def test_a_file_named_twice_is_read_once(archive):
    articles, errors = split(read_articles([archive, archive / "2024" / "haushalt.txt", archive / "impressum.txt"]))
    assert not errors and [a.doc_id for a in articles] == ["impressum", "2024/haushalt", "2025/haushalt",
                                                          "2025/Ressort-Politik/Wahl-Nachlese"]
