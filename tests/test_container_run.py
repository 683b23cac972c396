"""The NAS stack for real, with podman: the worker image built from a clean tree (its base,
debian:bookworm-slim, made from Debian's packages with mmdebstrap, since Docker Hub cannot
be reached here), Redis and the worker started from docker-compose.diarization.yml, the
two-speaker sample sent from the command line with --redis, and the same transcript as a
local run; the worker not root, restarted after a kill mid-job, no password in the image.

Podman runs here with runc, cgroupfs and no default ulimits (tests/containers.conf) and the
host's network (crun and the default network refuse in these machines' sandbox)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent
BASE = "docker.io/library/debian:bookworm-slim"
REDIS_IMAGE = "localhost/diarization-redis:test"
pytestmark = pytest.mark.containers


def podman(*args, check=True, timeout=1800, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, env=_env(), **kw)
    if check and done.returncode:
        raise AssertionError(f"podman {' '.join(args[:3])}: {done.stderr[-2000:]}")
    return done


def _env() -> dict:
    return dict(os.environ, CONTAINERS_CONF=str(ROOT / "tests" / "containers.conf"))


@pytest.fixture(scope="module")
def images():
    for tool in ("podman", "mmdebstrap"):
        if shutil.which(tool) is None:
            pytest.skip(f"THE CONTAINER TESTS DID NOT RUN: {tool} is missing (apt-get install podman mmdebstrap; "
                        "scripts/debian-packages.sh installs them when run as root)")
    if os.geteuid() != 0:
        pytest.skip("THE CONTAINER TESTS DID NOT RUN: they build images as root (mmdebstrap, podman import)")
    if podman("image", "exists", BASE, check=False).returncode:
        rootfs = ROOT / "build" / "bookworm.tar"
        rootfs.parent.mkdir(exist_ok=True)
        subprocess.run(["mmdebstrap", "--variant=minbase", "--include=ca-certificates", "bookworm", str(rootfs)],
                       check=True, capture_output=True, timeout=1200)
        podman("import", str(rootfs), BASE)
        rootfs.unlink()
    if podman("image", "exists", REDIS_IMAGE, check=False).returncode:
        recipe = ROOT / "build" / "redis.Containerfile"
        recipe.write_text(f"FROM {BASE}\nRUN apt-get update && apt-get install -y --no-install-recommends "
                          "redis-server && rm -rf /var/lib/apt/lists/*\n")
        podman("build", "--network", "host", "-f", str(recipe), "-t", REDIS_IMAGE, str(recipe.parent))
    worker = f"localhost/diarization-worker:{_inputs_hash()}"  # built once while its inputs are unchanged
    if podman("image", "exists", worker, check=False).returncode:
        wheelhouse = ROOT / "build" / "wheelhouse"
        subprocess.run([sys.executable, str(ROOT / "packaging/worker/wheelhouse.py"), str(wheelhouse)], check=True,
                       capture_output=True, timeout=1800)
        clean = ROOT / "build" / "clean-tree"  # what a clean clone holds, and the wheelhouse
        shutil.rmtree(clean, ignore_errors=True)
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clean)], check=True)
        shutil.copytree(wheelhouse, clean / "build" / "wheelhouse")
        started = time.monotonic()
        podman("build", "--network", "host", "-f", "packaging/worker/Dockerfile", "-t", worker, ".", cwd=clean)
        print(f"built {worker} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return worker


def _inputs_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted([*ROOT.joinpath("app").rglob("*.py"), *ROOT.joinpath("app").rglob("*.sql"),
                        *ROOT.joinpath("app").rglob("*.json"), *ROOT.joinpath("packaging/worker").iterdir()]):
        if path.is_file():
            digest.update(str(path.relative_to(ROOT)).encode() + path.read_bytes())
    return digest.hexdigest()[:12]


class Stack:
    """docker-compose.diarization.yml up with podman-compose, on the host's network."""

    def __init__(self, tmp_path: Path, worker_image: str):
        self.port = free_port()
        self.password = "correct-horse-" + os.urandom(6).hex()
        secret = tmp_path / "redis-password.txt"
        secret.write_text(self.password + "\n")
        secret.chmod(0o644)  # read by the containers' own users
        self.override = tmp_path / "host-network.yml"
        self.override.write_text("services:\n  redis:\n    network_mode: host\n    ports: []\n"
                                 "  worker:\n    network_mode: host\n")
        self.project = f"ds{self.port}"
        self.env = dict(_env(), REDIS_PORT=str(self.port), REDIS_PASSWORD_FILE=str(secret), REDIS_IMAGE=REDIS_IMAGE,
                        WORKER_IMAGE=worker_image, REDIS_ADDRESS="127.0.0.1")

    def compose(self, *args, check=True) -> subprocess.CompletedProcess:
        command = [str(Path(sys.executable).parent / "podman-compose"), "-p", self.project,
                   "-f", str(ROOT / "docker-compose.diarization.yml"), "-f", str(self.override), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=self.env, cwd=ROOT)
        if check and done.returncode:
            raise AssertionError(f"podman-compose {' '.join(args)}: {done.stdout[-1500:]} {done.stderr[-1500:]}")
        return done

    def up(self) -> None:
        """Started, and its Redis answering with the password."""
        self.compose("up", "-d")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ping = subprocess.run([sys.executable, "-c", "import redis,sys; print(redis.Redis.from_url(sys.argv[1], "
                                   "password=sys.argv[2]).ping())", self.url, self.password],
                                  capture_output=True, text=True)
            if ping.stdout.strip() == "True":
                return
            time.sleep(2)
        raise AssertionError(f"Redis did not answer: {ping.stderr[-500:]} {self.compose('logs', check=False).stdout[-1500:]}")

    def container(self, service: str) -> str:
        return f"{self.project}_{service}_1"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"


def cli(data: Path, *args, password: str = "", timeout=900) -> subprocess.CompletedProcess:
    env = dict(os.environ, DIARIZATION_STUDIO_DATA_DIR=str(data), HF_HUB_OFFLINE="1", REDIS_PASSWORD=password)
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def said(result: dict) -> list[tuple[str, str]]:
    return [(s["speaker"], s["text"]) for s in result["segments"]]


@pytest.mark.models
def test_the_nas_stack_gives_the_local_transcript_survives_a_kill_and_keeps_no_password(images, tmp_path, sample):
    stack = Stack(tmp_path, images)
    local = cli(tmp_path / "local", "transcribe", sample.wav, "--format", "json")
    assert local.returncode == 0, local.stderr
    try:
        stack.up()
        uid = podman("exec", stack.container("worker"), "id", "-u").stdout.strip()
        assert uid != "0"
        remote = cli(tmp_path / "d1", "transcribe", sample.wav, "--format", "json", "--redis", stack.url,
                     password=stack.password)
        assert remote.returncode == 0, remote.stderr
        assert "runs on this computer" not in remote.stderr  # the worker container did it
        assert said(json.loads(remote.stdout)) == said(json.loads(local.stdout))

        # killed mid-job: the container is started again and the job finishes
        from app.core.audio_in import decode
        from tests import media

        copy = media.write_wav(tmp_path / "again.wav", __import__("numpy").tile(decode.decode(sample.wav).samples, 4))
        policy = podman("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", stack.container("worker")).stdout
        assert policy.strip() == "unless-stopped"
        sender = subprocess.Popen([sys.executable, "-m", "app", "transcribe", str(copy), "--format", "json",
                                   "--redis", stack.url], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE,
                                  env=dict(os.environ, DIARIZATION_STUDIO_DATA_DIR=str(tmp_path / "d2"),
                                           HF_HUB_OFFLINE="1", REDIS_PASSWORD=stack.password))
        seen = []
        for line in sender.stderr:  # killed once the worker is transcribing it
            seen.append(line)
            if "transcribe (" in line:
                break
        before = podman("inspect", "-f", "{{.State.StartedAt}}", stack.container("worker")).stdout.strip()
        pid = podman("inspect", "-f", "{{.State.Pid}}", stack.container("worker")).stdout.strip()
        os.kill(int(pid), 9)
        out, err = sender.communicate(timeout=900)
        err = "".join(seen) + err
        assert sender.returncode == 0, err
        assert "runs on this computer" not in err
        after = podman("inspect", "-f", "{{.State.StartedAt}} {{.State.Running}}", stack.container("worker")).stdout
        assert after.split()[-1] == "true" and after.rsplit(" ", 1)[0].strip() != before  # started again

        again = cli(tmp_path / "local", "transcribe", copy, "--format", "json")
        assert said(json.loads(out)) == said(json.loads(again.stdout))  # resumed, the same as in one go

        for what in (podman("history", "--no-trunc", images).stdout, podman("inspect", images).stdout,
                     podman("inspect", stack.container("worker")).stdout):
            assert stack.password not in what
    finally:
        logs = stack.compose("logs", check=False).stdout[-3000:]
        stack.compose("down", "-v", check=False)
        print(logs, file=sys.stderr)


@pytest.mark.models
@pytest.mark.long
def test_ten_jobs_from_two_desktops_all_complete_in_order_within_the_limits(images, tmp_path, sample):
    """The seed's load test: two command lines send five recordings each at once; every one
    completes, each desktop's in its order, one at a time on the one worker. The worker's CPU
    (podman stats) and the host's load are printed against the compose file's limits."""
    stack = Stack(tmp_path, images)
    copies = {}
    for desk in (1, 2):
        folder = tmp_path / f"desk{desk}"
        folder.mkdir()
        copies[desk] = []
        for n in range(5):  # other bytes, the same speech: five jobs, none from a cache
            path = folder / f"r{n}.wav"
            path.write_bytes(sample.wav.read_bytes() + bytes([desk, n]) * 32)
            copies[desk].append(path)
    try:
        stack.up()
        started = time.monotonic()
        senders = [subprocess.Popen([sys.executable, "-m", "app", "transcribe", *map(str, copies[desk]), "--format",
                                     "txt", "-o", str(tmp_path / f"out{desk}"), "--redis", stack.url],
                                    cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=dict(os.environ, DIARIZATION_STUDIO_DATA_DIR=str(tmp_path / f"d{desk}"),
                                             HF_HUB_OFFLINE="1", REDIS_PASSWORD=stack.password))
                   for desk in (1, 2)]
        cpu, load = [], []
        while any(s.poll() is None for s in senders) and time.monotonic() - started < 1500:
            stats = podman("stats", "--no-stream", "--format", "{{.CPUPerc}}", stack.container("worker"), check=False)
            if stats.returncode == 0 and stats.stdout.strip().endswith("%"):
                cpu.append(float(stats.stdout.strip().rstrip("%")))
            load.append(float(Path("/proc/loadavg").read_text().split()[0]))
            time.sleep(5)
        outs = [s.communicate(timeout=60) for s in senders]
        assert [s.returncode for s in senders] == [0, 0], [err for _, err in outs]
        assert not any("runs on this computer" in err for _, err in outs), [err for _, err in outs]
        for desk in (1, 2):
            assert sorted(p.name for p in (tmp_path / f"out{desk}").iterdir()) == [f"r{n}.txt" for n in range(5)]
            order = [line.split(" -> ")[0] for line in outs[desk - 1][1].splitlines() if " -> " in line]
            assert order == [f"r{n}.wav" for n in range(5)], outs[desk - 1][1]
        state = podman("inspect", "-f", "{{.State.OOMKilled}} {{.RestartCount}}", stack.container("worker")).stdout
        assert state.split()[0] == "false"  # never killed for memory
        print(f"ten jobs in {time.monotonic() - started:.0f} s; worker CPU mean {sum(cpu) / max(len(cpu), 1):.0f}% "
              f"max {max(cpu, default=0):.0f}% (limit 150%: cpus 1.5); host load mean {sum(load) / len(load):.2f} "
              f"max {max(load):.2f} on {os.cpu_count()} cores", file=sys.stderr)
    finally:
        stack.compose("down", "-v", check=False)
