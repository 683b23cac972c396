"""The NAS worker as a container: its Dockerfile and compose file, checked here without
containers (fast); tests/test_container_run.py builds and runs them with podman."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.diarization.yml"
DOCKERFILE = ROOT / "packaging" / "worker" / "Dockerfile"


def config(*options: str) -> dict:
    import yaml

    if shutil.which("podman") is None:
        pytest.skip("podman-compose needs podman to read a compose file: apt-get install podman "
                    "(scripts/debian-packages.sh does)")
    done = subprocess.run([str(Path(sys.executable).parent / "podman-compose"), *options, "-f", str(COMPOSE), "config"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def test_the_compose_file_passes_podman_compose_config_with_limits_and_restarts():
    found = config()
    redis, worker = found["services"]["redis"], found["services"]["worker"]
    assert "noeviction" in " ".join(redis["command"]) and "--appendonly yes" in " ".join(redis["command"])
    assert redis["mem_limit"] and redis["restart"] == "unless-stopped" and worker["restart"] == "unless-stopped"
    assert float(worker["cpus"]) < 2 * 0.8  # under 80% of the NAS's two cores
    assert worker["environment"]["REDIS_PASSWORD_FILE"] == "/run/secrets/redis_password"
    assert "worker-mac" not in found["services"]
    assert config("--profile", "mac")["services"]["worker-mac"]["profiles"] == ["mac"]
    assert "# worker-2:" in COMPOSE.read_text()  # the scale example


def test_no_password_is_written_in_the_image_or_the_compose_file():
    dockerfile = DOCKERFILE.read_text()
    assert not re.search(r"(?im)^\s*(ENV|ARG)\s+.*PASSWORD", dockerfile)
    assert not re.search(r"(?i)requirepass\s+[\"']?[A-Za-z0-9]", COMPOSE.read_text())  # only from the secret file
    assert "redis-password.txt" in (ROOT / ".gitignore").read_text()


def test_the_worker_image_has_the_apps_requirements_without_the_window():
    def pins(path: Path) -> list[str]:
        return [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]

    app = pins(ROOT / "requirements.txt")
    worker = pins(ROOT / "packaging" / "worker" / "requirements-worker.txt")
    assert worker == [line for line in app if not re.match(r"(?i)(pyside6|shiboken6)", line)]
    assert not any(re.match(r"(?i)(pyinstaller|pytest|pyside6)", line) for line in worker)
    assert "USER worker" in DOCKERFILE.read_text() and "HEALTHCHECK" in DOCKERFILE.read_text()
