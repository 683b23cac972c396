"""Notes (llm/notes.py) as the documents and the JSON show them: each point with the times
of the turns it cites ([12:04]); an unsupported one marked so, with its reason.

Works on the notes' plain data (`Notes.to_dict()`) and whether they were made from the
transcript as it is now, so the documents need nothing of the LLM's code.
"""

from __future__ import annotations

SECTION_TITLES = {"summary": "Summary", "decisions": "Decisions", "actions": "Action items",
                  "open": "Open questions", "themes": "Themes", "quotes": "Quotes", "reason": "Reason for visit",
                  "history": "History", "findings": "Findings", "plan": "Plan", "notes": "Notes"}
STALE = "Made from an earlier version of the transcript (it was corrected since)."


def stamp(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def about(data: dict, current: bool) -> str:
    """The line under the heading: which model, which template, and whether still current."""
    line = f"By {data['model']} ({data['template']})."
    return line if current else f"{line} {STALE}"


def sections(data: dict, names: dict[str, str]) -> list[tuple[str, list[dict]]]:
    """[(heading, points)] in order; each point {text, who (name), quote, stamps [(start, end)], problem}."""
    cites = {int(k): v for k, v in data.get("cites", {}).items()}
    found: dict[str, list[dict]] = {}
    for point in data["points"]:
        found.setdefault(point["section"], []).append({
            "text": point["text"], "who": names.get(point.get("who") or "", point.get("who")),
            "quote": point.get("quote"), "problem": point.get("problem", ""),
            "stamps": [tuple(cites[n]) for n in point["turns"] if n in cites],
        })
    return [(SECTION_TITLES.get(key, key.title()), points) for key, points in found.items()]


def for_json(data: dict, current: bool) -> dict:
    """What `notes --format json` prints and the JSON export carries: every point with its
    `text` and its `cites` as [{"start", "end"}] seconds, for another program to check."""
    cites = {int(k): v for k, v in data.get("cites", {}).items()}
    return {
        "template": data["template"], "model": data["model"], "language": data["language"],
        "made_at": data["made_at"], "current": current, "parts": data.get("parts", 1),
        "points": [{"section": p["section"], "text": p["text"], "who": p.get("who"), "quote": p.get("quote"),
                    "supported": not p.get("problem"), "problem": p.get("problem", ""),
                    "cites": [{"start": cites[n][0], "end": cites[n][1]} for n in p["turns"] if n in cites]}
                   for p in data["points"]],
    }


def point_text(point: dict) -> tuple[str, str]:
    """(the point as a line, the citations as "[01:02, 03:04]")."""
    text = point["text"]
    if point["who"] and point["who"].casefold() not in text.casefold():
        text = f"{point['who']}: {text}"
    if point["quote"]:
        text = f"{text} “{point['quote']}”"
    return text, "[" + ", ".join(stamp(s) for s, _ in point["stamps"]) + "]" if point["stamps"] else ""


def markdown(data: dict, current: bool, names: dict[str, str], level: int, escape=lambda text: text) -> list[str]:
    """The notes as Markdown lines, their heading at `level` (`escape`: the documents' own)."""
    lines = [f"{'#' * level} Notes", "", f"*{escape(about(data, current))}*"]
    for heading, points in sections(data, names):
        lines += ["", f"{'#' * (level + 1)} {escape(heading)}", ""]
        for point in points:
            text, cited = point_text(point)
            flag = f" **Unsupported: {escape(point['problem'])}.**" if point["problem"] else ""
            lines.append(f"- {escape(text)} {cited}{flag}".rstrip())
    return lines
