"""One structured answer from Ollama, under the privacy rules every LLM feature shares
(roles.py, notes.py).

Text goes only to this computer or to the host the user confirmed, and consent is read
again right before each request leaves (`options_now()`; None: the feature was turned
off). No proxy from the environment is used (httpx would otherwise send the text through
one, even for localhost); the answer is read up to `max_bytes`; the whole exchange has one
deadline; an API key is sent only to a confirmed host off this computer. Whatever goes
wrong becomes `ChatError` with one note that says what to do.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from app.core.common.errors import UserError
from app.core.document.text import one_line
from app.core.llm import hosts

TURNED_OFF = "It was turned off (or its host changed) before anything was sent: nothing was sent."


@dataclass(frozen=True)
class LLMOptions:
    host: str
    model: str
    context: str = ""  # "a medical consultation in Spanish"
    timeout: float = 60.0  # for the whole exchange, not per read
    confirmed_host: str = ""  # a host off this computer the user agreed to send text to
    api_key: str = ""  # sent only to a confirmed host (OLLAMA_API_KEY)


class ChatError(Exception):
    """The one note to show; nothing was changed."""


class _Withdrawn(Exception):
    """Consent to send there is no longer in force."""


def address_for(options: LLMOptions) -> str:
    """The address text may go to now, or ChatError saying why not."""
    try:
        address = hosts.url(options.host)
    except UserError as exc:
        raise ChatError(str(exc)) from None
    if not hosts.trusted(options.host, options.confirmed_host):
        raise ChatError(f"Ollama at {address} is not on this computer: parts of the conversation would be sent "
                        "there. Confirm that host in Preferences (https advised), or use a local Ollama.")
    return address


def ask(options_now: Callable[[], LLMOptions | None], prompt: Callable[[LLMOptions], str], schema: dict,
        max_bytes: int, num_ctx: int | None = None, cancel: Callable[[], bool] = lambda: False) -> tuple[str, str]:
    """(the answer's text, the model) for `prompt(options)` (built from the options in
    force when it is sent), asked for as JSON in `schema`. ChatError otherwise; `cancel()`
    true ends the exchange (ChatError "Cancelled.")."""
    chosen = options_now()
    if chosen is None:
        raise ChatError(TURNED_OFF)
    address = address_for(chosen)
    outcome: dict = {}
    worker = threading.Thread(
        target=lambda: outcome.update(_exchange(chosen, options_now, address, prompt, schema, max_bytes, num_ctx)),
        daemon=True)
    worker.start()
    deadline = chosen.timeout
    while worker.is_alive() and deadline > 0 and not cancel():
        worker.join(min(0.2, deadline))
        deadline -= 0.2
    if worker.is_alive():  # a slow drip is cut off here; the thread ends with its socket
        client = outcome.get("client")
        if client is not None:
            client.close()
        if cancel():
            raise ChatError("Cancelled.")
        raise ChatError(f"Ollama did not answer within {chosen.timeout:g} s; try again, or a smaller model.")
    if "error" in outcome:
        raise ChatError(outcome["error"])
    if "reply" not in outcome:
        raise ChatError("Asking Ollama failed unexpectedly; nothing was changed.")
    return outcome["reply"], chosen.model


def _consented(current: Callable[[], LLMOptions | None], address: str) -> LLMOptions:
    """The options in force now, if they still send to `address`; else _Withdrawn."""
    now = current()
    try:
        if now is not None and hosts.url(now.host) == address and hosts.trusted(address, now.confirmed_host):
            return now
    except UserError:
        pass
    raise _Withdrawn()


def _exchange(options: LLMOptions, current, address: str, prompt, schema: dict, max_bytes: int,
              num_ctx: int | None) -> dict:
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
    missing = f"The model {options.model} is not installed in Ollama. Run: ollama pull {options.model}"
    try:
        client = ollama.Client(host=address, timeout=options.timeout, trust_env=False, follow_redirects=False,
                               event_hooks={"request": [only_with_consent]})
        found["client"] = client
        pulled = {m.model for m in client.list().models}
        if options.model not in pulled and f"{options.model}:latest" not in pulled:
            return found | {"error": missing}
        reply, size = [], 0
        settings = {"temperature": 0} | ({"num_ctx": num_ctx} if num_ctx else {})
        for part in client.chat(model=options.model, format=schema, options=settings, stream=True,
                                messages=[{"role": "user", "content": prompt(_consented(current, address))}]):
            piece = part.message.content or ""
            size += len(piece.encode("utf-8"))
            if size > max_bytes:
                return found | {"error": f"Its answer ran past {max_bytes // 1024} KB; nothing was changed."}
            reply.append(piece)
        return found | {"reply": "".join(reply)}
    except _Withdrawn:
        return found | {"error": TURNED_OFF}
    except ConnectionError:
        return found | {"error": f"Ollama is not running at {address}. Start it (ollama serve)."}
    except httpx.TimeoutException:
        return found | {"error": f"Ollama did not answer within {options.timeout:g} s; try again, or a smaller model."}
    except ollama.ResponseError as exc:
        if exc.status_code == 404:
            return found | {"error": missing}
        return found | {"error": f"Ollama answered with an error: {one_line(str(exc.error), 200)}"}
    except (httpx.HTTPError, OSError) as exc:
        return found | {"error": f"Ollama could not be reached at {address} ({type(exc).__name__})."}
    except Exception as exc:  # noqa: BLE001 - whatever the library does, nothing is changed
        return found | {"error": f"Asking Ollama failed ({type(exc).__name__}); nothing was changed."}
