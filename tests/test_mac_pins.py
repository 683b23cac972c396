"""The pins resolve for the Mac the app ships for (macOS 14, arm64, Python 3.11) from
binary wheels alone, and every package a Mac install would take is pinned. `pip download
--platform` cannot check this (it does not evaluate markers for the target); uv can."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UV = shutil.which("uv") or str(Path(sys.executable).parent / "uv")


def _pins(path: Path, darwin: bool) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("-r "):
            found.update(_pins(path.parent / line[3:].strip(), darwin))
            continue
        if not line or line.startswith("#") or "==" not in line:
            continue
        spec, _, marker = line.partition(";")
        if "sys_platform" in marker and ('"darwin"' in marker) != darwin:
            continue
        name, version = spec.strip().split("==")
        found[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return found


@pytest.mark.network
@pytest.mark.parametrize("requirements", ["requirements.txt", "requirements-build.txt"])
def test_the_pins_resolve_for_macos_14_arm64_from_wheels_and_all_are_pinned(tmp_path, requirements):
    if not Path(UV).exists():
        pytest.skip("uv is not installed (requirements-dev.txt)")
    out = tmp_path / "mac.txt"
    done = subprocess.run(
        [UV, "pip", "compile", str(ROOT / requirements), "--python-platform", "aarch64-apple-darwin",
         "--python-version", "3.11", "--only-binary", ":all:", "--no-header", "-q", "-o", str(out)],
        env=dict(os.environ, MACOSX_DEPLOYMENT_TARGET="14.0"), capture_output=True, text=True, timeout=600)
    if done.returncode != 0 and re.search(r"(?i)failed to fetch|dns|connect|network|timed out", done.stderr):
        pytest.skip(f"the package index cannot be reached: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, f"a pin cannot be installed on a Mac:\n{done.stderr}"
    resolved = _pins(out, darwin=True)
    ours = _pins(ROOT / requirements, darwin=True)
    unpinned = {name: version for name, version in resolved.items() if name not in ours}
    assert not unpinned, f"a Mac install would resolve these afresh; pin them (darwin marker): {unpinned}"
