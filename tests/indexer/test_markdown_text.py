"""Markdown is read as Markdown: no markup in passages, bylines and dates as metadata, no prose line dropped."""

from __future__ import annotations

import re

import pytest

from indexer.ingest.markdown_text import read_markdown, render
from indexer.ingest.readers import ReadError, read_articles
from text.chunking import chunk
from text.cleaning import clean

# The article a new user tried (issue 11): "#" in the title, "**", link syntax and list dashes in its
# passages, the italic byline taken for a heading, the last list item dropped.
ARTICLE = """\
Verkehr

# Neue Elbbrücke: Stadtrat gibt **grünes Licht**

*Von Anna Muster, dpa*

21.05.2025, 08:00 Uhr

Nach monatelangem Streit hat der Dresdner [Stadtrat](https://www.dresden.de/rat "Stadtrat") am Dienstagabend
den Neubau der eingestürzten Carolabrücke beschlossen. Die Brücke soll bis 2031 fertig sein.

## Opposition kritisiert die Kosten

Kritik kam vor allem von den _Freien Wählern_. Deren Chef nannte das Projekt __zu teuer__ und
`überdimensioniert`.

![Visualisierung der Brücke](bruecke.jpg)

> „Wir werden jeden Euro zweimal umdrehen“, sagte Baubürgermeister Stephan Kühn.

## Die wichtigsten Eckdaten

- Baubeginn: Frühjahr 2027
- Fertigstellung: Ende 2031
- Länge: 375 Meter
- Kosten: 2,3 Milliarden Euro
"""


def passages(text: str, title: str):
    return chunk("md", text, clean(text, title))


def test_title_is_the_first_heading_and_the_byline_and_date_are_metadata():
    md = read_markdown(ARTICLE)
    assert md.title == "Neue Elbbrücke: Stadtrat gibt grünes Licht"
    assert (md.source, md.author, md.published) == ("dpa", "Anna Muster", "2025-05-21")


def test_no_markup_reaches_the_text():
    text = read_markdown(ARTICLE).text
    assert not re.search(r"[#*_`\[\]]|\]\(|^\s*[-+] |^\s*\d+\. |^>", text, re.MULTILINE), text
    assert "https://" not in text and "bruecke.jpg" not in text and "Visualisierung" not in text
    assert "der Dresdner Stadtrat am Dienstagabend den Neubau" in text  # link text kept, soft break a space
    assert "nannte das Projekt zu teuer und überdimensioniert." in text


def test_every_prose_line_reaches_a_passage_the_last_list_item_included():
    md = read_markdown(ARTICLE)
    found = [p.text for p in passages(md.text, md.title)]
    for line in ("Nach monatelangem Streit", "Kritik kam vor allem", "„Wir werden jeden Euro zweimal umdrehen“",
                 "Baubeginn: Frühjahr 2027", "Fertigstellung: Ende 2031", "Länge: 375 Meter",
                 "Kosten: 2,3 Milliarden Euro"):
        assert any(line in p for p in found), line
    assert not any("Von Anna Muster" in p or "21.05.2025" in p or "Elbbrücke: Stadtrat" in p for p in found)


def test_headings_are_passage_context_and_the_byline_is_not_a_heading():
    md = read_markdown(ARTICLE)
    by_text = {p.text: p.heading for p in passages(md.text, md.title)}
    assert by_text["Kosten: 2,3 Milliarden Euro"] == "Die wichtigsten Eckdaten"
    assert by_text["„Wir werden jeden Euro zweimal umdrehen“, sagte Baubürgermeister Stephan Kühn."] == (
        "Opposition kritisiert die Kosten")
    assert "Von Anna Muster, dpa" not in {p.heading for p in passages(md.text, md.title)}


def test_list_items_are_lines_of_one_block_and_blocks_are_separated_by_blank_lines():
    text, title = render("# T\n\nEin Absatz.\n\n1. Erstens kommt es\n2. Zweitens anders\n   - verschachtelt hier\n\n"
                         "Schluss.\n")
    assert title == "T"
    assert text == "T\n\nEin Absatz.\n\nErstens kommt es\nZweitens anders\nverschachtelt hier\n\nSchluss."


def test_html_in_markdown_keeps_its_words_not_its_tags_or_scripts():
    text, _ = render('Ein <span onclick="alert(1)">Wort</span> hier.<script>alert("x")</script> Ende.\n\n'
                     '<div class="box"><script>steal()</script><p>Block mit <b>Text</b></p></div>\n\n'
                     "Zeile eins  \nZeile zwei\n")
    assert text == "Ein Wort hier. Ende.\n\nBlock mit Text\n\nZeile eins\nZeile zwei"


def test_tables_and_code_keep_their_text():
    text, _ = render("| Hafen | TEU |\n|---|---|\n| Hamburg | 1,86 |\n\n```\nwert = 42\n```\n")
    assert text == "Hafen | TEU\nHamburg | 1,86\n\nwert = 42"


def test_front_matter_is_metadata():
    md = read_markdown('---\ntitle: "Gletscherbericht"\ndate: 14.03.2025\nauthor: Markus Reiter\n'
                       "source: Alpenecho\nurl: https://alpenecho.example/gletscher\n---\n\n"
                       "Die bayerischen Gletscher verlieren so viel Eis wie nie.\n")
    assert (md.title, md.published, md.author, md.source, md.url) == (
        "Gletscherbericht", "2025-03-14", "Markus Reiter", "Alpenecho", "https://alpenecho.example/gletscher")
    assert md.text == "Die bayerischen Gletscher verlieren so viel Eis wie nie."


def test_md_files_are_read_as_markdown_with_exact_offsets(tmp_path):
    (tmp_path / "elbe.md").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "nur-markup.md").write_text("---\n\n![](bild.png)\n", encoding="utf-8")
    items = list(read_articles([tmp_path]))
    article, error = items
    assert article.doc_id == "elbe" and article.title == "Neue Elbbrücke: Stadtrat gibt grünes Licht"
    assert (article.source, article.published) == ("dpa", "2025-05-21")
    assert "**" not in article.text and article.text == read_markdown(ARTICLE).text
    for p in chunk(article.doc_id, article.text, clean(article.text, article.title)):
        assert article.text[p.char_start : p.char_end] == p.text
    assert isinstance(error, ReadError) and error.reason == "no text in the Markdown file (only markup)"


@pytest.mark.parametrize("suffix", [".md", ".markdown"])
def test_markdown_suffixes(tmp_path, suffix):
    (tmp_path / f"a{suffix}").write_text("# Titel der Meldung\n\nDer Rat tagt am **Montag**.\n", encoding="utf-8")
    (article,) = read_articles([tmp_path])
    assert article.text == "Titel der Meldung\n\nDer Rat tagt am Montag."
