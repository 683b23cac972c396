"""Text people or an LLM typed, made safe to show and to write into subtitles.

A speaker's name or role is one line: line and paragraph breaks, other control
characters and the invisible controls that reorder text (bidirectional overrides) are
removed, runs of spaces become one, and it is capped in length. Subtitle text never holds
a blank line or the "-->" that starts a cue's timing.
"""

from __future__ import annotations

import re
import unicodedata

NAME_MAX_CHARS = 60
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _clean(text: str) -> str:
    out = []
    for ch in str(text):
        if ch in _BREAKS or ch == "\t":
            out.append(" ")
        elif ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cs"):  # controls; lone surrogates
            continue
        else:
            out.append(ch)
    return re.sub(r"\s+", " ", "".join(out)).strip()


def shown(text: str) -> str:
    """Text that can be shown and stored: a file name that is not valid UTF-8 (Linux)
    arrives with its stray bytes as lone surrogates, which SQLite, JSON files and the
    window cannot take; each becomes U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape" if _escaped_only(text) else "replace").decode("utf-8", "replace")


def _escaped_only(text: str) -> bool:
    return all(not 0xD800 <= ord(ch) <= 0xDFFF or 0xDC80 <= ord(ch) <= 0xDCFF for ch in text)


def one_line(text: str, limit: int = NAME_MAX_CHARS) -> str:
    """A name or role as one clean line of at most `limit` characters."""
    cleaned = _clean(text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


def cue_text(text: str) -> str:
    """Subtitle text: one line, no arrow a player could read as a new cue's timing."""
    return re.sub(r"-+>", "→", _clean(text))
