"""Draws the app icon (resources/icon.png, 1024 px): two speech bubbles, two voices.

Run once when the design changes; the PNG is committed, and build_mac.sh turns it into
an .icns. `python packaging/make_icon.py [OUT.png]`
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, QRectF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QGuiApplication, QImage, QLinearGradient, QPainter, QPainterPath  # noqa: E402

SIZE = 1024


def bubble(rect: QRectF, tail_left: bool) -> QPainterPath:
    path = QPainterPath()
    path.addRoundedRect(rect, 70, 70)
    tail = QPainterPath()
    x = rect.left() + 90 if tail_left else rect.right() - 130
    dx = -70 if tail_left else 40
    tail.moveTo(x - 45, rect.bottom() - 10)
    tail.lineTo(x + dx, rect.bottom() + 85)
    tail.lineTo(x + 55, rect.bottom() - 10)
    tail.closeSubpath()
    return path.united(tail)


def bars(painter: QPainter, rect: QRectF, heights: list[float], color: QColor) -> None:
    painter.setBrush(color)
    width = 34
    gap = (rect.width() - 2 * 70 - len(heights) * width) / (len(heights) - 1)
    for i, h in enumerate(heights):
        x = rect.left() + 70 + i * (width + gap)
        height = h * (rect.height() - 120)
        painter.drawRoundedRect(QRectF(x, rect.center().y() - height / 2, width, height), 17, 17)


def draw() -> QImage:
    image = QImage(SIZE, SIZE, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    body = QRectF(100, 100, 824, 824)  # macOS icon grid: 824 px body, 100 px margin
    shade = QLinearGradient(QPointF(0, body.top()), QPointF(0, body.bottom()))
    shade.setColorAt(0, QColor("#1f3a68"))
    shade.setColorAt(1, QColor("#0f1d36"))
    p.setBrush(shade)
    p.drawRoundedRect(body, 185, 185)
    first = QRectF(170, 215, 500, 300)
    second = QRectF(335, 540, 490, 260)
    p.setBrush(QColor("#f4f6fb"))
    p.drawPath(bubble(first, tail_left=True))
    p.setBrush(QColor("#f2a93b"))
    p.drawPath(bubble(second, tail_left=False))
    bars(p, first, [0.35, 0.7, 1.0, 0.55, 0.85, 0.4, 0.6], QColor("#1f3a68"))
    bars(p, second, [0.5, 0.9, 0.6, 1.0, 0.45, 0.75, 0.3], QColor("#5a3407"))
    p.end()
    return image


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "resources" / "icon.png"
    app = QGuiApplication([])
    draw().save(str(out))
    print(out)
