"""Stereo calls heard a channel at a time, on constructed calls of real speech
(evaluation/stereo.py: FLEURS readers a party a channel, talked over, with leakage), and
the negatives that must be mixed. Needs ../shared/audio."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from app.core import pipeline
from app.core.audio_in import channels
from app.core.audio_in import decode as audio
from evaluation import devset, recordings, stereo


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stereo")
    try:
        names = stereo.build(stereo.NAMES, folder)
    except recordings.Missing as exc:
        pytest.skip(str(exc))
    return {name: devset.load(folder, name) for name in names}


@pytest.mark.parametrize("name", stereo.NEGATIVES)
def test_recordings_whose_channels_carry_the_same_voices_are_mixed(built, name):
    decoded = audio.decode(built[name]["wav"], keep_channels=True)
    assert channels.decide(list(decoded.channels)).heard == "mixed"


@pytest.mark.parametrize("name", list(stereo.CALLS))
def test_every_constructed_stereo_call_is_split(built, name):
    decoded = audio.decode(built[name]["wav"], keep_channels=True)
    assert channels.decide(list(decoded.channels)).heard == "split"


# DER at collar 0.25 each may reach (bench/bench_stereo.py's target is 0.03): stereo-call-1 loses
# the quiet party's last 1.3 s (a citation, "Oravec, 2002", whisper does not hear with
# confidence) and, on some CPUs, the loud party's first words after a pause
MOST_DER = {"stereo-call-1": 0.1, "stereo-call-2": 0.04}


@pytest.mark.models
@pytest.mark.parametrize("name", list(MOST_DER))
def test_a_call_heard_a_side_at_a_time_puts_no_word_on_the_wrong_party(built, settings, resources, name):
    item = built[name]
    transcript = pipeline.run(item["wav"], settings, resources=resources)
    assert transcript.channels["heard"] == "split"
    assert sorted(s.channel for s in transcript.speakers) == [0, 1]
    row = stereo.score(item, transcript)
    print(name, row)
    assert row["wrong"] == 0
    assert row["der"] <= MOST_DER[name]
    assert row["overlap_reach"] >= 0.5  # each party's words are there while the other talks over them
    mixed = pipeline.run(item["wav"], replace(settings, channels="mix"), resources=resources)
    assert mixed.channels["heard"] == "mixed"
    assert row["der"] < stereo.score(item, mixed)["der"]


@pytest.mark.models
def test_a_speakerphone_side_keeps_its_two_people(built, settings, resources):
    transcript = pipeline.run(built["stereo-call-3"]["wav"], settings, resources=resources)
    by_channel = {}
    for speaker in transcript.speakers:
        by_channel.setdefault(speaker.channel, []).append(speaker.id)
    assert sorted(len(v) for v in by_channel.values()) == [1, 2]
    assert stereo.score(built["stereo-call-3"], transcript)["wrong"] == 0


@pytest.mark.models
def test_a_split_job_killed_half_way_resumes_each_channel_where_it_stopped(built, settings, resources):
    chunks, parts, diarization, voices = {}, {}, [], {}
    hooks = pipeline.Hooks(on_chunk=lambda c, r: chunks.__setitem__(c.index, [c.to_dict(), r]),
                           on_part=parts.__setitem__, on_diarization=diarization.append, on_voices=voices.update)
    whole = pipeline.run(built["stereo-call-2"]["wav"], settings, hooks, resources)
    assert sorted(voices) == sorted(s.id for s in whole.speakers)  # known voices work as for one channel
    assert {i // 1_000_000 for i in chunks} == {1, 2} and set(diarization[-1]["channels"]) == {"0", "1"}
    redone = []
    again = pipeline.run(built["stereo-call-2"]["wav"], settings,
                         pipeline.Hooks(done_chunks=chunks, parts=parts, diarization=diarization[-1],
                                        on_chunk=lambda c, r: redone.append(c.index)), resources)
    assert redone == []
    assert again.segments == whole.segments and again.speakers == whole.speakers


@pytest.mark.models
def test_the_command_line_says_how_it_heard_the_file_and_takes_the_choice(built, tmp_path):
    from tests.test_cli import cli

    wav = built["stereo-call-2"]["wav"]
    split = cli("transcribe", wav, "--format", "json", data_dir=tmp_path / "data")
    assert split.returncode == 0, split.stderr
    assert json.loads(split.stdout)["channels"]["heard"] == "split"
    mixed = cli("transcribe", wav, "--format", "json", "--channels", "mix", data_dir=tmp_path / "data")
    assert mixed.returncode == 0, mixed.stderr
    assert "already transcribed" not in mixed.stderr  # the mode is part of what was stored
    assert json.loads(mixed.stdout)["channels"]["heard"] == "mixed"
    assert {s["channel"] for s in json.loads(mixed.stdout)["speakers"]} == {None}
