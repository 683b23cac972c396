"""Speaker roles ("Doctor", "Patient") suggested by a local LLM served by Ollama.

Optional and advisory: the answer is validated, stored as suggestions beside the voices'
labels, and never changes timing, text, or which words belong to which speaker. Whatever
goes wrong (Ollama not running, model not pulled, slow, a bad answer), the transcript is
untouched and one note says what happened and what to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .transcript import Transcript

EXCERPT_CHARS = 1200  # per speaker: enough to tell a role, bounded for hour-long files
MAX_ROLE_CHARS = 40


@dataclass(frozen=True)
class RoleOptions:
    host: str
    model: str
    context: str = ""  # "a medical consultation in Spanish"
    timeout: float = 60.0


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
        if not isinstance(role, str) or not role.strip() or len(role.strip()) > MAX_ROLE_CHARS:
            raise ValueError(f"it gave {speaker} no usable role")
        roles[speaker] = role.strip()
    return roles


def suggest(transcript: Transcript, options: RoleOptions) -> RoleResult:
    """Asks Ollama; never raises for anything Ollama or the network does."""
    import httpx
    import ollama

    ids = [s.id for s in transcript.speakers]
    if not ids:
        return RoleResult({}, "No speakers to name.")
    client = ollama.Client(host=options.host, timeout=options.timeout)
    try:
        pulled = {m.model for m in client.list().models}
        if options.model not in pulled and f"{options.model}:latest" not in pulled:
            return RoleResult({}, f"The model {options.model} is not installed in Ollama. Run: ollama pull {options.model}")
        response = client.chat(
            model=options.model,
            messages=[{"role": "user", "content": prompt(transcript, options.context)}],
            format=schema(ids),
            options={"temperature": 0},
        )
        roles = validate(response.message.content, ids)
    except ConnectionError:
        return RoleResult({}, f"Ollama is not running at {options.host}. Start it (ollama serve), or turn role naming off.")
    except httpx.TimeoutException:
        return RoleResult({}, f"Ollama did not answer within {options.timeout:g} s; try again, or a smaller model.")
    except ollama.ResponseError as exc:
        if exc.status_code == 404:
            return RoleResult({}, f"The model {options.model} is not installed in Ollama. Run: ollama pull {options.model}")
        return RoleResult({}, f"Ollama answered with an error: {exc.error}")
    except ValueError as exc:
        return RoleResult({}, f"Role naming skipped: {exc}; the speakers keep their voice labels.")
    except httpx.HTTPError as exc:
        return RoleResult({}, f"Ollama could not be reached at {options.host} ({type(exc).__name__}).")
    missing = [i for i in ids if i not in roles]
    note = f"Roles suggested by {options.model}." + (f" No role for {', '.join(missing)}." if missing else "")
    return RoleResult(roles, note)
