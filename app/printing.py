"""A transcript printed to PDF with Qt (no other dependency), for the window, the command
line and the API alike: the engine renders the HTML (documents.py) and calls `print_html`.

Printing runs in a process of its own, made for it: Qt wants its application object in a
main thread, which the API's worker threads are not, and a long transcript never holds the
window while it is laid out.
"""

from __future__ import annotations

import multiprocessing
import os
import threading

MARGIN_MM = 18
_alive: list = []
_lock = threading.Lock()  # one print at a time (the daemon flag above is the process's)


def print_html(html: str) -> bytes:
    """The PDF of `html` (A4)."""
    me = multiprocessing.current_process()
    with _lock:
        daemon = me.daemon
        # The window's API server is a daemon process, which multiprocessing forbids children;
        # this one is waited for right here and so never outlives it.
        me._config["daemon"] = False
        try:
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                return pool.apply(_print, (html,))
        finally:
            me._config["daemon"] = daemon


def _print(html: str) -> bytes:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # this process only prints: no window, no Dock icon
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF
    from PySide6.QtGui import QGuiApplication, QPageLayout, QPageSize, QPdfWriter, QTextDocument

    _alive.append(QGuiApplication.instance() or QGuiApplication([]))  # fonts need it, for as long as this process lives
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setTitle("Transcript")
    writer.setCreator("Diarization Studio")
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.A4), QPageLayout.Portrait,
                                     QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM), QPageLayout.Millimeter))
    document = QTextDocument()
    document.setHtml(html)
    document.print_(writer)
    del writer  # finishes the file
    buffer.close()
    return bytes(data)
