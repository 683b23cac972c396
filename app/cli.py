"""Command line: `python -m app transcribe FILE...`. Imports nothing heavy until it must."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from app import __version__
from app.core.document.exports import ALL as FORMATS, clock  # plain Python: keeps --help instant
from app.core.document.text import one_line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Diarization Studio: who said what, and when.")
    parser.add_argument("--version", action="version", version=f"Diarization Studio {__version__}")
    parser.add_argument("--self-test", nargs="?", const="", type=str, metavar="DIR",
                        help="transcribe the build's two-voice recording and check the result (no window)")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("gui", help="open the window (the default with no command)")
    tr = commands.add_parser("transcribe", help="transcribe files and find who speaks when")
    tr.add_argument("files", nargs="+", type=Path, metavar="FILE",
                    help="recordings, or folders (the recordings inside them, as the window takes them)")
    tr.add_argument("--language", help="language code such as es or en (default: detect)")
    tr.add_argument("--model", help="tiny, base, small, medium, large-v3, or a model folder (default: base)")
    tr.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="where to run (default: auto)")
    count = tr.add_mutually_exclusive_group()
    count.add_argument("--speakers", type=int, metavar="N", help="exactly N speakers")
    count.add_argument("--max-speakers", type=int, metavar="N", help="at most N speakers")
    tr.add_argument("--channels", choices=("auto", "mix", "split"),
                    help="a stereo call: hear each channel on its own (split), mix them (mix), or let the audio "
                         "decide (auto, the default unless Preferences say otherwise)")
    tr.add_argument("--format", choices=tuple(FORMATS), default="json",
                    help="json, srt, vtt, txt, rttm, or a document: md, docx, pdf, html")
    tr.add_argument("--stamps", choices=("turn", "paragraph", "none"), default="turn",
                    help="in a document (md, docx, pdf, html): a time per turn (default), per paragraph, or none")
    tr.add_argument("-o", "--output", type=Path, metavar="PATH", help="output file, or folder for several inputs")
    tr.add_argument("--no-cache", action="store_true", help="transcribe again even if a stored result exists")
    tr.add_argument("--redis", metavar="URL", help="send the jobs to the workers of this Redis queue (redis://host:6379)")
    wk = commands.add_parser("worker", help="take jobs from a Redis queue and run them on this computer")
    wk.add_argument("--redis", metavar="URL", help="the queue (default: REDIS_URL, or REDIS_HOST and REDIS_PORT)")
    wk.add_argument("--name", help="this worker's name in the queue (default: host name and process id)")
    wk.add_argument("--burst", action="store_true", help="stop once the queue is empty")
    wk.add_argument("--password-file", type=Path, metavar="FILE",
                    help="the queue's password, from a file (default: REDIS_PASSWORD, or REDIS_PASSWORD_FILE); "
                         "never put it in --redis, where other users of the computer can read it")
    commands.add_parser("jobs", help="list the job history")
    show = commands.add_parser("show", help="print a stored result")
    show.add_argument("id", type=int)
    show.add_argument("--format", choices=tuple(FORMATS), default="txt")
    show.add_argument("--stamps", choices=("turn", "paragraph", "none"), default="turn",
                      help="in a document: a time per turn, per paragraph, or none")
    show.add_argument("-o", "--output", type=Path, metavar="FILE", help="write it here (needed for docx and pdf "
                      "unless standard output is a file)")
    show.add_argument("--notes", action="store_true", help="with the notes kept for it (documents and json)")
    show.add_argument("--speaker-audio", metavar="SPEAKER",
                      help="instead, save this speaker's audio (an id such as SPEAKER_01, or their name) to "
                           "-o FILE.wav or .flac: their turns in order, half a second of silence apart")
    show.add_argument("--whole", action="store_true",
                      help="with --speaker-audio: the whole recording's length, everyone else silenced")
    vo = commands.add_parser("voices", help="known voices: speakers named in every new recording")
    voice = vo.add_subparsers(dest="action", required=True)
    add = voice.add_parser("add", help="remember a speaker's voice from a transcribed recording")
    add.add_argument("recording", metavar="RECORDING", help="a file already transcribed, or a job id")
    add.add_argument("speaker", metavar="SPEAKER", help="its id as in the JSON, such as SPEAKER_01")
    add.add_argument("name", metavar="NAME", help="who it is (an existing voice gets another sample)")
    voice.add_parser("list", help="the known voices and where their samples came from")
    rename = voice.add_parser("rename", help="rename a known voice")
    rename.add_argument("old", metavar="OLD")
    rename.add_argument("new", metavar="NEW")
    remove = voice.add_parser("remove", help="forget a voice for good (its samples and the names it gave)")
    remove.add_argument("name", metavar="NAME")
    voice.add_parser("apply", help="name the speakers of every past transcript after the known voices")
    sv = commands.add_parser("serve", help="the HTTP API for other programs, without the window")
    sv.add_argument("--port", type=int, default=7001)
    sv.add_argument("--host", default="127.0.0.1",
                    help="where to listen (default: this computer only); every request needs the token it prints")
    sv.add_argument("--cors", action="append", default=[], metavar="ORIGIN", help="a web page origin allowed to call it")
    wt = commands.add_parser("watch", help="queue every recording that appears in a folder (runs until stopped)")
    wt.add_argument("folders", nargs="+", type=Path, metavar="FOLDER")
    wt.add_argument("--export", metavar="FORMATS", default="",
                    help=f"write these when each is done, separated by commas ({', '.join(FORMATS)})")
    wt.add_argument("--to", type=Path, metavar="DIR", help="write the exports here (default: beside each recording)")
    wt.add_argument("--language", help="language code such as es or en (default: detect)")
    wcount = wt.add_mutually_exclusive_group()
    wcount.add_argument("--speakers", type=int, metavar="N", help="exactly N speakers")
    wcount.add_argument("--max-speakers", type=int, metavar="N", help="at most N speakers")
    wt.add_argument("--subfolders", action="store_true", help="watch the folders inside too")
    wt.add_argument("--settle", type=float, default=3.0, metavar="SECONDS",
                    help="a file unchanged this long is complete (default: 3; more for slow network shares)")
    nt = commands.add_parser("notes", help="notes of a transcript from a local LLM (Ollama), each point citing its turns")
    nt.add_argument("recording", metavar="RECORDING", help="a file already transcribed, or a job id")
    nt.add_argument("--template", choices=("summary", "minutes", "interview", "consultation", "custom"),
                    help="what the notes hold (default: the kept notes' template, else summary)")
    nt.add_argument("--instructions", metavar="TEXT", help="with --template custom: what to write")
    nt.add_argument("--format", choices=("md", "json"), default="md")
    nt.add_argument("--model", help="the Ollama model (default: as in Preferences)")
    nt.add_argument("--again", action="store_true", help="make them again even if kept notes are current")
    mo = commands.add_parser("models", help="the Whisper models: list, get (resumable, checked) or remove")
    model_action = mo.add_subparsers(dest="action", required=True)
    model_action.add_parser("list", help="every model, whether it is here and the disk it takes")
    model_action.add_parser("get", help="download a model (resumes a stopped download)").add_argument("name")
    model_action.add_parser("remove", help="remove a downloaded model").add_argument("name")
    find = commands.add_parser("search", help="find words (or a speaker's name) in every stored transcript")
    find.add_argument("query", nargs="+", metavar="QUERY", help="words to find; accents and case are ignored")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args([a for a in argv if not a.startswith("-psn_")])  # old macOS Finder adds -psn_
    if args.self_test is not None:
        from app import selftest

        return selftest.run(Path(args.self_test) if args.self_test else None)
    commands = {"transcribe": _transcribe, "jobs": _jobs, "show": _show, "gui": _gui, "worker": _worker,
                "voices": _voices, "search": _search, "watch": _watch, "notes": _notes, "models": _models,
                "serve": _serve, None: _gui}
    try:
        return commands[args.command](args)
    except KeyboardInterrupt:
        print("\ninterrupted; an unfinished job resumes on the next start", file=sys.stderr)
        return 130


ran_window = False  # read by app/__main__.py


def _gui(args) -> int:
    global ran_window
    from app.ui.app import run

    ran_window = True
    return run()


def _transcribe(args) -> int:
    from app.core.common import devices
    from app.core.audio_in import media
    from app.core import settings as settings_mod
    from app.core.common.errors import UserError

    try:
        settings = settings_mod.load(
            model=args.model,
            language=None if args.language in (None, "auto") else args.language.lower(),
            device=args.device,
            num_speakers=args.speakers,
            max_speakers=args.max_speakers,
            channels=args.channels,
            redis_url=_with_queue_password(args.redis),
            process_on="workers" if args.redis else None,
        )
        devices.plan(settings.device, settings.compute_type)
        files, refused = media.collect(args.files)
        for path in refused:
            print(f"warning: {path}: not an audio or video file (or a folder without any); skipped.", file=sys.stderr)
        if not files:
            raise UserError("none of the given paths is a recording.")
        target = _output_plan(args.output, files, args.format)
        engine = _engine(settings)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(format="%(message)s")
    logging.getLogger("app").setLevel(logging.INFO)
    try:
        return _run_files(engine, settings, args, files, target)
    finally:
        engine.close()


def _engine(settings):
    from app.core.engine import Engine

    # As the queue's owner, the command line runs only its own jobs (and those a dead
    # owner left unfinished); while the app owns it, the app runs them and this waits.
    engine, problem = Engine.for_command_line(settings)
    if problem:
        print(f"warning: {problem}", file=sys.stderr)
    return engine


def _run_files(engine, settings, args, files, target) -> int:
    bar = ProgressBar()
    engine.subscribe(lambda event: bar.update(event.job.name, event.job.progress, event.job.stage)
                     if event.kind == "progress" else None)
    resumed = engine.start()
    if not engine.owner:
        print("Diarization Studio is open on this history: your files run there, one at a time; "
              "this waits for their results.", file=sys.stderr)
    if resumed:
        print(f"Resuming {len(resumed)} interrupted job(s) first.", file=sys.stderr)
    for job in resumed:
        done = engine.wait(job.id)
        bar.clear()
        print(f"{done.name}: resumed job {done.id} {done.status}. {done.error}".strip(), file=sys.stderr)
    queued = [engine.add(path, settings, no_cache=args.no_cache) for path in files]
    failed = 0
    for path, job in zip(files, queued):
        cached = job.status == "completed"
        job = engine.wait(job.id)
        bar.clear()
        if job.status != "completed":
            print(f"error: {job.error or f'{path}: {job.status}'}", file=sys.stderr)
            failed += 1
            continue
        transcript = engine.result(job.id)
        if cached:
            print(f"{path.name}: already transcribed with these settings (job {job.id}); using the stored result.",
                  file=sys.stderr)
        for warning in transcript.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        text = engine.render(job.id, args.format, with_folder=not settings.exports_without_folder,
                             stamps=args.stamps, printer=_printer(args.format))
        destination = target[path]
        if destination is None:
            if not _out(text):
                return 2
        else:
            _write(destination, text)
            print(f"{path.name} -> {destination}", file=sys.stderr)
    if failed:
        print(f"{failed} of {len(files)} file(s) failed.", file=sys.stderr)
    return 1 if failed else 0


def _with_queue_password(url: str | None) -> str | None:
    """--redis with the password from REDIS_PASSWORD or REDIS_PASSWORD_FILE, as the worker
    takes it, when the address holds none."""
    from urllib.parse import quote, urlsplit

    if not url or urlsplit(url).password or "password=" in url:
        return url
    password = _queue_password(None)
    if not password:
        return url
    scheme, _, rest = url.partition("://")
    user, at, host = rest.rpartition("@")
    return f"{scheme}://{user.split(':')[0] if at else ''}:{quote(password, safe='')}@{host if at else rest}"


def _queue_password(password_file: Path | None) -> str | None:
    """For a queue address without a password: --password-file, REDIS_PASSWORD, then
    REDIS_PASSWORD_FILE (the address's own password wins over all three)."""
    from app.core.engine import read_queue_password as read_password

    if password_file:
        return read_password(password_file)
    if os.environ.get("REDIS_PASSWORD"):
        return os.environ["REDIS_PASSWORD"]
    if os.environ.get("REDIS_PASSWORD_FILE"):
        return read_password(os.environ["REDIS_PASSWORD_FILE"])
    return None


def _worker(args) -> int:
    from urllib.parse import urlsplit

    from app.core import settings as settings_mod
    from app.core.common.errors import UserError
    from app.core.engine import serve_worker as serve

    logging.basicConfig(format="%(asctime)s %(message)s")
    logging.getLogger("app").setLevel(logging.INFO)
    try:
        settings = settings_mod.load(redis_url=args.redis)
        if not settings.redis_url:
            raise UserError("No queue given: use --redis redis://host:6379 (or set REDIS_URL).")
        if args.redis and urlsplit(args.redis).password:
            print("note: a password in --redis can be read by other users of this computer (ps); "
                  "use REDIS_PASSWORD_FILE or --password-file instead.", file=sys.stderr)
        serve(settings.redis_url, args.name, burst=args.burst, password=_queue_password(args.password_file))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _models(args) -> int:
    from app.cli_models import models

    return models(args)


def _notes(args) -> int:
    from app.cli_notes import notes

    return notes(args)


def _watch(args) -> int:
    from app.cli_watch import watch

    return watch(args)


def _jobs(args) -> int:
    engine = _open_store()
    if engine is None:
        return 2
    rows = engine.jobs()
    if not rows:
        print("No jobs yet.")
        return 0
    print(f"{'id':>4}  {'status':<11}  {'duration':>8}  {'speakers':>8}  file")
    for job in rows:
        result = engine.result(job.id)
        duration = clock(job.duration) or "-"
        speakers = str(len(result.speakers)) if result else "-"
        print(f"{job.id:>4}  {job.status:<11}  {duration:>8}  {speakers:>8}  {job.path}")
    return 0


def _show(args) -> int:
    engine = _open_store()
    if engine is None:
        return 2
    job = engine.job(args.id)
    if job is None:
        print(f"error: there is no job {args.id} (see: python -m app jobs).", file=sys.stderr)
        return 1
    if job.status != "completed":
        print(f"error: job {job.id} ({job.name}) is {job.status}; it has no result. {job.error}".strip(), file=sys.stderr)
        return 1
    if args.speaker_audio is not None or args.whole:
        return _speaker_audio(engine, job, args)
    from app.core.common.errors import UserError

    text = engine.render(job.id, args.format, stamps=args.stamps, printer=_printer(args.format), with_notes=args.notes)
    if args.output is None:
        return 0 if _out(text) else 2
    try:
        _write(args.output, text)
    except (OSError, UserError) as exc:
        print(f"error: could not write {args.output}: {exc}", file=sys.stderr)
        return 1
    print(f"{job.name} -> {args.output}", file=sys.stderr)
    return 0


def _speaker_audio(engine, job, args) -> int:
    """`show ID --speaker-audio SPEAKER -o FILE`: one line saying what was written."""
    from app.core.common.errors import UserError

    if args.speaker_audio is None or args.output is None:
        print("error: --speaker-audio SPEAKER -o FILE.wav (or .flac) saves a speaker's audio"
              f"{'; --whole goes with it' if args.whole else ''}.", file=sys.stderr)
        return 2
    try:
        done = engine.excerpts.save(job.id, args.output, speaker=args.speaker_audio,
                                    mode="whole" if args.whole else "joined")
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    turns = f"{done.spans} turn{'s' if done.spans != 1 else ''}"
    length = clock(done.seconds) if done.seconds >= 60 else f"{done.seconds:.1f} s"
    held = (f"{length}, only {turns} of {args.speaker_audio} heard" if args.whole
            else f"{length}, {turns} of {args.speaker_audio} joined")
    print(f"{args.output}: {held} ({done.rate:,} Hz, {done.channels} channel{'s' if done.channels != 1 else ''}).")
    return 0


def _printer(fmt: str):
    if fmt != "pdf":
        return None
    from app.printing import print_html

    return print_html


def _out(text: str | bytes) -> bool:
    """To standard output: bytes as they are (a docx or pdf piped to a file), never to a terminal."""
    if isinstance(text, bytes):
        if sys.stdout.isatty():
            print("error: a Word or PDF document is not shown in a terminal: add -o FILE.", file=sys.stderr)
            return False
        sys.stdout.flush()
        sys.stdout.buffer.write(text)
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return True


def _voices(args) -> int:
    from app.core.common.errors import UserError

    engine = _open_store()
    if engine is None:
        return 2
    try:
        if args.action == "add":
            job_id = engine.voices.job_of(args.recording)
            speakers = {s.id for s in engine.result(job_id).speakers}
            if args.speaker not in speakers:
                raise UserError(f"Job {job_id} has no speaker {args.speaker} (it has {', '.join(sorted(speakers)) or 'none'}).")
            engine.voices.remember(job_id, args.speaker, args.name)
            print(f"{args.speaker} of job {job_id} remembered as {one_line(args.name)}.")
        elif args.action == "list":
            known = engine.voices.list()
            if not known:
                print("No known voices yet (add one: python -m app voices add RECORDING SPEAKER NAME).")
            for voice in known:
                print(f"{voice['name']}  ({len(voice['samples'])} sample{'s' if len(voice['samples']) != 1 else ''})")
                for sample in voice["samples"]:
                    print(f"    {sample['speaker_id']} of {sample['source']}")
        elif args.action == "rename":
            engine.voices.rename(args.old, args.new)
            print(f"{args.old} is now {one_line(args.new)}.")
        elif args.action == "remove":
            engine.voices.forget(args.name)
            print(f"{args.name} forgotten: its samples and the names it gave are gone from the history.")
        elif args.action == "apply":
            print(f"Known voices name {engine.voices.apply()} speaker(s) across the stored transcripts.")
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _serve(args) -> int:
    from app import api
    from app.core import settings as settings_mod
    from app.core.common.errors import UserError

    try:
        settings = settings_mod.load()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Diarization Studio API on http://{args.host}:{args.port}/api/diarization (documented at /docs)", flush=True)
    api.serve(args.host, args.port, cors_origins=tuple(args.cors), settings=settings)
    return 0


def _search(args) -> int:
    """One line per hit: file, time as M:SS, speaker, snippet."""
    engine = _open_store()
    if engine is None:
        return 2
    hits = engine.search.find(" ".join(args.query))
    if not hits:
        print("No transcript says that.", file=sys.stderr)
        return 1
    for hit in hits:
        minutes, seconds = divmod(int(hit.start), 60)
        print(f"{hit.path}  {minutes}:{seconds:02d}  {hit.name}  {one_line(hit.snippet, 300)}")
    return 0


def _open_store():
    """The history for reading (jobs, show): a damaged one is reported, not replaced. The
    engine is not started: reading never takes the queue."""
    from app.core import settings as settings_mod
    from app.core.engine import Engine
    from app.core.common.errors import UserError

    try:
        return Engine.for_reading(settings_mod.load())
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _output_plan(output: Path | None, files: list[Path], fmt: str) -> dict[Path, Path | None]:
    """Where each input's result goes: stdout (None), the given file, or a folder. In a
    folder, inputs with the same name (d1/a.wav, d2/a.wav; a.wav, a.mp3) get distinct
    outputs; an output that is one of the recordings is refused."""
    from app.core.common.errors import UserError

    if output is None:
        return {path: None for path in files}
    as_folder = len(files) > 1 or output.is_dir() or str(output).endswith(os.sep)
    if not as_folder:
        plan = {files[0]: output}
    else:
        if output.exists() and not output.is_dir():
            raise UserError(f"{output}: several inputs need an output folder, and this is a file.")
        plan, used = {}, set()
        for path in files:
            name, n = f"{path.stem}.{fmt}", 1
            if name.casefold() in used:
                name = f"{path.stem}{path.suffix.replace('.', '-')}.{fmt}"  # a.wav, a.mp3 -> a.json, a-mp3.json
            while name.casefold() in used:
                n += 1
                name = f"{path.stem} ({n}).{fmt}"
            used.add(name.casefold())
            plan[path] = output / name
    inputs = {_same(p) for p in files}
    for destination in plan.values():
        if _same(destination) in inputs:
            raise UserError(f"{destination}: is one of the recordings being transcribed; choose another output.")
    return plan


def _same(path: Path) -> str:
    return os.path.normcase(os.path.realpath(path))


def _write(path: Path, text: str | bytes) -> None:
    from app.core.common.files import write_atomic

    write_atomic(path, text)


class ProgressBar:
    """A bar on stderr when it is a terminal; otherwise one line per stage."""

    WIDTH = 28

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.tty = stream.isatty()
        self.last = None

    def update(self, name: str, fraction: float, stage: str) -> None:
        if self.tty:
            filled = int(self.WIDTH * fraction)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            self.stream.write(f"\r[{bar}] {fraction * 100:3.0f}% {stage:<10} {name[:40]}")
            self.stream.flush()
        elif (name, stage) != self.last:
            self.stream.write(f"{name}: {stage} ({fraction * 100:.0f}%)\n")
            self.stream.flush()
        self.last = (name, stage)

    def clear(self) -> None:
        if self.tty:
            self.stream.write("\r" + " " * (self.WIDTH + 60) + "\r")
            self.stream.flush()
