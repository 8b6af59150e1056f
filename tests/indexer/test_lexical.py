"""BM25 terms and the question-language cue (no model needed)."""

import sqlite3

import pytest

from indexer.lexical import GERMAN, STOPWORDS, fts_query, question_language, terms


def test_german_inflections_share_a_stem():
    assert terms("Soldaten") == terms("Soldat")
    assert terms("nordkoreanische") == terms("nordkoreanischen")
    assert terms("Raketen")[0] == terms("Rakete")[0]


def test_function_words_of_both_languages_are_dropped():
    assert terms("Wie viele sind es in der Stadt?") == terms("Stadt")
    assert terms("How many of them were there in the city?") == terms("city")
    assert not set(terms("die der das und oder the of and were have had")) 


def test_grouped_numbers_are_one_term_and_compounds_give_their_parts():
    assert "10000" in terms("mehr als 10.000 Soldaten")
    assert "650000" in terms("650'000 Fälle")
    parts = terms("Raketen vom Typ KN-23")
    assert {"kn23", "kn", "23"} <= set(parts)


def test_question_and_passage_terms_meet():
    question = set(terms("Wie viele nordkoreanische Soldaten sind in Russland?"))
    passage = set(terms("dass mehr als 10.000 nordkoreanische Soldaten in Russland sind"))
    assert question and question <= passage


def test_fts_query_is_a_quoted_or_of_unique_terms_and_safe_to_run():
    query = fts_query('Soldaten "Soldat" AND NEAR( x* OR')
    assert query.startswith('"soldat"') and query.count('"soldat"') == 1
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0')")
    db.execute("INSERT INTO f(rowid, terms) VALUES (1, ?)", (" ".join(terms("Ein Soldat und ein AND-Gatter")),))
    assert db.execute("SELECT rowid FROM f WHERE f MATCH ?", (query,)).fetchall() == [(1,)]


def test_a_question_of_only_function_words_has_no_query():
    assert fts_query("Wie viele sind es?") is None
    assert fts_query("") is None


@pytest.mark.parametrize("question", [
    "Wie viele nordkoreanische Soldaten sind in Russland?",
    "Wann wurde der Vertrag unterzeichnet?",
    "Was übersetzte Marlee Matlin?",
    "In welchem Jahr starb Tesla?",
    "Putin Kim Treffen",  # no cue at all: the articles' language
    "Kim Jong Un",
])
def test_german_and_unclear_questions_count_as_german(question):
    assert question_language(question) == "de"


@pytest.mark.parametrize("question", [
    "How many North Korean soldiers are in Russia?",
    "Who is Kim?",
    "Where was Temüjin's patron Toghrul exiled?",  # a name with an umlaut does not make it German
    "When did the treaty between Moscow and Pyongyang come into force?",
])
def test_english_questions_are_recognised(question):
    assert question_language(question) == "en"


def test_stopword_lists_keep_german_content_words():
    for word in ("krieg", "soldaten", "rakete", "stadt", "bald", "kind", "gift"):
        assert word not in STOPWORDS
    assert {"wie", "viele", "wann", "welche"} <= GERMAN
