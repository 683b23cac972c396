"""Hostile and awkward input and output, built at test time: each gets a clear line for
that file and nothing else stops."""

from __future__ import annotations

import json
import os
import stat
import struct
import sys

import numpy as np
import pytest

from app.core.audio_in import decode as audio
from app.core.document import exports
from app.core.llm import hosts
from app.core.llm import roles
from app.core.common.errors import AudioError, UserError
from app.core.store import Store
from app.core.document.text import cue_text, one_line
from app.core.document.transcript import Transcript
from tests import media
from tests.builders import said, transcript

FORGED_ROLE = "X\n\n99\n00:00:00,000 --> 09:00:00,000\nFAKE"


def wav_header(rate: int, channels: int, data: bytes, fmt: int = 1, bits: int = 16) -> bytes:
    block = min(channels * bits // 8, 65535)
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, rate * block, block, bits)
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt_chunk
            + b"data" + struct.pack("<I", len(data)) + data)


def test_a_decompression_bomb_header_is_refused_before_decoding(tmp_path):
    bomb = tmp_path / "bomb.wav"
    bomb.write_bytes(wav_header(1, 1, b"\x01\x00" * 2000))  # "1 Hz": 4 KB would be 2,000 s at 16 kHz
    with pytest.raises(AudioError, match="sample rate of 1 Hz"):
        audio.decode(bomb)


@pytest.mark.parametrize("channels", [0, 65535])
def test_absurd_channel_counts_are_refused(tmp_path, channels):
    path = tmp_path / f"{channels}-channels.wav"
    path.write_bytes(wav_header(16000, channels, b"\x00\x00" * 64))
    with pytest.raises(AudioError) as info:
        audio.decode(path)
    assert str(path) in str(info.value)


def test_a_codec_no_decoder_reads_is_refused_as_such(tmp_path):
    path = tmp_path / "odd.wav"
    path.write_bytes(wav_header(16000, 1, b"\x00\x00" * 1600, fmt=0x7777))  # PyAV gives no codec context
    for check in (audio.probe, audio.decode):
        with pytest.raises(AudioError, match="no decoder here reads"):
            check(path)


def test_a_recording_past_the_length_limit_is_refused(tmp_path):
    path = media.write_wav(tmp_path / "long.wav", np.zeros(16000 * 5, dtype=np.float32))
    with pytest.raises(AudioError, match="longer than"):
        audio.decode(path, max_seconds=2.0)
    assert audio.decode(path, max_seconds=10.0).duration == pytest.approx(5.0)


def test_nan_and_infinite_samples_are_silenced_with_a_warning(tmp_path):
    samples = np.sin(np.arange(16000, dtype=np.float32) / 10) * 0.3
    samples[100:200] = np.nan
    samples[300] = np.inf
    samples[301] = -np.inf
    path = tmp_path / "float.wav"
    path.write_bytes(wav_header(16000, 1, samples.astype("<f4").tobytes(), fmt=3, bits=32))
    decoded = audio.decode(path)
    assert np.isfinite(decoded.samples).all()
    assert any("not numbers" in w for w in decoded.warnings)


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse names that are not UTF-8")
def test_a_name_that_is_not_utf8_is_stored_shown_and_decoded(tmp_path, speech):
    raw = os.fsencode(tmp_path) + b"/caf\xe9 grabaci\xf3n.wav"
    path = os.fsdecode(raw)
    media.write_wav(tmp_path / "x.wav", speech[:16000])
    os.rename(tmp_path / "x.wav", raw)
    store = Store(tmp_path / "h.db")
    job = store.add_job(path, "", "k", {}, status="failed")
    store.update(job.id, error=f"{path}: something went wrong")
    again = store.job(job.id)
    assert again.path == path and os.path.exists(again.path)
    assert again.name == "caf\ufffd grabaci\ufffdn.wav"
    assert "\ufffd" in again.error
    assert audio.decode(path).duration == pytest.approx(1.0, abs=0.01)


def test_names_and_roles_are_one_line_wherever_they_are_set(tmp_path):
    store = Store(tmp_path / "h.db")
    store.rename_speaker("k", "SPEAKER_00", "Dra.\u2028López\u202e\n\nNurse")
    store.save_suggestions("k", {"SPEAKER_01": FORGED_ROLE})
    assert store.speaker_names("k") == {"SPEAKER_00": "Dra. López Nurse"}
    assert "\n" not in store.suggestions("k")["SPEAKER_01"]
    assert len(one_line("x" * 500)) <= 60
    assert roles.validate(json.dumps({"speakers": [{"id": "SPEAKER_00", "role": "Doc\ntor"}]}), ["SPEAKER_00"]) == {
        "SPEAKER_00": "Doc tor"}


def transcript_with(name: str, text: str = "hola") -> Transcript:
    return transcript(said("SPEAKER_00", (1.0, 2.0, text)), path="/x/a.wav", names={"SPEAKER_00": name})


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_a_role_cannot_forge_a_subtitle_cue(fmt):
    out = exports.FORMATS[fmt](transcript_with(FORGED_ROLE, "a --> b\n\nc"))
    assert out.count("-->") == 1, out  # the cue's own timing; the forged one is plain text
    blocks = [b for b in out.strip().split("\n\n") if b.strip() and b.strip() != "WEBVTT"]
    assert len(blocks) == 1, out
    assert cue_text("a\u2029b -> c") == "a b → c"


def test_exports_can_leave_the_folder_out():
    t = transcript_with("Ana")
    assert json.loads(exports.render("json", t, with_folder=False))["source"]["path"] == "a.wav"
    assert json.loads(exports.render("json", t, with_folder=True))["source"]["path"] == "/x/a.wav"
    assert json.loads(exports.render("json", t))["source"]["path"] == "a.wav"  # private unless asked


def test_the_history_and_its_folder_are_private(tmp_path):
    folder = tmp_path / "data"
    Store(folder / "history.db")
    if os.name == "posix":
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for name in ("history.db", "history.db-wal"):
            if (folder / name).exists():
                assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_folder_is_named_as_such_not_as_damage(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(UserError) as info:
            Store(folder / "history.db")
        assert "damaged" not in str(info.value) and "write" in str(info.value)
    finally:
        folder.chmod(0o700)


def test_a_full_disk_and_a_busy_file_are_named_as_such(tmp_path):
    import sqlite3

    store = Store(tmp_path / "h.db")
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL
    assert "is full" in str(store._explain(full)) and "damaged" not in str(store._explain(full))
    readonly = sqlite3.OperationalError("attempt to write a readonly database")
    readonly.sqlite_errorcode = sqlite3.SQLITE_READONLY
    assert "read-only" in str(store._explain(readonly)) and "damaged" not in str(store._explain(readonly))
    io_error = sqlite3.OperationalError("disk I/O error")
    assert "read or write error" in str(store._explain(io_error))
    busy = sqlite3.OperationalError("database is locked")
    assert "in use" in str(store._explain(busy))
    bad = sqlite3.DatabaseError("file is not a database")
    assert "damaged" in str(store._explain(bad))


def test_ollama_hosts_off_this_computer_need_confirming():
    assert hosts.is_local("http://localhost:11434") and hosts.is_local("127.0.0.7:11434") and hosts.is_local("[::1]")
    assert not hosts.is_local("http://gpu-box.lan:11434")
    assert not hosts.trusted("http://gpu-box.lan:11434", "")
    assert hosts.trusted("http://gpu-box.lan:11434", "gpu-box.lan:11434")
    with pytest.raises(UserError, match="port"):
        hosts.parse("localhost:99999")
    with pytest.raises(UserError):
        hosts.parse("ftp://x")


def test_role_naming_with_a_bad_or_unconfirmed_host_says_so_and_never_hangs():
    t = transcript_with("Speaker 1")
    note = roles.suggest(t, roles.RoleOptions("localhost:99999", "m", timeout=2)).note
    assert "port" in note
    note = roles.suggest(t, roles.RoleOptions("http://203.0.113.9:11434", "m", timeout=2)).note
    assert "not on this computer" in note and "Confirm" in note


def test_outputs_never_overwrite_each_other_or_a_recording(tmp_path):
    from pathlib import Path

    from app.cli import _output_plan

    files = [Path("/d1/a.wav"), Path("/d2/a.wav"), Path("/d2/a.mp3"), Path("/d3/A.wav")]
    plan = _output_plan(tmp_path / "out", files, "json")
    names = [p.name for p in plan.values()]
    assert len({n.casefold() for n in names}) == 4 and names[0] == "a.json", names
    recording = tmp_path / "talk.wav"
    recording.write_bytes(b"x")
    with pytest.raises(UserError, match="one of the recordings"):
        _output_plan(recording, [recording], "json")


def test_long_names_export_atomically(tmp_path):
    from app.core.common.files import write_atomic

    target = tmp_path / ("á" * 123 + ".srt")  # 250 bytes: the old ".NAME.partial" was too long
    assert len(os.fsencode(target.name)) == 250
    write_atomic(target, "uno")
    write_atomic(target, "dos")
    assert target.read_text(encoding="utf-8") == "dos"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_file_name_with_line_breaks_stays_one_record(tmp_path):
    from dataclasses import replace

    t = transcript_with("Ana")
    t = replace(t, source=replace(t.source, path=str(tmp_path / "entrevista\n\nSPEAKER x 1 0 9 <NA>.wav")))
    lines = exports.to_rttm(t).strip().splitlines()
    assert len(lines) == 1 and lines[0].split()[1] == "entrevista_SPEAKER_x_1_0_9_<NA>"
    store = Store(tmp_path / "h.db")
    job = store.add_job(t.source.path, "", "k", {}, status="failed")
    assert store.job(job.id).path == t.source.path and "\n" in store.job(job.id).name
