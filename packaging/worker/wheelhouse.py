"""Writes a wheelhouse of the worker's pinned requirements (requirements-worker.txt and the
CPU build of torch) into DIR, for an image built with no index (`--no-index`)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TORCH = "torch==2.13.0"  # the CPU build: the index below, or a local copy pip already finds
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def main(target: str) -> int:
    out = Path(target)
    out.mkdir(parents=True, exist_ok=True)
    # Debian 12's Python is 3.11.2: markers such as python_full_version < "3.11.3" hold there
    pip = [sys.executable, "-m", "pip", "download", "--only-binary", ":all:", "--python-version", "3.11.2",
           "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64", "--platform", "linux_x86_64",
           "--implementation", "cp", "-d", str(out)]
    local = [w for folder in os.environ.get("PIP_FIND_LINKS", "").split() if Path(folder).is_dir()
             for w in Path(folder).glob("torch-2.13.0+cpu-cp311-*x86_64.whl")]
    if local:  # a CPU build already on this machine (PyPI's own torch is the CUDA one, several GB)
        shutil.copy2(local[0], out / local[0].name)
    else:
        subprocess.run([*pip, "--index-url", CPU_INDEX, TORCH], check=True)
    subprocess.run([*pip, "-r", str(HERE / "requirements-worker.txt")], check=True)
    # pip judges python_full_version by the Python running it, not --python-version: such
    # pins are fetched whatever their marker says (the image's pip decides)
    by_full_version = [line.split(";")[0].strip() for line in (HERE / "requirements-worker.txt").read_text().splitlines()
                       if "python_full_version" in line and not line.startswith("#")]
    if by_full_version:
        subprocess.run([*pip, "--no-deps", *by_full_version], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/wheelhouse"))
