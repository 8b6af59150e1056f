"""Which sentence continues the one before it (the highlight then takes in both)."""

import pytest

from retrieval.stages.coherence import continues

TOPIC = "Andrii Cherniak, ein Sprecher des ukrainischen Militärgeheimdienstes, kommentierte die Raketen."


@pytest.mark.parametrize("sentence", [
    "„Ihre Genauigkeit ist prinzipiell nicht sehr hoch“, sagte er.",  # opens a quotation
    "Diese Kräfte zielen darauf ab, ukrainische Truppen zu vertreiben.",  # demonstrative
    "In vielen ihrer Eigenschaften ähneln sie dem russischen Iskander-Modell.",  # possessive early on
    "Einige sind skeptisch, während andere auf die höhere Disziplin hinweisen.",
    "These missiles are said to be inaccurate.",  # English articles too
])
def test_a_sentence_referring_back_continues(sentence):
    assert continues(TOPIC, sentence)


def test_a_question_or_colon_is_continued_by_what_follows():
    assert continues("Was aber gewinnt Kim Jong-un?", "Zum einen bekommen Soldaten Kampferfahrung.")
    assert continues("Die Liste ist lang:", "Granaten, Raketen und Haubitzen.")


@pytest.mark.parametrize("sentence", [
    "Das Wetter in Moskau war kalt.",
    "Es wurde außerdem bestätigt, dass Nordkorea Panzerabwehrraketen liefert.",  # expletive "es"
    "Die Delegation reiste am Montag nach Pjöngjang, wo sie drei Tage blieb.",  # reference late: in-sentence
])
def test_a_sentence_of_its_own_does_not(sentence):
    assert not continues(TOPIC, sentence)
