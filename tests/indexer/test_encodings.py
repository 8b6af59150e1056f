"""Text files that are not UTF-8 (issue 19): decoded by detection, the encoding used reported as a
warning; only bytes that fit no encoding are refused. Real Latin-1 and Windows-1252 files, with „“
quotes and the € sign, as newsroom archives hold them."""

from __future__ import annotations

import json

import pytest

from core.documents import Article
from indexer.ingest.decoding import decode
from indexer.ingest.readers import ReadError, read_articles

# Latin-1 has no „“ and no €: its files use "…" and "EUR"; Windows-1252 has both.
LATIN1 = ("Straßensanierung in Gießen beginnt\n\nGießen, 03.04.2025\n\n"
          "Die Stadt lässt ab Montag die Frankfurter Straße sanieren. Die Arbeiten kosten 1,2 Millionen EUR, "
          "teilte das Bauamt mit. \"Wir bitten um Verständnis\", sagte die Bürgermeisterin.")
CP1252 = ("Neue Gebühren für Müllabfuhr\n\nVon Katharina Mehlhorn\n\n"
          "„Die Gebühren steigen um 4 €“, sagte der Kämmerer – das sind 12 Prozent mehr als im Vorjahr. "
          "Die Grünen kritisierten die Erhöhung als „unsozial“.")


def read_one(path) -> Article:
    (article,) = read_articles([path])
    assert isinstance(article, Article), article
    return article


@pytest.mark.parametrize(("text", "encoding", "named"), [(LATIN1, "latin-1", "cp1252"), (CP1252, "cp1252", "cp1252")])
def test_a_legacy_text_file_is_decoded_and_the_encoding_reported(tmp_path, text, encoding, named):
    path = tmp_path / "artikel.txt"
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    article = read_one(path)
    assert article.text == text
    # Latin-1 text is Windows-1252 text (the same bytes, the same characters): named as the wider one
    assert article.warnings == (f"decoded as {named} (not UTF-8)",)


def test_the_metadata_of_a_legacy_file_is_found_as_in_utf8(tmp_path):
    (tmp_path / "latin1.txt").write_bytes(LATIN1.encode("latin-1"))
    (tmp_path / "cp1252.md").write_bytes(CP1252.encode("cp1252"))
    articles = {a.doc_id: a for a in read_articles([tmp_path])}
    assert (articles["latin1"].published, articles["latin1"].place) == ("2025-04-03", "Gießen")
    assert articles["cp1252"].author == "Katharina Mehlhorn" and articles["cp1252"].source is None
    assert "„Die Gebühren steigen um 4 €“" in articles["cp1252"].text


def test_utf8_files_get_no_warning_and_utf16_with_a_byte_order_mark_is_read(tmp_path):
    (tmp_path / "utf8.txt").write_text(CP1252, encoding="utf-8")
    (tmp_path / "utf8-bom.txt").write_bytes(b"\xef\xbb\xbf" + CP1252.encode("utf-8"))
    (tmp_path / "utf16.txt").write_bytes(CP1252.encode("utf-16"))  # Notepad's "Unicode"
    articles = {a.doc_id: a for a in read_articles([tmp_path])}
    assert articles["utf8"].text == articles["utf8-bom"].text == articles["utf16"].text == CP1252
    assert articles["utf8"].warnings == articles["utf8-bom"].warnings == ()
    assert articles["utf16"].warnings == ("decoded as utf_16 (not UTF-8)",)


def test_a_legacy_web_page_without_a_declared_charset(tmp_path):
    page = ("<html><head><title>Gebühren steigen</title></head><body><article><h1>Gebühren steigen</h1>"
            "<p>„Die Gebühren steigen um 4 €“, sagte der Kämmerer am Dienstag im Rathaus der Stadt. "
            "Das sind zwölf Prozent mehr als im Vorjahr, die Grünen sprechen von einer unsozialen Erhöhung.</p>"
            "</article></body></html>")
    (tmp_path / "seite.html").write_bytes(page.encode("cp1252"))
    article = read_one(tmp_path / "seite.html")
    assert "„Die Gebühren steigen um 4 €“" in article.text
    assert article.warnings == ("decoded as cp1252 (not UTF-8)",)


def test_a_page_declaring_latin1_is_read_as_browsers_read_it(tmp_path):
    """A page that says iso-8859-1 but holds „“ and € (Windows-1252 bytes) shows them in every browser."""
    page = ('<html><head><meta charset="iso-8859-1"><title>Preise</title></head><body><article>'
            "<p>„Das Ticket kostet künftig 49 €“, sagte die Sprecherin der Verkehrsbetriebe am Montag. "
            "Bisher kostete es 29 Euro, die Erhöhung gilt ab dem ersten Juli.</p></article></body></html>")
    (tmp_path / "preise.html").write_bytes(page.encode("cp1252"))
    article = read_one(tmp_path / "preise.html")
    assert "„Das Ticket kostet künftig 49 €“" in article.text
    assert article.warnings == ()  # the page declared its encoding: nothing was guessed


def test_jsonl_lines_that_are_not_utf8_are_decoded_and_reported_once(tmp_path):
    lines = [{"id": "eins", "text": "„Zitat“ über 5 € Gebühr."}, {"id": "zwei", "text": "Straße in München."},
             {"id": "drei", "text": "Größere Summe: 7 €."}]
    raw = b"\n".join(json.dumps(line, ensure_ascii=False).encode("utf-8" if i == 1 else "cp1252")
                     for i, line in enumerate(lines))
    (tmp_path / "gemischt.jsonl").write_bytes(raw)
    articles = list(read_articles([tmp_path / "gemischt.jsonl"]))
    assert [a.text for a in articles] == [line["text"] for line in lines]
    assert articles[0].warnings == ("decoded as cp1252 (not UTF-8); so is every later line of this file that is "
                                    "not UTF-8",)
    assert articles[1].warnings == articles[2].warnings == ()


def test_only_bytes_that_fit_no_encoding_are_refused(tmp_path):
    (tmp_path / "rauschen.txt").write_bytes(bytes(range(1, 256)) * 4)
    (error,) = read_articles([tmp_path / "rauschen.txt"])
    assert isinstance(error, ReadError)
    assert error.reason == "not valid UTF-8 (byte 127), and no other text encoding fits: binary data?"
    with pytest.raises(ValueError, match="binary file"):
        decode(b"Text\x00mit NUL")
