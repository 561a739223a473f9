"""Telling a question from an answer, in transcribed speech, where question marks are often missing.

For an advice question the passage nearest in meaning is often someone *asking* it; podkb cites
the answer that follows instead (ranking.py), so it must know a question when it sees one.
"""
from __future__ import annotations

import re

from . import keywords, tables

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


_PLAIN = re.compile(r"^(?:how|what|why|when|should|is|do|can)\b[^\"“”()\[\]]*\?$", re.IGNORECASE)
_ASKS_ADVICE = re.compile(r"^(?:how (?:do|did|should|can|would) (?:you|i|we|people)|what (?:advice|would you|should|do you "
                          r"(?:think|recommend|do))|why (?:do|should|did) (?:you|people)|what's the best|is it (?:better|worth))",
                          re.IGNORECASE)
_CHAT = re.compile(r"\b(?:doing|feel|today|right|okay|ok|yeah|there|that|this|it)\?$", re.IGNORECASE)
# Words that point back into the conversation: "how would we make those ...", "what did you do last week?"
_CONTEXT = re.compile(r"\b(?:those|these|that|this|it|them|they|he|she|him|her|his|last week|yesterday|today|"
                      r"tonight|earlier|before|again)\b", re.IGNORECASE)


def examples(library, n: int = 4) -> list[str]:
    """Questions asked in a knowledge base (its ``library``), to offer as examples: plain ones of 6 to 14
    words ending in a question mark, about something (three content words, no names, no small talk, nothing
    that points back into the talk), those asking for advice first, one per episode; topped up with
    chapter titles."""
    found = []
    for episode_id, sentences in tables.sentences_in_order(library.db):
        for said in sentences:
            sentence = " ".join(said.split())
            words = sentence.split()
            content = [w for w in keywords.terms(sentence) if len(w) >= 4 and w not in keywords.STOPWORDS]
            names = any(w[:1].isupper() and w.lower() != "i" and not w.startswith("I'") for w in words[1:])
            if 6 <= len(words) <= 14 and _PLAIN.match(sentence) and len(content) >= 3 and not names \
                    and not _CHAT.search(sentence) and not _CONTEXT.search(sentence):
                found.append((not _ASKS_ADVICE.match(sentence), len(found), episode_id, sentence))
    chosen, episodes = [], set()
    for _, _, episode_id, sentence in sorted(found):
        if episode_id not in episodes and sentence.lower() not in {c.lower() for c in chosen}:
            chosen.append(sentence[0].upper() + sentence[1:])
            episodes.add(episode_id)
        if len(chosen) == n:
            return chosen
    for source, title in library.chapter_titles(4 * n):  # published titles first; a found one's first phrase
        title = title.rstrip("…") if source == "published" else title.split(", ")[0]
        if len(chosen) < n and title.lower() not in {c.lower() for c in chosen}:
            chosen.append(title)
    return chosen
