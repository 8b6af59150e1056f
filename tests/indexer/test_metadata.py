from indexer.config import BUNDLED_CORPUS
from indexer.metadata import detect_metadata
from indexer.readers import read_articles


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
