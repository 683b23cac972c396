"""`notes RECORDING|ID`: notes of a finished transcript from a local LLM, each point with
the times of the turns it cites (llm/notes.py)."""

from __future__ import annotations

import json
import sys

from app.core.common.errors import UserError


def notes(args) -> int:
    from app.core import settings as settings_mod
    from app.core.document import notes_doc
    from app.core.engine import Engine

    try:
        engine = Engine.for_reading(settings_mod.load(**({"ollama_model": args.model} if args.model else {})))
        job_id = engine.voices.job_of(args.recording)
        kept, current = engine.notes.get(job_id)
        wanted = args.template or (kept.template if kept else "summary")
        if args.instructions and wanted != "custom":
            raise UserError("--instructions go with --template custom.")
        if kept is None or not current or args.again or kept.template != wanted or (
                args.instructions and args.instructions.strip() != kept.instructions):
            kept, current = engine.notes.make(job_id, wanted, args.instructions or "", progress=_progress), True
            print(file=sys.stderr)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    data = kept.to_dict()
    if args.format == "json":
        print(json.dumps(notes_doc.for_json(data, current), ensure_ascii=False, indent=2))
    else:
        names = engine.result(job_id).speaker_names()
        print("\n".join(notes_doc.markdown(data, current, names, 1)))
    unsupported = sum(1 for p in kept.points if not p.supported)
    if unsupported:
        print(f"{unsupported} of {len(kept.points)} point(s) are not supported by the turns they cite "
              "(marked so).", file=sys.stderr)
    return 0


def _progress(fraction: float, text: str) -> None:
    print(f"\r{text} ({fraction * 100:.0f}%)", end="", file=sys.stderr, flush=True)
