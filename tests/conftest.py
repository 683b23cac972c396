from __future__ import annotations

import os
from pathlib import Path

import pytest

from evaluation import recordings

# Nothing here may download model weights.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# What a test may need (declared in pyproject.toml); any of them makes it `slow`.
NEEDS = ("models", "long", "redis", "bundle", "containers", "network")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if any(item.get_closest_marker(name) for name in NEEDS):
            item.add_marker(pytest.mark.slow)
        elif item.get_closest_marker("slow"):
            raise pytest.UsageError(f"{item.nodeid}: mark what it needs ({', '.join(NEEDS)}), not `slow`")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path_factory):
    """Every test gets its own settings: no developer preferences or env overrides leak in."""
    from app.core.settings import DATA_DIR_ENV, ENV_NAMES

    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path_factory.getbasetemp() / "data"))
    # The window's own settings (geometry and the like): never the developer's ~/.config.
    # QSettings("org", "app") uses the native format, which IniFormat's path does not move.
    from PySide6.QtCore import QSettings

    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
        QSettings.setPath(fmt, QSettings.UserScope, str(tmp_path_factory.getbasetemp() / "qsettings"))


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "data"


@pytest.fixture(scope="session")
def settings(data_dir):
    from app.core.settings import Settings

    return Settings(data_dir=data_dir)


@pytest.fixture(scope="session")
def resources():
    """Loaded models shared by the slow tests (each run is independent of the last)."""
    from app.core.pipeline import Resources

    return Resources()


@pytest.fixture(scope="session")
def sample():
    try:
        return recordings.pyannote_sample()
    except recordings.Missing as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def fleurs():
    try:
        return recordings.fleurs_clips()
    except recordings.Missing as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def speech(sample):
    """Five seconds of real speech, 16 kHz float."""
    from app.core.audio_in import decode as audio

    return audio.decode(sample.wav).samples[6 * 16000 : 11 * 16000]


@pytest.fixture
def window_over(qtbot, settings):
    """A real window over a history already holding finished jobs: `window_over(store, jobs,
    row)` shows it, waits for the `jobs` rows and selects `row`; closed at the end."""
    opened = []

    def open_window(store, jobs: int = 1, row: int = 0):
        from app.ui.engine_bridge import EngineBridge
        from app.ui.main_window import MainWindow

        bridge = EngineBridge(store)
        win = MainWindow(bridge, settings, "cpu (int8)")
        qtbot.addWidget(win)
        win.show()
        opened.append((win, bridge))
        qtbot.waitUntil(lambda: len(win.model.jobs) == jobs, timeout=10_000)
        win.table.selectRow(row)
        return win

    yield open_window
    for win, bridge in opened:
        win.close()
        bridge.close()


@pytest.fixture
def fake_ollama():
    """`fake_ollama(answer=None, mode="valid", delay=0.0)`: a real local HTTP server speaking
    Ollama's API (tests/ollama_server.py); every one made is closed at the end."""
    from tests.ollama_server import FakeOllama

    made = []

    def start(answer=None, mode="valid", delay=0.0):
        made.append(FakeOllama(mode, delay=delay, answer=answer))
        return made[-1]

    yield start
    for server in made:
        server.close()
