"""Notes of a finished transcript from a local LLM, every point citing the turns it rests on.

The model is shown the transcript as numbered turns (speaker, time, words) and answers in
a JSON schema in which each point names its turns. Before a point is shown it is checked
against those turns (`check`): turns that exist, a person who speaks in them, a quotation
found word for word, and every number, date or name it states found in them. A point that
fails is kept as unsupported, with the reason, never shown as supported. A transcript
longer than the model's context is noted in parts, each under the limit, and the parts'
points joined in order; turn numbers are the transcript's own throughout.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Callable

from app.core.document.transcript import Transcript
from app.core.document.turns import turns
from app.core.llm import chat

MAX_REPLY_BYTES = 256 * 1024
CONTEXT_TOKENS = 8192  # asked of Ollama (num_ctx): its own default is smaller
ANSWER_TOKENS = 2048  # of the context kept for the answer
CHARS_PER_TOKEN = 3.0  # a prudent figure for Spanish and English text in these models' tokenizers
MAX_POINT_CHARS = 600
TURN_CHARS = 1500  # a longer turn is shown (and cited) in pieces


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    sections: tuple[tuple[str, str], ...]  # (key, what goes there)


TEMPLATES = {t.name: t for t in (
    Template("summary", "Summary", (("summary", "the main points of the conversation, in order"),)),
    Template("minutes", "Meeting minutes", (
        ("decisions", "each decision taken"),
        ("actions", "each action item: what is to be done, by whom (in 'who') and by when if said"),
        ("open", "questions left open"))),
    Template("interview", "Interview", (
        ("themes", "the themes the interviewee talks about, each with what they say of it"),
        ("quotes", "striking quotations, word for word in 'quote', with who said them in 'who'"))),
    Template("consultation", "Consultation", (
        ("reason", "the reason for the consultation, as the patient tells it"),
        ("history", "relevant history: symptoms, their course, medication, allergies"),
        ("findings", "findings and assessment the clinician states"),
        ("plan", "the plan: treatment with doses, tests, follow-up, advice"))),
)}
CUSTOM = "custom"
LANGUAGE_NAMES = {"es": "Spanish", "en": "English", "fr": "French", "de": "German", "pt": "Portuguese",
                  "it": "Italian", "ca": "Catalan", "nl": "Dutch"}


@dataclass(frozen=True)
class NumberedTurn:
    number: int  # 1, 2, ... in the transcript's order
    speaker: str  # id
    name: str  # as shown
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Point:
    section: str
    text: str
    turns: tuple[int, ...]  # the turn numbers it cites
    who: str | None = None  # the speaker id it is attributed to
    quote: str | None = None
    problem: str = ""  # why it is unsupported ("" when every check passed)

    @property
    def supported(self) -> bool:
        return not self.problem


@dataclass(frozen=True)
class Notes:
    template: str
    instructions: str  # the user's, for a custom template
    model: str
    language: str
    made_at: float
    revision: str  # of the transcript they were made from (`revision`)
    parts: int
    points: tuple[Point, ...]
    cites: dict = field(default_factory=dict)  # turn number -> (start, end)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["points"] = [asdict(p) for p in self.points]
        data["cites"] = {str(k): list(v) for k, v in self.cites.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Notes":
        points = tuple(Point(p["section"], p["text"], tuple(p["turns"]), p.get("who"), p.get("quote"),
                             p.get("problem", "")) for p in data["points"])
        cites = {int(k): tuple(v) for k, v in data.get("cites", {}).items()}
        return cls(data["template"], data.get("instructions", ""), data["model"], data["language"], data["made_at"],
                   data["revision"], data.get("parts", 1), points, cites)


def revision(t: Transcript) -> str:
    """Changes when what is said, when, or by whom changes (a correction), not with a name."""
    said = [(round(s.start, 2), round(s.end, 2), s.speaker, s.text) for s in t.segments]
    return hashlib.sha256(json.dumps(said, ensure_ascii=False).encode()).hexdigest()[:16]


def numbered(t: Transcript) -> list[NumberedTurn]:
    """The turns as the model is shown them, numbered; a turn longer than TURN_CHARS is
    cut between its segments into pieces numbered apart, so a citation stays precise and
    a monologue still fits in parts."""
    names = t.speaker_names()
    found: list[NumberedTurn] = []
    for turn in turns(t):
        piece: list[int] = []
        for index in turn.segments:
            piece.append(index)
            if sum(len(t.segments[i].text) + 1 for i in piece) >= TURN_CHARS:
                found.append(_numbered(t, len(found) + 1, turn.speaker, names, piece))
                piece = []
        if piece:
            found.append(_numbered(t, len(found) + 1, turn.speaker, names, piece))
    return found


def _numbered(t: Transcript, number: int, speaker: str, names: dict, indices: list[int]) -> NumberedTurn:
    text = " ".join(" ".join(t.segments[i].text.split()) for i in indices).strip()
    return NumberedTurn(number, speaker, names.get(speaker, speaker), t.segments[indices[0]].start,
                        max(t.segments[i].end for i in indices), text)


def _line(turn: NumberedTurn) -> str:
    minutes, seconds = divmod(int(turn.start), 60)
    return f"[{turn.number}] {turn.name} ({minutes}:{seconds:02d}): {turn.text}"


def parts(all_turns: list[NumberedTurn], budget_chars: int) -> list[list[NumberedTurn]]:
    """The turns in runs whose lines fit `budget_chars` (a turn longer than that alone)."""
    found, current, used = [], [], 0
    for turn in all_turns:
        size = len(_line(turn)) + 1
        if current and used + size > budget_chars:
            found.append(current)
            current, used = [], 0
        current.append(turn)
        used += size
    return found + ([current] if current else [])


def budget(context_tokens: int = CONTEXT_TOKENS) -> int:
    """Characters of turns that fit one request beside the instructions and the answer."""
    return int((context_tokens - ANSWER_TOKENS) * CHARS_PER_TOKEN) - 2500


def sections_of(template: str) -> tuple[tuple[str, str], ...]:
    return TEMPLATES[template].sections if template in TEMPLATES else (("notes", "what the instructions ask for"),)


def prompt(template: str, instructions: str, language: str, part: list[NumberedTurn], of: tuple[int, int],
           context: str = "") -> str:
    sections = sections_of(template)
    spoken = LANGUAGE_NAMES.get(language, language or "the conversation's language")
    lines = [
        "You write notes of a recorded conversation" + (f" ({context.strip()})" if context.strip() else "") + ".",
        "Below are its turns, numbered, each with who speaks and when." + (
            f" This is part {of[0]} of {of[1]} of the conversation; note only this part." if of[1] > 1 else ""),
        f"Write the notes in {spoken}. Each point goes in one section: "
        + "; ".join(f"'{key}': {what}" for key, what in sections) + ".",
    ]
    if template == CUSTOM:
        lines.append(f"The instructions: {instructions.strip()}")
    lines += [
        "Every point lists in 'turns' the numbers of the turns it rests on, and only those. Put in 'who' the name "
        "of the person a point is about or assigned to, exactly as written before their turns, else null. "
        "A quotation goes in 'quote' copied word for word from one of its turns, else null. Never state a number, "
        "dose, date or name that its turns do not say. Leave out what the turns do not say.",
        "",
        *(_line(t) for t in part),
    ]
    return "\n".join(lines)


def schema(template: str) -> dict:
    return {
        "type": "object",
        "properties": {"points": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "section": {"type": "string", "enum": [key for key, _ in sections_of(template)]},
                "text": {"type": "string"},
                "turns": {"type": "array", "items": {"type": "integer"}},
                "who": {"type": ["string", "null"]},
                "quote": {"type": ["string", "null"]},
            },
            "required": ["section", "text", "turns"],
        }}},
        "required": ["points"],
    }


def parse(reply: str, template: str) -> list[dict]:
    """The answer's points as given, or ValueError saying how it breaks the schema."""
    try:
        data = json.loads(reply)
    except (TypeError, ValueError):
        raise ValueError("its answer was not valid JSON") from None
    points = data.get("points") if isinstance(data, dict) else None
    if not isinstance(points, list):
        raise ValueError("its answer had no list of points")
    keys = {key for key, _ in sections_of(template)}
    for point in points:
        if not isinstance(point, dict) or not isinstance(point.get("text"), str) or point.get("section") not in keys:
            raise ValueError("a point of its answer had no text or no known section")
        cited = point.get("turns")
        if not isinstance(cited, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in cited):
            raise ValueError("a point of its answer did not list its turns as numbers")
        for optional in ("who", "quote"):
            if point.get(optional) is not None and not isinstance(point[optional], str):
                raise ValueError(f"a point's '{optional}' was not text")
    return points


# checking a point against its turns

_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
# "may" is left out: in English it is mostly a verb
MONTHS_AND_DAYS = frozenset(
    "january february march april june july august september october november december monday tuesday "
    "wednesday thursday friday saturday sunday enero febrero marzo abril mayo junio julio agosto septiembre "
    "setiembre octubre noviembre diciembre lunes martes miércoles jueves viernes sábado domingo".split())


def fold(text: str) -> str:
    """Case, accents, quotes and spacing ignored; words and digits kept in order."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.findall(r"\w+", text))


def _words(text: str) -> set[str]:
    return set(fold(text).split())


def _numbers(text: str) -> set[str]:
    """Numbers as digits, with 1,5 and 1.5 the same; a number is also its parts (12:30 holds 12)."""
    found = set()
    for match in _NUMBER.findall(text):
        found.add(re.sub(r"[,:]", ".", match))
        found.update(re.split(r"[.,:]", match))
    return found


def check(raw: dict, by_number: dict[int, NumberedTurn], everyone: list[NumberedTurn],
          names: set[str] | None = None) -> Point:
    """The point, with `problem` saying why it is not supported by the turns it cites.
    `names`: `known_names(everyone)`, made once for many points."""
    text = " ".join(raw["text"].split())[:MAX_POINT_CHARS]
    cited = tuple(dict.fromkeys(raw["turns"]))
    quote = " ".join(raw["quote"].split()) if raw.get("quote") else None
    ids = {t.speaker: t.name for t in everyone}
    who, problem = _person(raw.get("who"), ids)

    def point(why: str = "") -> Point:
        return Point(raw["section"], text, cited, who, quote, why)

    if not text:
        return point("it says nothing")
    if problem:
        return point(problem)
    if not cited:
        return point("it cites no turn")
    missing = [n for n in cited if n not in by_number]
    if missing:
        return point(f"it cites turn {missing[0]}, which is not in the transcript" if len(by_number) == len(everyone)
                     else f"it cites turn {missing[0]}, which is not in the part it was made from")
    turns_cited = [by_number[n] for n in cited]
    said = " ".join(t.text for t in turns_cited)
    if who is not None and all(t.speaker != who for t in turns_cited):
        return point(f"it is about {ids[who]}, who speaks in none of the turns it cites")
    if quote and not any(f" {fold(quote)} " in f" {fold(t.text)} " for t in turns_cited):
        return point("its quotation is not word for word in the turns it cites")
    numbers = _numbers(said)
    for number in sorted(_numbers(text) - numbers):
        if re.sub(r"[,:]", ".", number) not in numbers:
            return point(f"{number} is in none of the turns it cites")
    heard = _words(said)
    for word in sorted(_words(text) & MONTHS_AND_DAYS - heard):
        return point(f"'{word}' is in none of the turns it cites")
    names = known_names(everyone) if names is None else names
    cited_words = heard | _words(" ".join(t.name for t in turns_cited))
    for n, word in enumerate(_WORD.findall(text)):
        if n and word[0].isupper() and fold(word) in names and fold(word) not in cited_words:
            return point(f"{word} is in none of the turns it cites")
    return point()


def _person(who, ids: dict[str, str]) -> tuple[str | None, str]:
    """The speaker id `who` names (an id or a name as shown), and a problem when it names nobody here."""
    if not who or not who.strip():
        return None, ""
    wanted = fold(who)
    for speaker, name in ids.items():
        if wanted in (fold(speaker), fold(name)):
            return speaker, ""
    return None, f"it is about '{who.strip()[:60]}', who is not a speaker of this transcript"


def known_names(everyone: list[NumberedTurn]) -> set[str]:
    """Names the conversation holds: the speakers' shown names, and words written with a
    capital inside a sentence and never without one (folded)."""
    capital, lower = set(), set()
    for turn in everyone:
        previous = "."
        for match in re.finditer(r"\S+", turn.text):
            token = match.group(0)
            word = _WORD.search(token)
            if word and len(word.group(0)) > 1:
                (capital if word.group(0)[0].isupper() and not previous.endswith((".", "?", "!", "¿", "¡", "…"))
                 else lower if word.group(0)[0].islower() else set()).add(fold(word.group(0)))
            previous = token
    names = capital - lower
    for turn in everyone:
        names |= {w for w in _words(turn.name) if len(w) > 1 and not w.isdigit()}
    return names


# making them

def make(t: Transcript, template: str, options_now: Callable[[], chat.LLMOptions | None], instructions: str = "",
         context_tokens: int = CONTEXT_TOKENS, progress: Callable[[float, str], None] = lambda f, s: None,
         cancel: Callable[[], bool] = lambda: False) -> Notes:
    """The notes, checked; chat.ChatError with one note when they could not be made (then
    nothing is kept: a failed part fails the whole)."""
    if template not in TEMPLATES and template != CUSTOM:
        raise chat.ChatError(f"There is no '{template}' template: use {', '.join([*TEMPLATES, CUSTOM])}.")
    if template == CUSTOM and not instructions.strip():
        raise chat.ChatError("A template of your own needs its instructions.")
    everyone = numbered(t)
    if not everyone:
        raise chat.ChatError("The transcript has no words to make notes of.")
    runs = parts(everyone, budget(context_tokens))
    names = known_names(everyone)
    points, model = [], ""
    for n, run in enumerate(runs, 1):
        if cancel():
            raise chat.ChatError("Cancelled.")
        progress((n - 1) / len(runs), f"Notes: part {n} of {len(runs)}" if len(runs) > 1 else "Notes: asking")
        reply, model = chat.ask(
            options_now, lambda now: prompt(template, instructions, t.language, run, (n, len(runs)), now.context),
            schema(template), MAX_REPLY_BYTES, num_ctx=context_tokens, cancel=cancel)
        try:
            raw = parse(reply, template)
        except ValueError as exc:
            raise chat.ChatError(f"No notes: {exc} (part {n} of {len(runs)})." if len(runs) > 1
                                 else f"No notes: {exc}.") from None
        by_number = {turn.number: turn for turn in run}
        points += [check(p, by_number, everyone, names) for p in raw]
    progress(1.0, "Notes: done")
    merged = _merged(points, [key for key, _ in sections_of(template)])
    cites = {n: (everyone[n - 1].start, everyone[n - 1].end) for p in merged for n in p.turns if 0 < n <= len(everyone)}
    return Notes(template, instructions.strip(), model, t.language, time.time(), revision(t), len(runs),
                 tuple(merged), cites)


def _merged(points: list[Point], order: list[str]) -> list[Point]:
    """In the template's section order, parts in order; a point said twice kept once."""
    seen, found = set(), []
    for key in order:
        for point in points:
            if point.section == key and (key, fold(point.text)) not in seen:
                seen.add((key, fold(point.text)))
                found.append(point)
    return found
