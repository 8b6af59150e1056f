import pytest

from indexer.ingest.readers import read_articles
from tests.paths import BUNDLED_CORPUS
from text.metadata import detect_metadata, parse_date


def _by_id():
    return {a.doc_id: a for a in read_articles([BUNDLED_CORPUS])}


def test_sample_titles_sources_and_dates():
    articles = _by_id()
    assert articles["003_b4d41754e5c68a6e"].title == "Nordkoreas Hilfe für Russland – wie Kim Putin unter die Arme greift"
    assert articles["003_b4d41754e5c68a6e"].source == "t-online"
    assert articles["003_b4d41754e5c68a6e"].published == "2024-10-15"
    assert articles["002_f98be471c2941e97"].source == "Chas Pravdy"
    assert articles["002_f98be471c2941e97"].published == "2025-05-29"
    assert articles["001_f0337515d6951f32"].title == (
        "Nordkorea verstärkt militärische Unterstützung für Russland im Ukraine-Konflikt"
    )


def test_lead_paragraph_gives_a_short_title():
    article = _by_id()["000_d5f171a248e72cd8"]
    assert article.title.startswith("In einer schockierenden Eskalation")
    assert len(article.title) <= 160


def test_iso_and_numeric_dates():
    assert detect_metadata("Titel der Meldung hier\n2024-03-01\nText.").published == "2024-03-01"
    assert detect_metadata("Titel der Meldung hier\n01.03.2024, 10:15 Uhr\nText.").published == "2024-03-01"
    assert detect_metadata("Titel der Meldung hier\n31.02.2024\nText.").published is None


def test_a_url_line_and_an_outlet_date_line_become_url_source_and_date():
    text = ("Neue Elbbrücke: Stadtrat gibt grünes Licht\nTagesblick - 21.05.2025 08:00\n"
            "https://www.tagesblick.example/regional/elbbruecke-100.html\n\nDer Stadtrat hat entschieden.")
    meta = detect_metadata(text)
    assert (meta.title, meta.source, meta.published) == ("Neue Elbbrücke: Stadtrat gibt grünes Licht", "Tagesblick",
                                                         "2025-05-21")
    assert meta.url == "https://www.tagesblick.example/regional/elbbruecke-100.html"
    assert meta.meta_lines == {2, 3}


@pytest.mark.parametrize(
    ("line", "source", "published"),
    [
        ("Tagesblick – 21. Mai 2025", "Tagesblick", "2025-05-21"),
        ("Hansepost | 03.06.2025, 14:20 Uhr", "Hansepost", "2025-06-03"),
        ("Reuters - May 21, 2025", "Reuters", "2025-05-21"),
        ("Chas Pravdy - 29 Mai 2025 16:44", "Chas Pravdy", "2025-05-29"),
        ("Von Anna Muster, dpa", "dpa", None),
        ("Von Anna Muster und Max Beispiel (AFP)", "AFP", None),
        ("By Jane Doe | Reuters", "Reuters", None),
        ("Von Anna Muster", None, None),  # no outlet named: no source (an author is never the outlet; issue 19)
        ("Stand: 21.05.2025, 08:00 Uhr", None, "2025-05-21"),
        ("Mittwoch, 21. Mai 2025", None, "2025-05-21"),
    ],
)
def test_source_byline_and_date_lines(line, source, published):
    meta = detect_metadata(f"Titel der Meldung hier\n{line}\nDer Rat tagt am Montag im Rathaus.")
    assert (meta.title, meta.source, meta.published, meta.meta_lines) == ("Titel der Meldung hier", source,
                                                                          published, {2})


@pytest.mark.parametrize(
    "line",
    ["Von Berlin aus fuhr der Zug weiter nach Prag.", "Von Kiew nach Berlin", "Nordkorea – wie Kim Putin hilft",
     "Berlin - die Stadt schläft nie", "Der Rat - 12 Stimmen dafür"],
)
def test_prose_and_headlines_are_not_metadata(line):
    meta = detect_metadata(f"Titel der Meldung hier\n{line}\nDer Rat tagt.")
    assert meta.meta_lines == set() and meta.source is None and meta.published is None


def test_the_title_is_never_a_metadata_line_and_a_url_below_the_article_counts():
    text = "Tagesblick – 21. Mai 2025\nNeue Elbbrücke beschlossen\n" + "Ein Satz.\n" * 30 + "Quelle: https://x.example/a"
    meta = detect_metadata(text)
    assert (meta.title, meta.source, meta.url) == ("Neue Elbbrücke beschlossen", "Tagesblick", "https://x.example/a")


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2025-05-21", "2025-05-21"), ("2025-05-21T08:00:00+02:00", "2025-05-21"),
        ("2025-05-21T23:30:00Z", "2025-05-21"),
        ("2025-05-21 08:00", "2025-05-21"), ("21.05.2025", "2025-05-21"), ("21.5.2025, 8:00 Uhr", "2025-05-21"),
        ("21. Mai 2025", "2025-05-21"), ("21. März 2025", "2025-03-21"), ("3. Sept. 2024", "2024-09-03"),
        ("May 21, 2025", "2025-05-21"), ("21 May 2025", "2025-05-21"), ("2025/05/21", "2025-05-21"),
        ("Wed, 21 May 2025 08:00:00 +0200", "2025-05-21"), ("Mittwoch, 21. Mai 2025", "2025-05-21"),
        ("gestern", None), ("31.02.2024", None), ("2024-13-45", None), ("21.05.25", None), ("", None),
        ("Mai 2025", None),
    ],
)
def test_parse_date(value, iso):
    assert parse_date(value) == iso


def test_a_txt_file_keeps_its_url(tmp_path):
    (tmp_path / "a.txt").write_text("Titel der Meldung hier\nhttps://www.example.org/artikel/1\n\nDer Rat tagt.",
                                    encoding="utf-8")
    (article,) = read_articles([tmp_path])
    assert article.url == "https://www.example.org/artikel/1"


# -- datelines and bylines (issue 19) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "place", "published", "source"),
    [
        ("Gießen, 03.04.2025", "Gießen", "2025-04-03", None),
        ("BERLIN (dpa) –", "Berlin", None, "dpa"),
        ("Hamburg, 3. April 2025 –", "Hamburg", "2025-04-03", None),
        ("Frankfurt am Main, 2025-04-03", "Frankfurt am Main", "2025-04-03", None),
        ("FRANKFURT/MAIN (dpa/lhe) -", "Frankfurt/Main", None, "dpa/lhe"),
        ("Wiesbaden (AFP), 3. April 2025:", "Wiesbaden", "2025-04-03", "AFP"),
    ],
)
def test_a_dateline_gives_place_date_and_agency(line, place, published, source):
    meta = detect_metadata(f"Titel der Meldung hier\n{line}\nDer Rat tagt am Montag im Rathaus.")
    assert (meta.place, meta.published, meta.source, meta.meta_lines) == (place, published, source, {2})


@pytest.mark.parametrize(
    ("text", "place", "published", "source", "title"),
    [
        ("Regierung beschließt Paket\n\nBERLIN (dpa) – Die Bundesregierung hat am Montag ein Paket beschlossen.",
         "Berlin", None, "dpa", "Regierung beschließt Paket"),
        ("Hafen meldet Rekord\n\nHamburg, 3. April 2025 – Der Hafen hat so viel umgeschlagen wie nie.",
         "Hamburg", "2025-04-03", None, "Hafen meldet Rekord"),
        # no headline: the lead's first sentence is the title, without its dateline
        ("BERLIN (dpa) – Die Bundesregierung hat am Montag ein Paket beschlossen. Es kostet viel Geld.",
         "Berlin", None, "dpa", "Die Bundesregierung hat am Montag ein Paket beschlossen."),
    ],
)
def test_a_dateline_that_opens_the_first_paragraph_is_read_and_the_paragraph_stays_prose(text, place, published,
                                                                                       source, title):
    meta = detect_metadata(text)
    assert (meta.place, meta.published, meta.source, meta.title, meta.meta_lines) == (place, published, source,
                                                                                       title, set())


@pytest.mark.parametrize(
    "text",
    ["Titel der Meldung hier\n\nDer Rat tagt.\n\nBerlin, 3. Oktober 1990 – an diesem Tag endete die Teilung.",
     "Titel der Meldung hier\n\nBerlin - die Stadt schläft nie.", "Titel der Meldung hier\n\nKiew, Moskau, Berlin – "
     "die Hauptstädte reagierten.", "Titel der Meldung hier\n\nMittwoch, 21. Mai 2025 – ein Tag wie jeder andere."],
)
def test_a_place_in_prose_is_no_dateline(text):
    """Only the first paragraph may open with a dateline; a place needs an agency or a date to be one."""
    assert detect_metadata(text).place is None


@pytest.mark.parametrize(
    ("line", "author", "source"),
    [
        ("Von Katharina Mehlhorn", "Katharina Mehlhorn", None),
        ("Text: Katharina Mehlhorn", "Katharina Mehlhorn", None),
        ("Text und Fotos: Katharina Mehlhorn", "Katharina Mehlhorn", None),
        ("Von Anna Muster, dpa", "Anna Muster", "dpa"),
        ("Tobias Schibilla / t-online", "Tobias Schibilla", "t-online"),
    ],
)
def test_a_byline_gives_the_author_and_only_a_named_outlet_is_the_source(line, author, source):
    meta = detect_metadata(f"Titel der Meldung hier\n{line}\nDer Rat tagt am Montag im Rathaus.")
    assert (meta.author, meta.source, meta.meta_lines) == (author, source, {2})
