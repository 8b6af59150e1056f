"""Follow-up questions: an elliptic question ("Und im Jahr davor?", "Und wer sagt das?") is
searched together with the question before it; a self-contained question is left as it is.

Elliptic means: it opens like a continuation ("Und …", "And …", "What about …") or it has at
most one content word of its own (everything else is function words and pronouns), so on its
own it cannot say what it is about.
"""

from __future__ import annotations

import re

from text.terms import terms

CONTINUATIONS = re.compile(
    r"^\s*(und|aber|oder|sowie|auch|and|but|or|also|what about|how about|wie steht es mit|was ist mit)\b",
    re.IGNORECASE,
)
MAX_OWN_TERMS = 1


def is_elliptic(question: str) -> bool:
    return bool(CONTINUATIONS.match(question)) or len(set(terms(question))) <= MAX_OWN_TERMS


def contextualise(question: str, history: list[str] | None) -> str:
    """The text to search for ``question`` asked after ``history`` (earlier questions, most recent last).

    Only the most recent question is borrowed: it carries the topic, and older ones would
    drag the search back to where the conversation has moved on from. If that one was itself
    elliptic, its own predecessor comes along too."""
    if not history or not is_elliptic(question):
        return question
    context = [history[-1]]
    for earlier in reversed(history[:-1]):
        if not is_elliptic(context[0]):
            break
        context.insert(0, earlier)
    return " ".join([*context, question])
