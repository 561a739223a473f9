"""Telling a question from an answer, in transcribed speech, where question marks are often missing.

For an advice question the passage nearest in meaning is often someone *asking* it; podkb cites
the answer that follows instead (ranking.py), so it must know a question when it sees one.
"""
from __future__ import annotations

import re

from . import keywords

NEW_WORDS = 3  # a sentence with fewer new words (of 4+ letters) than this only echoes the question

_LEAD = (r"(?:(?:so|and|but|okay|ok|well|now|then|also|um|uh|yeah|right|"
         r"i'?m curious|i am curious|i wonder|i was wondering|my question is|the question is|tell me|"
         r"let me ask(?: you)?|can i ask(?: you)?)[,:]?\s+)*")
_AUX = r"(?:do|does|did|is|are|was|were|can|could|would|should|will|have|has|had|much|many|long|often)"
_SUBJECT = r"(?:i|we|you|they|he|she|it)"
# "how do you ...", "what advice would you ...", "how many hours ..."; not "what I do is ..." (an answer).
_WH = re.compile(rf"^{_LEAD}(?:how|what|why|when|where|which|who)(?:'s\s+(?:your|the|a)\b|\s+(?:(?!{_SUBJECT}\b)\w+\s+)?{_AUX}\b)",
                 re.IGNORECASE)
# "do you ...", "have you ever ...", "is there a ...", "any advice for ..."
_YES_NO = re.compile(rf"^{_LEAD}(?:(?:do|does|did|is|are|was|were|can|could|would|should|will|have|has|had)\s+"
                     rf"(?:{_SUBJECT}|there|people|anyone|someone|everyone)\b|any (?:advice|tips|thoughts)\b)",
                     re.IGNORECASE)
# "I'm curious how do you ..." puts the question after a few words of lead-in.
_EMBEDDED = re.compile(rf"\b(?:curious|wonder(?:ing)?|question is|ask(?:ed)? you)\s+{_LEAD}(?:how|what|why|when|where|which|who|if|whether)\b",
                       re.IGNORECASE)


def is_question(sentence: str) -> bool:
    text = " ".join(sentence.split())
    if text.rstrip(" \"')]").endswith("?"):
        return True
    head = " ".join(text.split()[:16])
    return bool(_WH.match(head) or _YES_NO.match(head) or _EMBEDDED.search(head))


def echoes(sentence: str, question: str) -> bool:
    """Whether a sentence says little but the question's own words ("so he asked how you avoid burnout")."""
    known = {w for w in keywords.terms(question) if len(w) >= 4}
    return len({w for w in keywords.terms(sentence) if len(w) >= 4} - known) < NEW_WORDS
