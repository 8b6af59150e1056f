"""Query analysis: language, terms, BM25 weight, worked out once per question (no model needed)."""

import sqlite3

import pytest

from retrieval.query import Language, Mode, analyse, detect_language
from text.terms import terms


def fts_match(text: str) -> str | None:
    return analyse(text, None, Mode.LEXICAL).fts_match()


@pytest.mark.parametrize("question", [
    "Wie viele nordkoreanische Soldaten sind in Russland?",
    "Wann wurde der Vertrag unterzeichnet?",
    "Was übersetzte Marlee Matlin?",
    "In welchem Jahr starb Tesla?",
    "Putin Kim Treffen",  # no cue at all: the articles' language
    "Kim Jong Un",
])
def test_german_and_unclear_questions_count_as_german(question):
    assert detect_language(question) == Language.DE


@pytest.mark.parametrize("question", [
    "How many North Korean soldiers are in Russia?",
    "Who is Kim?",
    "Where was Temüjin's patron Toghrul exiled?",  # a name with an umlaut does not make it German
    "When did the treaty between Moscow and Pyongyang come into force?",
])
def test_english_questions_are_recognised(question):
    assert detect_language(question) == Language.EN


def test_fts_match_is_a_quoted_or_of_unique_terms_and_safe_to_run():
    query = fts_match('Soldaten "Soldat" AND NEAR( x* OR')
    assert query.startswith('"soldat"') and query.count('"soldat"') == 1
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0')")
    db.execute("INSERT INTO f(rowid, terms) VALUES (1, ?)", (" ".join(terms("Ein Soldat und ein AND-Gatter")),))
    assert db.execute("SELECT rowid FROM f WHERE f MATCH ?", (query,)).fetchall() == [(1,)]


def test_a_question_of_only_function_words_has_no_query():
    assert fts_match("Wie viele sind es?") is None
    assert fts_match("") is None


def test_only_the_lexical_mode_goes_without_a_model():
    with pytest.raises(ValueError):
        analyse("Wer?", None, Mode.HYBRID)


def test_neighbouring_terms_are_phrases_but_a_compound_and_its_parts_are_not():
    query = analyse("laut einem Sprecher des ukrainischen Militärgeheimdienstes", None, Mode.LEXICAL)
    assert "sprech ukrain" in query.phrases and "ukrain militargeheimdien" in query.phrases
    assert not any(p in {"militargeheimdien militar", "militar geheimdien"} for p in query.phrases)
    assert query.lexical_terms == query.terms + query.phrases


def test_a_phrase_matches_the_passage_that_says_it_not_one_with_the_words_apart():
    """Both sides lose the same stopwords, so "Sprecher des ukrainischen" holds the phrase "sprech ukrain"."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0')")
    for rowid, text in [(1, "Ein Sprecher des ukrainischen Militärs sagte das."),
                        (2, "Der ukrainische Präsident und sein Sprecher sagten das.")]:
        db.execute("INSERT INTO f(rowid, terms) VALUES (?, ?)", (rowid, " ".join(terms(text))))
    phrase = '"' + analyse("Was sagte der Sprecher des ukrainischen Militärs?", None, Mode.LEXICAL).phrases[1] + '"'
    assert db.execute("SELECT rowid FROM f WHERE f MATCH ?", (phrase,)).fetchall() == [(1,)]
