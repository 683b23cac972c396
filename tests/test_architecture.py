"""The house's rules, checked on the source: one door into the core, the engine made of
parts, small modules with names that say one thing (see docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
CORE = APP / "core"
# What a front end may import from the core: the door, and plain values and helpers that
# neither touch the history nor run a stage of the pipeline.
DOOR = {"engine", "engine_search", "settings", "common.errors", "common.files", "common.devices", "jobs.status",
        "document.transcript", "document.exports", "document.text", "document.edits", "document.turns",
        "document.review", "document.documents", "document.notes_doc", "whisper.models",
        "whisper.languages", "audio_in.media", "llm.hosts"}
# names that give a front end the history or a worker without the engine
REACH_INS = {"store", "_store", "_jobs", "Store"}


def front_ends() -> list[Path]:
    """Every module of the app outside the core: the window, the command line, the API, the self-test."""
    return sorted(p for p in APP.rglob("*.py") if CORE not in p.parents)


def _core_modules(tree: ast.AST, path: Path) -> list[tuple[int, str]]:
    """(line, module under app.core) for each import of the core in `tree`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: from .x (only inside packages under app/)
                base = path.relative_to(ROOT).with_suffix("").parts[: -node.level]
                module = ".".join(base + ((module,) if module else ()))
            names = [f"{module}.{a.name}" if module == "app.core" or _is_module(f"{module}.{a.name}") else module
                     for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith("app.core."):
                found.append((node.lineno, name.removeprefix("app.core.")))
    return found


def _is_module(dotted: str) -> bool:
    """Whether `dotted` names a module or package of the app (not a name inside one)."""
    where = ROOT.joinpath(*dotted.split("."))
    return where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()


def violations(path: Path) -> list[str]:
    """What in this front end reaches past the engine."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for line, module in _core_modules(tree, path):
        if module not in DOOR:
            out.append(f"{path.name}:{line} imports app.core.{module}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in REACH_INS:
            out.append(f"{path.name}:{node.lineno} reaches .{node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and _names_engine(node.value):
            out.append(f"{path.name}:{node.lineno} reaches the engine's private .{node.attr}")
        elif (isinstance(node, ast.Attribute) and node.attr == "engine" and path.parent.name == "ui"
              and path.name != "engine_bridge.py"):
            out.append(f"{path.name}:{node.lineno} reaches the engine past the bridge")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("rq:"):
            out.append(f"{path.name}:{node.lineno} names a Redis key")
    return out


def _names_engine(node: ast.AST) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return "engine" in name.lower()


def test_front_ends_reach_the_core_only_through_the_engine():
    found = [v for path in front_ends() for v in violations(path)]
    assert found == []


def test_the_check_catches_a_front_end_that_reaches_past_the_engine(tmp_path):
    ui = tmp_path / "app" / "ui"
    ui.mkdir(parents=True)
    for line in ("from app.core.store import Store", "from app.core import pipeline", "x = window.engine.store.path",
                 "engine._jobs.kick()", "r.smembers('rq:workers:x')", "self.bridge.engine.jobs()",
                 "from ..core.queue import connect"):
        path = ui / "window.py"
        path.write_text(line + "\n")
        global ROOT
        saved, ROOT = ROOT, tmp_path
        try:
            assert violations(path), line
        finally:
            ROOT = saved
    (ui / "window.py").write_text("from app.core.engine import Engine\nself.bridge.add_paths(p, s)\n")
    assert violations(ui / "window.py") == []


def test_the_engine_is_composed_of_parts_not_mixins():
    from app.core.engine import Engine

    assert Engine.__bases__ == (object,)


def test_no_core_module_is_longer_than_400_lines():
    long = {str(p.relative_to(CORE)): n for p in CORE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}


def test_no_two_modules_share_a_name():
    seen: dict[str, list[str]] = {}
    for path in APP.rglob("*.py"):
        if path.name not in ("__init__.py", "__main__.py"):
            seen.setdefault(path.name, []).append(str(path.relative_to(APP)))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}


def test_the_packages_table_in_the_architecture_doc_matches_the_tree():
    import re

    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| [^|]+ \| [^|]+ \| `app/core/([\w/]*)` \| (.+) \|$", text, flags=re.M)
    documented = {(folder.strip("/") + "/" + name).lstrip("/") for folder, modules in rows
                  for name in re.findall(r"`(\w+)`", modules)}
    tree = {str(p.relative_to(CORE).with_suffix("")) for p in CORE.rglob("*.py") if p.name != "__init__.py"}
    assert rows and documented == tree
