"""PDFs (issue 19): the text layer in reading order, hyphenation undone, running headers, footers and
page numbers left out, paragraphs rebuilt, page starts kept; scans and broken files reported as such.
The PDFs are made here with reportlab (tests/fixtures/pdfs.py), every line placed by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.documents import Article
from indexer.ingest.errors import ReadError
from indexer.ingest.fetch import Fetcher, FetchLimits
from indexer.ingest.pdf import join_lines, read_pdf
from indexer.ingest.readers import read_articles, read_inputs
from tests.fixtures import pdfs
from text.chunking import chunk
from text.cleaning import clean


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    return pdfs.press_release(tmp_path_factory.mktemp("pdf") / "pressemitteilung.pdf")


@pytest.fixture(scope="module")
def article(release) -> Article:
    (read,) = read_articles([release])
    assert isinstance(read, Article), read
    return read


def test_paragraphs_are_rebuilt_with_words_whole_and_without_running_lines(article):
    assert article.text.split("\n\n") == pdfs.PARAGRAPHS
    for running in (pdfs.HEADER, pdfs.FOOTER, "Seite 1 von 3", "Seite 3"):
        assert running not in article.text
    assert not any(line.strip().isdigit() for line in article.text.splitlines())  # bare page numbers


@pytest.mark.parametrize(
    ("first", "second", "joined"),
    [
        ("Die Bundes-", "regierung will", "Die Bundesregierung will"),  # hyphenated at the line end: one word
        ("in Nord-", "und Südkorea", "in Nord- und Südkorea"),  # a suspended hyphen stays
        ("von Nord-", "oder Südkorea", "von Nord- oder Südkorea"),
        ("der CDU-", "Vorsitzenden", "der CDU-Vorsitzenden"),  # a hyphen before a capital is part of the word
        ("die Covid-", "19-Pandemie", "die Covid-19-Pandemie"),
        ("Millio\u00ad", "nen Euro", "Millionen Euro"),  # a soft hyphen
        ("sagte er –", "und ging", "sagte er – und ging"),  # a dash is no hyphen
        ("am Ende.", "Neuer Satz", "am Ende. Neuer Satz"),
    ],
)
def test_line_ends_are_joined_as_a_reader_reads_them(first, second, joined):
    assert join_lines(first, second) == joined


def test_where_each_page_starts_is_kept_for_citations(article):
    assert len(article.pages) == 3 and article.pages[0] == 0
    assert article.text[article.pages[1]:].startswith("auf der koreanischen Halbinsel befassen.")
    assert article.text[article.pages[2]:].startswith("Das Ministerium will die Ergebnisse")
    # the paragraph that runs on from page 1 to page 2 is one paragraph; its passage starts on page 1
    passages = chunk(article.doc_id, article.text, clean(article.text, article.title))
    pages = {p.text[:30]: article.page_of(p.char_start) for p in passages}
    assert pages == {"Die Bundesregierung will die F": 1, "Nach Angaben des Ministeriums ": 1,
                     "Kritik kommt von der Oppositio": 2, "Das Ministerium will die Ergeb": 3}


def test_metadata_from_the_text_and_the_document_information(article, release):
    assert article.doc_id == "pressemitteilung" and article.origin == str(release)
    assert article.title == pdfs.TITLE  # the document title "Microsoft Word - pm-12-2025.docx" is no title
    assert (article.published, article.place) == ("2025-04-03", "Wiesbaden")  # from the dateline
    assert article.author == "Katharina Mehlhorn" and article.source is None  # an author is no outlet
    assert article.warnings == ()


def test_body_paragraphs_are_counted_from_one(article):
    spans = clean(article.text, article.title)
    texts = [article.text[s.start:s.end] for s in spans]
    assert pdfs.TITLE not in texts and "Wiesbaden, 3. April 2025" not in texts  # title and dateline: metadata
    assert [s.paragraph for s in spans] == [1, 2, 3, 4]
    assert {s.heading for s in spans} == {None, "Kritik der Opposition"}


def test_a_scan_is_reported_as_one(tmp_path):
    (error,) = read_articles([pdfs.scan(tmp_path / "scan.pdf")])
    assert error == ReadError(str(tmp_path / "scan.pdf"), "no text layer: a scanned PDF? OCR is not supported")


def test_pages_without_text_are_named_in_a_warning(tmp_path):
    (article,) = read_articles([pdfs.partly_scanned(tmp_path / "teilweise.pdf")])
    assert article.text.startswith("Der Kreistag hat am Dienstag den Bau einer neuen Brücke")
    assert article.pages == (0, len(article.text))  # page 2 holds nothing, and starts where the text ends
    assert article.warnings == ("page 2 without a text layer (scanned?); not indexed (OCR is not supported)",)


def test_broken_and_encrypted_pdfs_are_reported(tmp_path):
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    (tmp_path / "kaputt.pdf").write_bytes(b"%PDF-1.7\n" + b"0" * 2000)
    (tmp_path / "leer.pdf").write_bytes(b"")
    (tmp_path / "falsch.pdf").write_bytes(b"<html><body>Das ist keine PDF-Datei.</body></html>")
    locked = canvas.Canvas(str(tmp_path / "geheim.pdf"), encrypt=pdfencrypt.StandardEncryption("geheim"))
    locked.drawString(72, 700, "Geheimer Text.")
    locked.save()
    owner_only = canvas.Canvas(str(tmp_path / "offen.pdf"),
                               encrypt=pdfencrypt.StandardEncryption("", ownerPassword="besitzer"))
    owner_only.drawString(72, 700, "Ein offener Text der Meldung, nur gegen Änderungen geschützt.")
    owner_only.save()
    found = {Path(item.origin).name: item for item in read_articles([tmp_path])}
    assert found["kaputt.pdf"].reason.startswith("not a readable PDF")
    assert found["leer.pdf"].reason == "not a PDF (no %PDF header)"
    assert found["falsch.pdf"].reason == "not a PDF (no %PDF header)"
    assert found["geheim.pdf"].reason == "encrypted PDF: it needs a password, which indexing does not have"
    assert found["offen.pdf"].text == "Ein offener Text der Meldung, nur gegen Änderungen geschützt."


def test_read_pdf_refuses_a_file_above_the_limit(tmp_path, monkeypatch, release):
    import indexer.ingest.pdf as pdf

    monkeypatch.setattr(pdf, "MAX_PDF_BYTES", 1000)
    with pytest.raises(ValueError, match="file too large"):
        read_pdf(release)


def test_a_pdf_url_and_a_feed_item_linking_to_a_pdf_are_read(web, release):
    body = release.read_bytes()
    web.overrides["/docs/pm-12-2025.pdf"] = ("application/pdf", body)
    web.overrides["/feeds/pdf.xml"] = ("application/rss+xml", (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Landesamt aktuell</title>'
        f'<item><title>Förderung für Korea-Forschung</title><link>{web.url("/docs/pm-12-2025.pdf")}?utm_source=rss'
        "</link><author>presse@statistik.example (Pressestelle)</author></item></channel></rss>").encode())
    with Fetcher(FetchLimits(total_timeout=10)) as fetcher:
        (by_url,) = read_inputs([web.url("/docs/pm-12-2025.pdf")], fetcher)
        (by_feed,) = read_inputs([web.url("/feeds/pdf.xml")], fetcher)
    assert isinstance(by_url, Article) and by_url.text.split("\n\n") == pdfs.PARAGRAPHS
    assert by_url.url == web.url("/docs/pm-12-2025.pdf") and len(by_url.pages) == 3
    assert by_url.doc_id.startswith("pm-12-2025-")  # the ".pdf" is not part of the slug
    assert by_feed.doc_id == by_url.doc_id  # the same document whether named or linked by a feed
    assert (by_feed.title, by_feed.source) == ("Förderung für Korea-Forschung", "Landesamt aktuell")
