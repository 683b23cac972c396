"""Speaker roles ("Doctor", "Patient") suggested by a local LLM served by Ollama.

Optional and advisory: the answer is validated, stored as suggestions beside the voices'
labels, and never changes timing, text, or which words belong to which speaker. Whatever
goes wrong (Ollama not running, model not pulled, slow, a bad answer), the transcript is
untouched and one note says what happened and what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from app.core.llm import chat
from app.core.llm.chat import LLMOptions as RoleOptions  # noqa: F401 (the roles' name for them)
from app.core.document.text import one_line
from app.core.document.transcript import Transcript

EXCERPT_CHARS = 1200  # per speaker: enough to tell a role, bounded for hour-long files
MAX_ROLE_CHARS = 40
MAX_REPLY_BYTES = 64 * 1024  # a longer answer is not a list of roles; reading stops there
TURNED_OFF = "Role naming was turned off (or its host changed) before the excerpts were sent: nothing was sent."


@dataclass(frozen=True)
class RoleResult:
    roles: dict  # speaker id -> suggested role; empty when nothing usable came back
    note: str = ""


def excerpts(transcript: Transcript, limit: int = EXCERPT_CHARS) -> dict[str, str]:
    """Each speaker's words, sampled evenly across the conversation, up to `limit` characters."""
    said: dict[str, list[str]] = {}
    for seg in transcript.segments:
        said.setdefault(seg.speaker, []).append(seg.text)
    out = {}
    for speaker, lines in said.items():
        total = sum(len(line) + 1 for line in lines)
        if total <= limit:
            out[speaker] = " ".join(lines)
            continue
        picked, used, step = [], 0, total / limit
        for i in range(0, len(lines), max(1, int(step))):
            if used + len(lines[i]) > limit:
                break
            picked.append(lines[i])
            used += len(lines[i]) + 1
        out[speaker] = " … ".join(picked) or lines[0][:limit]
    return out


def schema(speaker_ids: list[str]) -> dict:
    return {
        "type": "object",
        "properties": {
            "speakers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "string", "enum": speaker_ids}, "role": {"type": "string"}},
                    "required": ["id", "role"],
                },
            }
        },
        "required": ["speakers"],
    }


def prompt(transcript: Transcript, context: str) -> str:
    parts = [
        "Below are excerpts of what each speaker said in one recorded conversation"
        + (f" ({context.strip()})" if context.strip() else "")
        + ". Give each speaker id a short role name (one to three words, e.g. Doctor, Patient, "
        "Interviewer, Guest), in the language of the conversation. Name every id exactly once.",
    ]
    for speaker, text in excerpts(transcript).items():
        parts.append(f"{speaker}: {text}")
    return "\n\n".join(parts)


def validate(reply: str, speaker_ids: list[str]) -> dict[str, str]:
    """The roles in a reply, or ValueError saying what is wrong with it."""
    try:
        data = json.loads(reply)
    except (TypeError, ValueError):
        raise ValueError("its answer was not valid JSON") from None
    entries = data.get("speakers") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ValueError("its answer did not list the speakers")
    roles: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise ValueError("its answer did not list the speakers")
        speaker, role = entry.get("id"), entry.get("role")
        if speaker not in speaker_ids:
            raise ValueError(f"it named a speaker that does not exist ({speaker})")
        if speaker in roles:
            raise ValueError(f"it named {speaker} twice")
        role = one_line(role, MAX_ROLE_CHARS + 1) if isinstance(role, str) else ""
        if not role or len(role) > MAX_ROLE_CHARS:
            raise ValueError(f"it gave {speaker} no usable role")
        roles[speaker] = role
    return roles


def suggest(transcript: Transcript, options: RoleOptions | Callable[[], RoleOptions | None]) -> RoleResult:
    """Asks Ollama; never raises for anything Ollama, the network or the address does.
    `options` may be a callable giving the options in force now (None: role naming turned
    off), read again right before the excerpts leave (chat.py has the rules)."""
    current = options if callable(options) else (lambda: options)
    ids = [s.id for s in transcript.speakers]
    if not ids:
        return RoleResult({}, "No speakers to name.")
    try:
        reply, model = chat.ask(current, lambda now: prompt(transcript, now.context), schema(ids), MAX_REPLY_BYTES)
        roles = validate(reply, ids)
    except chat.ChatError as exc:
        note = str(exc)
        return RoleResult({}, TURNED_OFF if note == chat.TURNED_OFF else note)
    except ValueError as exc:
        return RoleResult({}, f"Role naming skipped: {exc}; the speakers keep their voice labels.")
    missing = [i for i in ids if i not in roles]
    return RoleResult(roles, f"Roles suggested by {model}." + (f" No role for {', '.join(missing)}." if missing else ""))
