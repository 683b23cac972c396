"""Speaker roles ("Doctor", "Patient") suggested by a local LLM served by Ollama.

Optional and advisory: the answer is validated, stored as suggestions beside the voices'
labels, and never changes timing, text, or which words belong to which speaker. Whatever
goes wrong (Ollama not running, model not pulled, slow, a bad answer), the transcript is
untouched and one note says what happened and what to do.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Callable

from app.core.llm import hosts
from app.core.common.errors import UserError
from app.core.document.text import one_line
from app.core.document.transcript import Transcript

EXCERPT_CHARS = 1200  # per speaker: enough to tell a role, bounded for hour-long files
MAX_ROLE_CHARS = 40
MAX_REPLY_BYTES = 64 * 1024  # a longer answer is not a list of roles; reading stops there
TURNED_OFF = "Role naming was turned off (or its host changed) before the excerpts were sent: nothing was sent."


@dataclass(frozen=True)
class RoleOptions:
    host: str
    model: str
    context: str = ""  # "a medical consultation in Spanish"
    timeout: float = 60.0  # for the whole exchange, not per read
    confirmed_host: str = ""  # a host off this computer the user agreed to send excerpts to
    api_key: str = ""  # sent only to a confirmed host (OLLAMA_API_KEY)


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
    off): it is read again right before each request, so consent withdrawn meanwhile (role
    naming unticked, the host's confirmation removed, another host chosen) stops the
    excerpts before they leave. Excerpts go only to this computer or to the host the user
    confirmed; no proxy from the environment is used (httpx would otherwise send them
    through one, even for localhost); the answer is read up to MAX_REPLY_BYTES; the whole
    exchange has one deadline."""
    current = options if callable(options) else (lambda: options)
    ids = [s.id for s in transcript.speakers]
    if not ids:
        return RoleResult({}, "No speakers to name.")
    chosen = current()
    if chosen is None:
        return RoleResult({}, TURNED_OFF)
    try:
        address = hosts.url(chosen.host)
    except UserError as exc:
        return RoleResult({}, str(exc))
    if not hosts.trusted(chosen.host, chosen.confirmed_host):
        return RoleResult({}, f"Ollama at {address} is not on this computer: excerpts of the conversation would be "
                              "sent there. Confirm that host in Preferences (https advised), or use a local Ollama.")
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.update(_ask(transcript, chosen, current, address, ids)),
                              daemon=True)
    worker.start()
    worker.join(chosen.timeout)
    if worker.is_alive():  # a slow drip is cut off here; the thread ends with its socket
        client = outcome.get("client")
        if client is not None:
            client.close()
        return RoleResult({}, f"Ollama did not answer within {chosen.timeout:g} s; try again, or a smaller model.")
    return outcome.get("result") or RoleResult({}, "Role naming failed unexpectedly; the speakers keep their labels.")


class _Withdrawn(Exception):
    """Consent to send excerpts there is no longer in force."""


def _consented(current: Callable[[], RoleOptions | None], address: str) -> RoleOptions:
    """The options in force now, if they still send to `address`; else _Withdrawn."""
    now = current()
    try:
        if now is not None and hosts.url(now.host) == address and hosts.trusted(address, now.confirmed_host):
            return now
    except UserError:
        pass
    raise _Withdrawn()


def _ask(transcript: Transcript, options: RoleOptions, current: Callable[[], RoleOptions | None], address: str,
         ids: list[str]) -> dict:
    import httpx
    import ollama

    def only_with_consent(request) -> None:
        """Runs right before each request leaves: consent, host and key as they are now."""
        now = _consented(current, address)
        confirmed = now.api_key and now.confirmed_host and hosts.trusted(str(request.url), now.confirmed_host) \
            and not hosts.is_local(str(request.url))
        if confirmed:
            request.headers["authorization"] = f"Bearer {now.api_key}"
        else:
            request.headers.pop("authorization", None)  # the client library adds OLLAMA_API_KEY itself

    found: dict = {}
    try:
        client = ollama.Client(host=address, timeout=options.timeout, trust_env=False, follow_redirects=False,
                               event_hooks={"request": [only_with_consent]})
        found["client"] = client
        pulled = {m.model for m in client.list().models}
        if options.model not in pulled and f"{options.model}:latest" not in pulled:
            found["result"] = RoleResult({}, f"The model {options.model} is not installed in Ollama. Run: ollama pull {options.model}")
            return found
        reply, size = [], 0
        for part in client.chat(
            model=options.model,
            messages=[{"role": "user", "content": prompt(transcript, _consented(current, address).context)}],
            format=schema(ids),
            options={"temperature": 0},
            stream=True,
        ):
            piece = part.message.content or ""
            size += len(piece.encode("utf-8"))
            if size > MAX_REPLY_BYTES:
                raise ValueError(f"its answer ran past {MAX_REPLY_BYTES // 1024} KB")
            reply.append(piece)
        roles = validate("".join(reply), ids)
    except _Withdrawn:
        found["result"] = RoleResult({}, TURNED_OFF)
        return found
    except ConnectionError:
        found["result"] = RoleResult({}, f"Ollama is not running at {address}. Start it (ollama serve), or turn role naming off.")
        return found
    except httpx.TimeoutException:
        found["result"] = RoleResult({}, f"Ollama did not answer within {options.timeout:g} s; try again, or a smaller model.")
        return found
    except ollama.ResponseError as exc:
        if exc.status_code == 404:
            found["result"] = RoleResult({}, f"The model {options.model} is not installed in Ollama. Run: ollama pull {options.model}")
        else:
            found["result"] = RoleResult({}, f"Ollama answered with an error: {one_line(str(exc.error), 200)}")
        return found
    except ValueError as exc:
        found["result"] = RoleResult({}, f"Role naming skipped: {exc}; the speakers keep their voice labels.")
        return found
    except (httpx.HTTPError, OSError) as exc:
        found["result"] = RoleResult({}, f"Ollama could not be reached at {address} ({type(exc).__name__}).")
        return found
    except Exception as exc:  # noqa: BLE001 - whatever the library does, the job is untouched
        found["result"] = RoleResult({}, f"Role naming failed ({type(exc).__name__}); the speakers keep their labels.")
        return found
    missing = [i for i in ids if i not in roles]
    note = f"Roles suggested by {options.model}." + (f" No role for {', '.join(missing)}." if missing else "")
    found["result"] = RoleResult(roles, note)
    return found
