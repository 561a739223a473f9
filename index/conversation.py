"""Who asks and who answers: the hosts of an interview, found from the talk itself.

In an interview the host asks, often in long turns of several sentences, some without a question
mark, and the guest answers in the next turn. So for a question-like query the guest's reply is the
answer, not the host's question, however close the question's words are to the query (highlight.py
follows a host's turn to the reply). A host is:

- of a show with three or more episodes: a speaker heard in at least half of them (two hosts of one
  show both count; a guest rarely comes back that often);
- otherwise, in an episode with more than one named speaker: the one the talk marks as the host. A
  host opens the show ("welcome to...", "my guest today...") and a guest thanks them for having
  them; a host ends more turns with a question, and speaks less than the guest. Each sign scores,
  and the host is the one clearly ahead.

A monologue (a lecture, a reading) has no host. What is counted per episode and speaker is kept in
``speaker_stats`` as episodes are indexed (tables.py), so finding the hosts is one query.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from .questions import is_question

RECURRING_SHARE = 0.5     # of a show's episodes a host is heard in
RECURRING_EPISODES = 3    # a show needs this many episodes for a host to recur in them
OPENING_TURNS = 4         # a host's welcome and a guest's thanks come in the first few turns
_QUERY = re.compile(r"^(?:how|what|why|when|where|which|who|whom|should|shall|can|could|would|will|is|are|am|do|"
                    r"does|did|have|has|any)\b|\b(?:advice|tips?|best way|how to|ways? to)\b", re.IGNORECASE)
_HOSTING = re.compile(r"\b(?:welcome (?:back )?to|you(?:'re| are) listening to|my guests? (?:today|is|are)|"
                      r"(?:i'm|i am) (?:here|joined|sitting|talking) (?:today )?with|joining (?:me|us) (?:today|now)|"
                      r"i interview|today (?:i'm|i am|we're|we are) (?:talking|speaking|joined) with|"
                      r"welcome,? everyone|welcome to the show)\b", re.IGNORECASE)
_GUESTING = re.compile(r"\b(?:thanks? (?:you )?(?:so much |very much )?for having me|(?:happy|glad|great|good|"
                       r"excited|honou?red|pleasure) to be (?:here|on|back)|thanks? (?:you )?for (?:inviting|the invite))"
                       r"\b", re.IGNORECASE)


def question_like(query: str) -> bool:
    """Whether a query asks something (then a host's turn is followed to the reply): 'how to avoid
    burnout', 'should I quit', 'tips for focus'; not 'Tetris Consumer Electronics Show'."""
    text = " ".join(query.split())
    return bool(text) and (is_question(text) or bool(_QUERY.search(text)))


@dataclass
class Speaker:
    """What an episode's speaker did: the signs of who hosts."""

    words: int = 0
    turns: int = 0
    questions: int = 0      # turns that end with a question
    first: int = 0          # the turn they first speak in
    hosting: int = 0        # a host's opening ("welcome to the show"), in the first turns
    guesting: int = 0       # a guest's thanks ("thanks for having me"), in the first turns


def speakers(passages) -> dict[str, Speaker]:
    """Each named speaker of an episode's passages (index.passages.Passage), in its order."""
    found: dict[str, Speaker] = {}
    turns: list[list] = []
    for p in passages:
        if turns and turns[-1][0].turn == p.turn:
            turns[-1].append(p)
        else:
            turns.append([p])
    for n, turn in enumerate(turns):
        name = turn[0].speaker
        if not name:
            continue
        who = found.setdefault(name, Speaker(first=n))
        who.turns += 1
        who.words += sum(p.words for p in turn)
        last = turn[-1]
        a, b = last.spans[-1] if last.spans else (0, len(last.text))
        who.questions += is_question(last.text[a:b])
        if n < OPENING_TURNS:
            text = " ".join(p.text for p in turn)
            who.hosting += bool(_HOSTING.search(text))
            who.guesting += bool(_GUESTING.search(text))
    return found


def counts(passages) -> list[tuple]:
    """What is kept of an episode's speakers (tables.write_speakers): (name, words, turns, questions,
    first, hosting, guesting) each."""
    return [(name, w.words, w.turns, w.questions, w.first, w.hosting, w.guesting)
            for name, w in speakers(passages).items()]


def hosts(rows: list[tuple]) -> dict[str, frozenset[str]]:
    """Episode id → its hosts' names (episodes without a host are left out), from every indexed speaker's
    (episode id, show, speaker, and the counts of ``counts``) (tables.speaker_counts)."""
    episodes_of_show: dict[str, set[str]] = defaultdict(set)
    heard_in: dict[tuple[str, str], set[str]] = defaultdict(set)
    by_episode: dict[str, dict[str, Speaker]] = defaultdict(dict)
    for episode_id, show, name, *counts in rows:
        by_episode[episode_id][name] = Speaker(*counts)
        if show:
            episodes_of_show[show].add(episode_id)
            heard_in[(show, name)].add(episode_id)
    recurring: dict[str, set[str]] = defaultdict(set)
    for (show, name), episodes in heard_in.items():
        total = len(episodes_of_show[show])
        if total >= RECURRING_EPISODES and len(episodes) >= max(2, RECURRING_SHARE * total):
            for episode_id in episodes:
                recurring[episode_id].add(name)
    found = {}
    for episode_id, people in by_episode.items():
        talking = {name: who for name, who in people.items() if who.turns >= 2}
        if len(talking) < 2:
            continue  # a monologue
        if recurring.get(episode_id) and len(recurring[episode_id]) < len(talking):
            found[episode_id] = frozenset(recurring[episode_id])
            continue
        host = _host_of(talking)
        if host:
            found[episode_id] = frozenset([host])
    return found


def _host_of(people: dict[str, Speaker]) -> str | None:
    """The speaker the signs point to as the host of one episode, if one is clearly ahead."""
    most_words = max(who.words for who in people.values())
    most_asked = max(who.questions / who.turns for who in people.values())
    first = min(who.first for who in people.values())
    scores = {}
    for name, who in people.items():
        scores[name] = (2 * (who.hosting > 0) - 2 * (who.guesting > 0) + (who.questions / who.turns == most_asked)
                        + (who.words < most_words) + (who.first == first))
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    if ranked[0][1] >= 2 and ranked[0][1] > ranked[1][1]:
        return ranked[0][0]
    return None


ASKING_TAIL = 3  # a turn asks when one of its last sentences is a question


def asking_turns(endings: dict[int, list[str]]) -> set[int]:
    """Of the turns whose last passage's sentences are ``endings`` (tables.turn_endings), those that end
    asking (a question among their last sentences): a host's words in such a turn lead into the
    question, so they are never an answer."""
    return {turn for turn, said in endings.items() if any(is_question(s) for s in said[-ASKING_TAIL:])}
