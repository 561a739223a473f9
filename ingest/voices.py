"""Voices known across episodes: a voice print per speaker per episode, and who a new voice may be.

When podkb finds the speakers in a recording (ingest/diarize.py), each one keeps a voice print: the
mean of its CAM++ speaker embeddings, stored with the episode. A speaker the user has named (the host,
a guest) is then a known voice. A new episode's voices are compared with the known ones by cosine:

- at AUTO or above, the voice takes that name at once (the host of a show is named from their first
  naming on; a guest who returns is recognised);
- between OFFER and AUTO, the name is offered, not applied: ``podkb speakers`` asks, and the web
  app's Episode page says "this may be X";
- below OFFER, the voice keeps its label.

Each name goes to one voice of an episode, the most alike first; to a second only when both are sure and
alike each other (the diarizer split one person in two: bench/names_carried.py). The thresholds come from
bench/voices.py: LibriSpeech readers heard in different chapters against other readers.

Labels that a transcript or a diarizer gives ("Speaker 1", "Guest", "Unknown") are not people:
``generic`` tells them apart, and they are never known voices, nor counted as one person across
episodes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .models import Voice

AUTO = 0.70   # cosine at or above which a voice takes a known name (bench/voices.py)
OFFER = 0.60  # cosine at or above which a known name is offered

_LABEL = (r"(?:speaker|spk|spkr|guest|host|co-?host|unknown|unidentified|interviewer|interviewee|narrator|voice|"
          r"caller|participant|person|moderator|audience|announcer|other|male|female|man|woman|s)")
_GENERIC = re.compile(rf"(?:{_LABEL}[\s_#.-]*){{0,2}}\d*|(?:{_LABEL}[\s_#.-]+){{0,2}}[a-z]", re.IGNORECASE)


def generic(name: str | None) -> bool:
    """Whether ``name`` is a label, not a person: "Speaker 1", "SPEAKER_02", "Guest", "Host 2", "Unknown", "B"."""
    name = (name or "").strip().strip("[]()<>:").strip()
    return not name or bool(_GENERIC.fullmatch(name))


def unit(vector) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def to_blob(vector) -> bytes:
    return np.asarray(vector, dtype=np.float32).reshape(-1).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def people(prints: list[tuple[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Named voice prints (name, print), one per episode each → a print per person: the mean of their
    unit prints, made unit again. Generic labels are left out."""
    gathered: dict[str, list[np.ndarray]] = {}
    for name, vector in prints:
        if not generic(name):
            gathered.setdefault(name, []).append(unit(vector))
    return {name: unit(np.mean(found, axis=0)) for name, found in gathered.items()}


@dataclass(frozen=True)
class Match:
    label: str     # the voice's label in its episode
    name: str      # the known name it resembles
    score: float   # cosine of the two prints

    @property
    def sure(self) -> bool:
        """Sure enough to apply, not just offer."""
        return self.score >= AUTO


def matches(voices: dict[str, np.ndarray], known: dict[str, np.ndarray], taken: set[str] = frozenset()
            ) -> list[Match]:
    """Who each of an episode's ``voices`` (label → print) may be, among the ``known`` people (name →
    print): one name per voice and one voice per name, the most alike pair first; only pairs at OFFER
    or above. A name can go to a second voice only when both are sure matches and surely alike each other
    (one person the diarizer split in two). ``taken`` are names the episode already has."""
    pairs = sorted(((float(unit(v) @ k), label, name) for label, v in voices.items()
                    for name, k in known.items() if name not in taken and name != label), reverse=True)
    found, used_labels, used_names = [], set(), set(taken)
    for score, label, name in pairs:
        if score < OFFER:
            break
        if label in used_labels or name in used_names:
            continue
        found.append(Match(label, name, round(score, 3)))
        used_labels.add(label)
        used_names.add(name)
    holders = {m.name: m.label for m in found if m.sure}
    for score, label, name in pairs:  # a person the diarizer heard as two voices: both sure, and alike
        if score < AUTO:
            break
        if label not in used_labels and name in holders and float(unit(voices[label]) @ unit(voices[holders[name]])) >= AUTO:
            found.append(Match(label, name, round(score, 3)))
            used_labels.add(label)
    return found


@dataclass
class Renamed:
    """What a rename of a voice did (``KnowledgeBase.rename_voice``): segments renamed in its episode, and
    the other episodes' voices it named (episode, label, score) or only offered the name to."""
    segments: int
    named: list[tuple[str, str, float]]
    offered: list[tuple[str, str, float]]


def elsewhere(heard_in, episodes: list, episode, name: str, old: str, everywhere: bool = False
              ) -> list[tuple[str, Match]]:
    """Where else the voice just named ``name`` (it was ``old``) in ``episode`` is heard: (another of the
    ``episodes``, the match of one of its voices), in the show's other episodes (in every episode, with
    ``everywhere``). A sure match is for the caller to rename, the rest to offer. Only a generic label is
    matched there, or, with ``everywhere``, a voice also called ``old``; a name the episode has already is
    not offered. ``heard_in(episode ids)`` gives their voices (voice_prints.of)."""
    prints = [v.print for v in heard_in([episode.id]) if v.speaker == name]
    if not prints or generic(name):
        return []
    target = {name: unit(sum(unit(p) for p in prints))}
    others = [e.id for e in episodes if e.id != episode.id and
              (everywhere or (episode.show and (e.show or "").casefold() == episode.show.casefold()))]
    found = []
    for other in others:
        heard = heard_in([other])
        taken = {v.speaker for v in heard if not generic(v.speaker)} - {old}
        candidates = {v.speaker: v.print for v in heard if generic(v.speaker) or everywhere and v.speaker == old}
        found += [(other, match) for match in matches(candidates, target, taken)]
    return found


@dataclass
class Heard:
    """One episode's voice, as listed under a person: how it got there, and how sure that is."""
    voice: Voice
    how: str                   # "named" (by the user), "recognised" (named by its voice), "may be", "alike", ""
    score: float | None = None


@dataclass
class Person:
    """A voice across episodes: a named person, or an unnamed voice heard in one or more episodes."""
    name: str | None           # None: nobody has named this voice yet
    heard: list[Heard]

    @property
    def episodes(self) -> list[str]:
        return list(dict.fromkeys(h.voice.episode_id for h in self.heard))


def group(found: list[Voice], known: dict[str, np.ndarray] | None = None) -> list[Person]:
    """``found`` voices gathered into people: each named voice under its name; each unnamed one under the
    known person it may be (OFFER or above, one not already heard in its episode), else with the unnamed
    voices of other episodes it is alike (AUTO or above), else alone. ``known``: the people to offer
    (default: the named among ``found``)."""
    known = people([(v.speaker, v.print) for v in found]) if known is None else known
    persons: dict[str, Person] = {}
    for v in found:
        if not generic(v.speaker):
            persons.setdefault(v.speaker, Person(v.speaker, [])).heard.append(
                Heard(v, "recognised" if v.named_by == "voice" else "named", v.score))
    unnamed: list[tuple[np.ndarray, Person]] = []
    for v in found:
        if not generic(v.speaker):
            continue
        here = {p.name for p in persons.values() if v.episode_id in p.episodes}
        offers = [(float(unit(v.print) @ k), name) for name, k in known.items() if name not in here]
        score, name = max(offers, default=(0.0, None))
        if name is not None and score >= OFFER:
            persons.setdefault(name, Person(name, [])).heard.append(Heard(v, "may be", round(score, 3)))
            continue
        alike = [(float(unit(v.print) @ first), person) for first, person in unnamed
                 if v.episode_id not in person.episodes]
        score, person = max(alike, default=(0.0, None), key=lambda pair: pair[0])
        if person is not None and score >= AUTO:
            person.heard.append(Heard(v, "alike", round(score, 3)))
        else:
            unnamed.append((unit(v.print), Person(None, [Heard(v, "")])))
    return list(persons.values()) + [person for _, person in unnamed]
