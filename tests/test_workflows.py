"""The build workflows (.github/workflows): valid against GitHub's workflow schema (the
copy check-jsonschema carries, so offline), and each runs where and when it should. They
cannot run here (no macOS, no GitHub runner): docs/testing.md says so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def test_there_is_a_workflow_for_each_thing_shipped():
    assert [p.name for p in WORKFLOWS] == ["linux-bundle.yml", "mac-app.yml", "mac-speaker-checks.yml",
                                           "worker-image.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_each_workflow_validates_against_githubs_schema(path):
    checker = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_checker_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non: push\njobs:\n  build:\n    steps:\n      - run: true\n")  # no runs-on
    checker = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows", str(broken)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0


def test_the_mac_workflows_run_on_apple_silicon_and_the_builds_on_a_tag_and_by_hand():
    from ruamel.yaml import YAML

    loaded = {p.name: YAML(typ="safe").load(p.read_text()) for p in WORKFLOWS}
    for name, flow in loaded.items():
        triggers = flow[True] if True in flow else flow["on"]  # YAML 1.1 reads a bare `on` as true
        assert "workflow_dispatch" in triggers, name
        if name != "mac-speaker-checks.yml":
            assert triggers["push"]["tags"] == ["v*"], name
        assert flow["permissions"] == {"contents": "read"}, name
    for name in ("mac-app.yml", "mac-speaker-checks.yml"):
        assert all(job["runs-on"] == "macos-14" for job in loaded[name]["jobs"].values())
    assert "upload-artifact" in (ROOT / ".github/workflows/mac-app.yml").read_text()
    assert "*.dmg" in (ROOT / ".github/workflows/mac-app.yml").read_text()
