"""Authors (issue 19): bylines, <meta name="author"> and the "author" field fill Article.author; a
byline never becomes the source, which holds outlets only."""

from __future__ import annotations

import json

from core.documents import Article
from indexer.ingest.readers import read_articles
from indexer.ingest.schema import ArticleBody, ArticleIn

BODY = ("Der Gemeinderat hat am Dienstagabend den Haushalt für das kommende Jahr beschlossen. Die Schulden "
        "sinken um vier Millionen Euro, die Grundsteuer bleibt unverändert.")


def read_one(path) -> Article:
    (article,) = read_articles([path])
    assert isinstance(article, Article), article
    return article


def test_an_italic_markdown_byline_is_the_author_not_the_source(tmp_path):
    (tmp_path / "haushalt.md").write_text(f"# Haushalt beschlossen\n\n*Von Katharina Mehlhorn*\n\n{BODY}\n",
                                          encoding="utf-8")
    article = read_one(tmp_path / "haushalt.md")
    assert (article.author, article.source) == ("Katharina Mehlhorn", None)
    assert "Katharina Mehlhorn" not in " ".join(article.text[s:e] for s, e in _kept(article))


def test_text_bylines_and_an_outlet_named_with_them(tmp_path):
    (tmp_path / "a.txt").write_text(f"Haushalt beschlossen\nText: Katharina Mehlhorn\n\n{BODY}", encoding="utf-8")
    (tmp_path / "b.txt").write_text(f"Haushalt beschlossen\nVon Anna Muster, Gießener Anzeiger\n\n{BODY}",
                                    encoding="utf-8")
    (tmp_path / "c.txt").write_text(f"Haushalt beschlossen\nTobias Schibilla / t-online\n\n{BODY}", encoding="utf-8")
    found = {a.doc_id: (a.author, a.source) for a in read_articles([tmp_path])}
    assert found == {"a": ("Katharina Mehlhorn", None), "b": ("Anna Muster", "Gießener Anzeiger"),
                     "c": ("Tobias Schibilla", "t-online")}


def test_a_web_page_states_its_author_in_meta_and_its_outlet_as_site_name(tmp_path):
    page = ('<html><head><title>Haushalt beschlossen</title><meta name="author" content="Katharina Mehlhorn">'
            '<meta property="og:site_name" content="Gießener Anzeiger"></head><body><article>'
            f"<h1>Haushalt beschlossen</h1><p>{BODY}</p></article></body></html>")
    (tmp_path / "mit-outlet.html").write_text(page, encoding="utf-8")
    (tmp_path / "ohne-outlet.html").write_text(page.replace('<meta property="og:site_name" content="Gießener '
                                                            'Anzeiger">', ""), encoding="utf-8")
    found = {a.doc_id: (a.author, a.source) for a in read_articles([tmp_path])}
    assert found == {"mit-outlet": ("Katharina Mehlhorn", "Gießener Anzeiger"),
                     "ohne-outlet": ("Katharina Mehlhorn", None)}  # the author was the source before issue 19


def test_jsonl_and_the_write_api_take_an_author(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "x", "text": BODY, "author": "Katharina Mehlhorn",
                                                  "source": "Gießener Anzeiger"}), encoding="utf-8")
    assert (read_one(tmp_path / "a.jsonl").author, read_one(tmp_path / "a.jsonl").source) == (
        "Katharina Mehlhorn", "Gießener Anzeiger")
    assert ArticleBody.model_validate({"text": BODY, "author": " Anna Muster "}).to_article("y").author == "Anna Muster"
    page = (f'<html><head><meta name="author" content="Katharina Mehlhorn"></head><body><article><p>{BODY}</p>'
            "</article></body></html>")
    assert ArticleIn.model_validate({"id": "z", "html": page}).to_article().author == "Katharina Mehlhorn"
    assert ArticleIn.model_validate({"id": "z", "html": page, "author": "Redaktion"}).to_article().author == "Redaktion"


def test_the_author_counts_in_the_content_hash_only_when_set():
    """An index written before authors existed keeps its hashes: nothing is re-embedded for it."""
    import hashlib

    plain = Article(doc_id="a", title="T", text="Text.")
    legacy = {"doc_id": "a", "title": "T", "text": "Text.", "source": None, "published": None, "url": None}
    assert plain.content_hash() == hashlib.sha256(json.dumps(legacy, sort_keys=True).encode()).hexdigest()
    assert Article(doc_id="a", title="T", text="Text.", author="A").content_hash() != plain.content_hash()
    assert Article(doc_id="a", title="T", text="Text.", warnings=("decoded as cp1252",)).content_hash() == \
        plain.content_hash()


def _kept(article: Article) -> list[tuple[int, int]]:
    from text.cleaning import clean

    return [(s.start, s.end) for s in clean(article.text, article.title)]
