"""BM25 terms and the question-language cue (no model needed)."""


from text.terms import GERMAN, STOPWORDS, terms


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


def test_stopword_lists_keep_german_content_words():
    for word in ("krieg", "soldaten", "rakete", "stadt", "bald", "kind", "gift"):
        assert word not in STOPWORDS
    assert {"wie", "viele", "wann", "welche"} <= GERMAN
