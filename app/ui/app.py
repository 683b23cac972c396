"""Starts the window. Heavy libraries load only when the first job starts (in the worker)."""

from __future__ import annotations

import sys


def run(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from app.core import settings as settings_mod
    from app.core.common.errors import UserError
    from app.ui.engine_bridge import EngineBridge
    from app.ui.main_window import MainWindow

    # Pool threads (hashing, folder scans) run Python beside the window's thread, which
    # calls into Python for every cell it paints: each of those calls may wait for the GIL
    # for a whole switch interval (5 ms by default). 1 ms keeps painting smooth.
    sys.setswitchinterval(0.001)
    app = QApplication.instance() or QApplication(sys.argv[:1] + list(argv or []))
    app.setApplicationName("Diarization Studio")
    app.setOrganizationName("Diarization Studio")
    app.setWindowIcon(_icon())
    from app.ui.file_open import FileOpener

    opener = FileOpener(app)  # the Dock icon and "Open With" (macOS)
    app.installEventFilter(opener)
    problem = ""
    try:
        settings = settings_mod.load()
    except UserError as exc:
        settings, problem = settings_mod.Settings(), f"{exc} The defaults are used until this is fixed."
    bridge = EngineBridge(settings=settings)
    problem = " ".join(p for p in (problem, bridge.problem, model_problem(settings)) if p)
    window = MainWindow(bridge, settings, "", problem)
    window.show()
    opener.attach(window)
    bridge.find_device(settings)
    bridge.started.connect(lambda owner: owner or window.statusBar().showMessage(
        "Another Diarization Studio process is running this history's jobs: jobs added here run "
        "after its own, there or here once it quits."))
    bridge.start()
    bridge.watch(settings.watched_folders)
    try:
        return app.exec()
    finally:
        bridge.close()  # also when the app quits without the window closing first


def _icon():
    """The app icon, from the bundle or the source checkout (the .app also has its .icns)."""
    from pathlib import Path

    from PySide6.QtGui import QIcon

    root = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[2]))
    return QIcon(str(root / "resources" / "icon.png"))


def model_problem(settings) -> str:
    from app.core.whisper import models
    from app.core.common.errors import ModelError

    if settings.model != models.EMBEDDED_SIZE or models.bundled_embedded():
        return ""
    try:
        models.embedded_parts()
    except ModelError as exc:
        return str(exc)
    return ""
