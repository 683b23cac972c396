"""The Qt adapter: a real job on QThreadPool, its events as signals in the GUI thread."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytestmark = pytest.mark.models


def test_a_job_runs_on_the_thread_pool_and_signals_arrive_in_the_gui_thread(qtbot, tmp_path, settings, sample):
    from PySide6.QtCore import QThread, QThreadPool

    from app.core.store import Store
    from app.ui.engine_bridge import EngineBridge

    pool = QThreadPool()
    bridge = EngineBridge(Store(tmp_path / "history.db"), pool)
    seen = []
    gui_thread = QThread.currentThread()
    bridge.jobProgress.connect(lambda job: seen.append((job.stage, QThread.currentThread() is gui_thread)))
    statuses = []
    bridge.jobStatus.connect(lambda job: statuses.append(str(job.status)))
    try:
        with qtbot.waitSignal(bridge.jobAdded, timeout=5000):
            job = bridge.engine.add(sample.wav, settings)
        qtbot.waitUntil(lambda: "completed" in statuses, timeout=300_000)
    finally:
        bridge.close()
        pool.waitForDone(10_000)
    assert statuses[0] == "in_progress" and statuses[-1] == "completed"
    assert seen and all(in_gui for _, in_gui in seen)
    assert {"transcribe", "done"} <= {stage for stage, _ in seen}
    assert bridge.engine.result(job.id).speakers
