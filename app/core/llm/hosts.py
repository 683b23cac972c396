"""Where an LLM host is: on this computer (loopback) or not; and whether its address is one
we can use at all. Excerpts of a private conversation go to a host that is not on this
computer only once the user has confirmed that host."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from app.core.common.errors import UserError


def parse(host: str) -> tuple[str, str, int]:
    """(scheme, hostname, port) of an Ollama address ("localhost:11434" or a URL), or a
    UserError saying what is wrong with it."""
    text = (host or "").strip()
    if not text:
        raise UserError("The Ollama address is empty: use e.g. http://localhost:11434.")
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        if "port" in str(exc).lower():
            raise UserError(f"The Ollama address '{host}' has no valid port (1 to 65535).") from None
        raise UserError(f"The Ollama address '{host}' is not valid: use e.g. http://localhost:11434.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise UserError(f"The Ollama address '{host}' is not valid: use e.g. http://localhost:11434.")
    if port is not None and not 1 <= port <= 65535:
        raise UserError(f"The Ollama address '{host}' has no valid port (1 to 65535).")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 11434)


def url(host: str) -> str:
    scheme, name, port = parse(host)
    shown = f"[{name}]" if ":" in name else name
    return f"{scheme}://{shown}:{port}"


def is_local(host: str) -> bool:
    """Whether the address is this computer (localhost, 127.0.0.0/8, ::1)."""
    _, name, _ = parse(host)
    if name.lower() in ("localhost", "localhost.localdomain") or name.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def trusted(host: str, confirmed: str) -> bool:
    """Local, or the very address the user confirmed."""
    try:
        return is_local(host) or (bool(confirmed) and url(host) == url(confirmed))
    except UserError:
        return False
