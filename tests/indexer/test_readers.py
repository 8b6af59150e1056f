"""Reading articles: every broken input is reported with its file (and line) and why, the rest is read."""

from __future__ import annotations

import json

import pytest

from indexer.ingest.readers import SUPPORTED_HINT, ReadError, doc_id_from_path, read_articles

GOOD = {"id": "gut-1", "title": "Ein Titel", "text": "Ein Satz über den Gemeinderat."}


def split(items):
    items = list(items)
    return [i for i in items if not isinstance(i, ReadError)], [i for i in items if isinstance(i, ReadError)]


@pytest.mark.parametrize(
    ("name", "raw", "reason"),
    [
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "binary file"),
        # Latin-1 and Windows-1252 files are read now (issue 19; tests/indexer/test_encodings.py); bytes that
        # fit no text encoding still are not
        ("noise.txt", bytes(range(1, 256)) * 4, "not valid UTF-8 (byte 127), and no other text encoding fits"),
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\n\t \r\n", "empty file"),
        ("empty.jsonl", b"", "empty file"),
        ("blank.jsonl", b"\n\n   \n", "empty file"),
        ("binary.jsonl", b"{\x00\x01\x02}" * 10, "binary file"),
    ],
)
def test_a_broken_file_is_reported_and_the_rest_is_read(tmp_path, name, raw, reason):
    (tmp_path / name).write_bytes(raw)
    (tmp_path / "ok.txt").write_text("Titel der Meldung\n\nDer Rat tagt am Montag.", encoding="utf-8")
    articles, errors = split(read_articles([tmp_path]))
    assert [a.doc_id for a in articles] == ["ok"]
    assert len(errors) == 1 and errors[0].origin.startswith(str(tmp_path / name)) and reason in errors[0].reason
    assert str(errors[0]).startswith(str(tmp_path / name))  # "FILE: reason" for people


def test_bad_jsonl_lines_are_reported_by_line_and_the_good_ones_kept(tmp_path):
    lines = [
        json.dumps(GOOD),
        '{"id": "kaputt", "title": ',  # malformed JSON
        json.dumps({"id": "ohne-text", "title": "T"}),
        json.dumps({**GOOD, "id": "a//b"}),  # "a/b" is a doc_id now (a path below a folder; issue 19), "a//b" not
        json.dumps({**GOOD, "id": "..", "title": "x"}),
        json.dumps({**GOOD, "id": "typ", "title": 5}),
        json.dumps(["kein", "objekt"]),
        json.dumps({**GOOD, "id": "leer", "text": "   "}),
        json.dumps({**GOOD, "id": "datum", "published": "gestern"}),
        "",
        json.dumps({**GOOD, "id": "gut-2", "url": "https://example.org/x"}),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8") + b"\n\xff\xfe broken bytes\n")
    articles, errors = split(read_articles([path]))
    # a bad optional field (a title that is a number, a date that is none) costs only that field (issue 19)
    assert [a.doc_id for a in articles] == ["gut-1", "typ", "datum", "gut-2"]
    assert articles[3].url == "https://example.org/x" and articles[0].origin == f"{path}:1"
    assert articles[1].title == "Ein Satz über den Gemeinderat." and articles[1].warnings == (
        "title: Input should be a valid string; indexed without title",)
    assert articles[2].published is None and articles[2].warnings[0].startswith("published: not a date: 'gestern'")
    reasons = {int(e.origin.rsplit(":", 1)[1]): e.reason for e in errors}
    assert set(reasons) == {2, 3, 4, 5, 7, 8, 12}
    assert "invalid JSON" in reasons[2]
    assert reasons[3].startswith("text: field required")  # … or "html"
    assert reasons[4] == ("id: 'a//b' is not a doc_id; use letters, digits and _ . : @ + -, in segments joined by / "
                          "(each starting with a letter or digit), up to 200 characters, no '..'")
    assert "id" in reasons[5]
    assert "object" in reasons[7].lower() or "dictionary" in reasons[7].lower()
    assert "non-whitespace" in reasons[8]
    assert "invalid JSON" in reasons[12]  # its bytes are decoded now (not UTF-8: detected), but it is no JSON


def test_text_files_normalise_line_ends_and_take_their_id_from_the_name(tmp_path):
    path = tmp_path / "Ärger im Rat (2024)..final.txt"
    path.write_bytes("\ufeffTitel\r\n\r\nDer Rat tagt.\rWieder.".encode())
    (article,) = read_articles([path])
    assert article.text == "Titel\n\nDer Rat tagt.\nWieder."
    assert article.doc_id == doc_id_from_path(path) == "Ärger-im-Rat-2024-.final"
    assert ".." not in doc_id_from_path(tmp_path / "a..b.txt")
    assert len(doc_id_from_path(tmp_path / ("x" * 300 + ".txt"))) <= 200


def test_missing_paths_unsupported_and_special_files_are_reported(tmp_path):
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")  # .pdf is read now (issue 19); .docx is not
    fifo = tmp_path / "pipe.txt"
    import os

    os.mkfifo(fifo)
    items = list(read_articles([tmp_path / "gone", tmp_path / "notes.docx", fifo]))
    assert SUPPORTED_HINT == "use .txt, .md, .html, .jsonl, .pdf or an RSS/Atom feed (.xml)"
    assert [str(e) for e in items] == [
        f"{tmp_path / 'gone'}: no such file or directory",
        f"{tmp_path / 'notes.docx'}: unsupported file type .docx; {SUPPORTED_HINT}",
        f"{fifo}: not a regular file or folder",
    ]
    # in a folder too, nothing is skipped in silence: each file that is not an article is named, with why
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main")
    assert [str(e) for e in read_articles([tmp_path])] == [
        f"{tmp_path / '.git'}: hidden folder, not read",
        f"{tmp_path / 'notes.docx'}: unsupported file type .docx; {SUPPORTED_HINT}",
        f"{fifo}: not a regular file or folder",
    ]


def test_an_oversized_text_file_is_refused_without_reading_it_whole(tmp_path, monkeypatch):
    import indexer.ingest.readers as readers

    monkeypatch.setattr(readers, "MAX_FILE_BYTES", 1000)
    (tmp_path / "big.txt").write_text("Satz. " * 500, encoding="utf-8")
    (error,) = read_articles([tmp_path / "big.txt"])
    assert isinstance(error, ReadError) and "file too large (3000 bytes" in error.reason


def test_jsonl_without_title_takes_it_from_the_text_and_dates_are_normalised(tmp_path):
    lines = [
        {"id": "ohne-titel", "text": "Rat beschließt neues Bad\n\nDer Rat hat am Montag das Bad beschlossen."},
        {"id": "nur-lead", "text": "Der Rat hat am Montag das neue Hallenbad beschlossen. Es kostet zwölf Millionen."},
        {"id": "null-titel", "title": None, "text": "Kurzer Satz.", "published": "21. Mai 2025"},
        {"id": "d1", "title": "T", "text": "Satz.", "published": "21.05.2025"},
        {"id": "d2", "title": "T", "text": "Satz.", "published": "2025-05-21T08:00:00+02:00"},
        {"id": "d3", "title": "T", "text": "Satz.", "published": "May 21, 2025"},
        {"id": "html", "html": "<html><body><article><h1>Bad eröffnet</h1><p>Das neue Hallenbad ist seit Montag "
                               "geöffnet. Der Eintritt kostet fünf Euro.</p></article></body></html>"},
    ]
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines), encoding="utf-8")
    articles = {a.doc_id: a for a in read_articles([path])}
    assert articles["ohne-titel"].title == "Rat beschließt neues Bad"
    assert articles["nur-lead"].title == "Der Rat hat am Montag das neue Hallenbad beschlossen."
    assert articles["null-titel"].title == "Kurzer Satz." and articles["null-titel"].published == "2025-05-21"
    assert {articles[d].published for d in ("d1", "d2", "d3")} == {"2025-05-21"}
    assert articles["html"].title == "Bad eröffnet" and "Der Eintritt kostet fünf Euro." in articles["html"].text
    assert "<" not in articles["html"].text


def test_a_bad_date_is_still_a_clear_message_but_costs_only_the_date(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"id": "x", "title": "T", "text": "Satz.", "published": "letzten Dienstag"}))
    (article,) = read_articles([path])  # the article is indexed without its date (issue 19)
    assert article.published is None and article.warnings == (
        "published: not a date: 'letzten Dienstag' (use e.g. 2025-05-21, 21.05.2025 or 21. Mai 2025); "
        "indexed without published",)


def test_html_files_beside_text_files_in_a_folder(tmp_path):
    (tmp_path / "seite.html").write_text("<html><head><title>Bad eröffnet | Kreisblatt</title></head><body><article>"
                                         "<h1>Bad eröffnet</h1><p>Das neue Hallenbad ist seit Montag geöffnet. Der "
                                         "Eintritt kostet fünf Euro.</p></article></body></html>", encoding="utf-8")
    (tmp_path / "notiz.txt").write_text("Titel der Notiz hier\n\nDer Rat tagt am Montag.", encoding="utf-8")
    assert [a.doc_id for a in read_articles([tmp_path])] == ["notiz", "seite"]
