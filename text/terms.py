"""Terms for the lexical (BM25) side: words, lower-cased, stopwords out, Snowball-stemmed (German).

The same function turns passages and questions into terms, so both sides match. The
function-word lists also tell a question's language (:func:`retrieval.query.detect_language`).
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

from text.compounds import best_split


def _words(block: str) -> list[str]:
    return block.split()


# German function words (the Snowball list, plus question words).
GERMAN = frozenset(_words("""
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes anderm andern
anderr anders auch auf aus bei bin bis bist da damit dann das dass dasselbe dazu daß dein deine deinem deinen
deiner deines dem demselben den denn denselben der derer derselbe derselben des desselben dessen dich die dies
diese dieselbe dieselben diesem diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines
einig einige einigem einigen einiger einiges einmal er es etwas euch euer eure eurem euren eurer eures für
gegen gewesen hab habe haben hat hatte hatten hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer
ihres im in indem ins ist jede jedem jeden jeder jedes jene jenem jenen jener jenes jetzt kann kein keine
keinem keinen keiner keines können könnte machen man manche manchem manchen mancher manches mein meine
meinem meinen meiner meines mich mir mit muss musste nach nicht nichts noch nun nur ob oder ohne sehr sein
seine seinem seinen seiner seines selbst sich sie sind so solche solchem solchen solcher solches soll sollte
sondern sonst um und uns unser unsere unserem unseren unseres unter viel vom von vor war waren warst was weg
weil weiter welche welchem welchen welcher welches wenn werde werden wie wieder will wir wird wirst wo wollen
wollte während würde würden zu zum zur zwar zwischen über
wurde wurden worden wer wem wen wessen wann warum wieso weshalb weswegen wieviel wieviele viele vielen
woher wohin womit wofür worüber worauf woran woraus wodurch wovon wozu worin wogegen
"""))
# English function words: questions in English ask about German articles.
ENGLISH = frozenset(_words("""
a about above after again against all am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
of off on once only or other our ours out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very was were what when where
which while who whom whose why will with would you your yours many much did does
"""))
STOPWORDS = GERMAN | ENGLISH

# Grouped numbers ("10.000", "650'000") are one term; words may be hyphenated compounds.
WORD = re.compile(r"\d{1,3}(?:[.'’]\d{3})+(?!\d)|\w+(?:[-'’]\w+)*", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("german")


# German compounds also give their parts ("Bahntransporte" -> bahntransport, bahn, transport), so a
# question's "Bahn" finds them. CharSplit's split score (text.compounds: its algorithm over compact tables) is
# reliable for long words; shorter ones split wrongly too often ("Soldaten" -> "Sol" + "Daten"), so they need
# a clearly positive score.
COMPOUND_MIN_CHARS = 10
LONG_COMPOUND_CHARS = 13
PART_MIN_CHARS = 4


@lru_cache(maxsize=200_000)
def compound_parts(word: str) -> tuple[str, ...]:
    """The parts of a German compound (lower case), recursively; () for a word that is none."""
    if len(word) < COMPOUND_MIN_CHARS or not word.isalpha():
        return ()
    score, left, right = best_split(word)
    wanted = -0.6 if len(word) >= LONG_COMPOUND_CHARS else 0.5
    if score < wanted or len(left) < PART_MIN_CHARS or len(right) < PART_MIN_CHARS:
        return ()
    left, right = left.lower(), right.lower()
    return (left, *compound_parts(left), right, *compound_parts(right))


def terms(text: str) -> list[str]:
    """Stemmed content terms; hyphenated compounds also give their parts ("KN-23" -> kn23, kn, 23), and so do
    German compounds (:func:`compound_parts`)."""
    out: list[str] = []
    for match in WORD.finditer(text.lower()):
        word = match.group()
        if word[0].isdigit() and re.fullmatch(r"[\d.'’]+", word):
            out.append(re.sub(r"\D", "", word))
            continue
        parts = re.split(r"[-'’]", word)
        candidates = [word.replace("-", "").replace("'", "").replace("’", "")] + (parts if len(parts) > 1 else [])
        candidates += [part for w in parts for part in compound_parts(w)]
        out.extend(w for w in candidates if w and w not in STOPWORDS and not (len(w) == 1 and not w.isdigit()))
    return _stemmer().stemWords(out)
