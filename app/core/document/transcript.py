"""The one data model shared by pipeline, store, exports, CLI and UI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    speaker: str
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Speaker:
    id: str
    name: str
    talk_time: float
    # the known voice it was named after: {"name", "similarity"} (voices.py), else None
    voice: dict | None = None
    channel: int | None = None  # the channel it was heard on, when a call was heard a channel a side


@dataclass(frozen=True)
class Source:
    path: str
    sha256: str
    duration: float


@dataclass(frozen=True)
class Transcript:
    source: Source
    language: str
    model: str
    device: str
    speakers: tuple[Speaker, ...]
    segments: tuple[Segment, ...]
    timings: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    # how the channels were heard (channels.Layout.to_dict()): {"heard": "mono"|"mixed"|"split", ...}
    channels: dict = field(default_factory=dict)

    def speaker_names(self) -> dict[str, str]:
        return {s.id: s.name for s in self.speakers}

    def with_names(self, names: dict[str, str]) -> "Transcript":
        """The same transcript with speakers renamed (ids, timing and words untouched); a
        typed name wins over a known voice's."""
        speakers = tuple(replace(s, name=names[s.id], voice=None) if s.id in names else s for s in self.speakers)
        return replace(self, speakers=speakers)

    def with_voices(self, matches: dict[str, dict]) -> "Transcript":
        """Speakers named after the known voices they match ({id: {"name", "similarity"}})."""
        speakers = tuple(
            replace(s, name=matches[s.id]["name"], voice=dict(matches[s.id])) if s.id in matches else s
            for s in self.speakers
        )
        return replace(self, speakers=speakers)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["schema_version"] = SCHEMA_VERSION
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Transcript":
        return cls(
            source=Source(**data["source"]),
            language=data["language"],
            model=data["model"],
            device=data["device"],
            speakers=tuple(Speaker(**s) for s in data["speakers"]),
            segments=tuple(
                Segment(s["start"], s["end"], s["speaker"], s["text"], tuple(map(_word, s.get("words", ()))))
                for s in data["segments"]
            ),
            timings=dict(data.get("timings", {})),
            warnings=tuple(data.get("warnings", ())),
            channels=dict(data.get("channels") or {}),
        )


def _word(data) -> Word:
    """A word from its JSON form: an object, or the store's compact [start, end, word, probability]."""
    if isinstance(data, dict):
        return Word(data["start"], data["end"], data["word"], data["probability"])
    return Word(*data)


def compact(data: dict) -> dict:
    """`to_dict()` with each word as a 4-item list: half the size, twice as fast to parse."""
    segments = [
        dict(seg, words=[[w["start"], w["end"], w["word"], w["probability"]] for w in seg["words"]])
        for seg in data["segments"]
    ]
    return dict(data, segments=segments)
