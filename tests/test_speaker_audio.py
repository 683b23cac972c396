"""Each speaker's audio: their turns from the original file, sample for sample, joined half a
second apart or over the recording's whole length; corrections decide whose a word is."""

from __future__ import annotations

import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.core.audio_in import excerpts
from app.core.common.errors import UserError
from app.core.document import edits
from app.core.document.transcript import Speaker
from app.core.engine import Engine
from app.core.store import Store
from tests.builders import finished_job, said, transcript

RATE = 44100


def recording(path: Path, seconds: float = 6.0, rate: int = RATE) -> np.ndarray:
    """A 16-bit stereo WAV whose two channels differ everywhere (noise on the left, a ramp
    on the right, never silent); its samples, (n, 2)."""
    n = int(seconds * rate)
    left = np.random.default_rng(7).integers(-20000, 20000, n)
    right = (np.arange(n) % 30000) - 15000 + 1
    right[right == 0] = 1
    left[left == 0] = 1
    samples = np.stack([left, right], axis=1).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.tobytes())
    return samples


def read(path: Path) -> tuple[np.ndarray, int, str]:
    """(samples (n, channels), rate, sample format) of an audio file, as decoded."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        pieces = [f.to_ndarray().reshape(-1, f.layout.nb_channels) if not f.format.is_planar else f.to_ndarray().T
                  for f in container.decode(stream)]
        return np.concatenate(pieces), stream.codec_context.sample_rate, stream.codec_context.format.name


def conversation(path: str = "/a.wav"):
    return transcript(said("SPEAKER_00", (0.50, 0.90, "Buenos"), (0.95, 1.40, "días,"), (1.50, 2.00, "doctora.")),
                      said("SPEAKER_01", (2.30, 2.70, "Hola,"), (2.80, 3.20, "pase"), (3.30, 3.90, "usted.")),
                      said("SPEAKER_00", (4.20, 4.80, "Gracias.")),
                      said("SPEAKER_01", (5.00, 5.55, "Nada.")), path=path, duration=6.0)


def at(t: float, rate: int = RATE) -> int:
    return round(t * rate)


def joined(original: np.ndarray, spans, gap: float = excerpts.GAP_SEC, rate: int = RATE) -> np.ndarray:
    silence = np.zeros((at(gap, rate), original.shape[1]), dtype=original.dtype)
    pieces = []
    for n, (start, end) in enumerate(spans):
        pieces += ([silence] if n else []) + [original[at(start, rate) : at(end, rate)]]
    return np.concatenate(pieces)


def whole(original: np.ndarray, spans, rate: int = RATE) -> np.ndarray:
    out = np.zeros_like(original)
    for start, end in spans:
        out[at(start, rate) : at(end, rate)] = original[at(start, rate) : at(end, rate)]
    return out


def test_a_speakers_turns_joined_are_the_original_samples_with_silence_between(tmp_path):
    original = recording(tmp_path / "call.wav")
    spans = excerpts.spans_of(conversation(), "SPEAKER_00")
    assert spans == [(0.50, 2.00), (4.20, 4.80)]  # a turn from its first word to its last
    done = excerpts.write(tmp_path / "call.wav", spans, tmp_path / "ana.wav")
    samples, rate, fmt = read(tmp_path / "ana.wav")
    assert (rate, samples.shape[1], fmt) == (RATE, 2, "s16")  # its rate, channels and sample format
    turns = (at(2.00) - at(0.50)) + (at(4.80) - at(4.20))
    assert len(samples) == turns + at(excerpts.GAP_SEC)  # to the sample
    first = at(2.00) - at(0.50)
    assert np.array_equal(samples[:first], original[at(0.50) : at(2.00)])  # sample by sample, both channels
    assert not samples[first : first + at(0.5)].any()  # digital silence between
    assert np.array_equal(samples[first + at(0.5) :], original[at(4.20) : at(4.80)])
    assert (done.spans, done.rate, done.channels) == (2, RATE, 2) and done.seconds == len(samples) / RATE


def test_the_whole_length_keeps_every_sample_of_the_turns_in_place_and_silences_the_rest(tmp_path):
    original = recording(tmp_path / "call.wav")
    spans = excerpts.spans_of(conversation(), "SPEAKER_01")
    excerpts.write(tmp_path / "call.wav", spans, tmp_path / "pablo.wav", mode="whole")
    samples, rate, _ = read(tmp_path / "pablo.wav")
    assert rate == RATE and samples.shape == original.shape
    assert np.array_equal(samples, whole(original, spans))
    assert samples[at(2.30) : at(3.90)].all() and not samples[: at(2.30)].any()


def test_flac_holds_the_same_samples_as_the_wav(tmp_path):
    original = recording(tmp_path / "call.wav")
    spans = excerpts.spans_of(conversation(), "SPEAKER_00")
    for mode, expected in (("joined", joined(original, spans)), ("whole", whole(original, spans))):
        excerpts.write(tmp_path / "call.wav", spans, tmp_path / f"{mode}.FLAC", mode=mode)
        samples, rate, fmt = read(tmp_path / f"{mode}.FLAC")
        assert (rate, fmt) == (RATE, "s16") and np.array_equal(samples, expected)


def test_a_selection_and_turns_that_overlap_or_touch_are_one_stretch(tmp_path):
    t = conversation()
    assert excerpts.spans_of(t, segments=[1, 0]) == [(0.50, 2.00), (2.30, 3.90)]
    # a call heard a channel at a time: one speaker's two turns overlap the other's
    overlapping = transcript(said("SPEAKER_00", (0.0, 3.0, "uno")), said("SPEAKER_01", (1.0, 1.5, "sí")),
                             said("SPEAKER_00", (2.5, 4.0, "dos")), said("SPEAKER_01", (4.0, 4.5, "no")),
                             said("SPEAKER_00", (4.5, 5.0, "tres")))
    assert excerpts.spans_of(overlapping, "SPEAKER_00") == [(0.0, 4.0), (4.5, 5.0)]
    original = recording(tmp_path / "call.wav")
    excerpts.write(tmp_path / "call.wav", excerpts.spans_of(overlapping, "SPEAKER_01"), tmp_path / "b.wav")
    samples, _, _ = read(tmp_path / "b.wav")
    # the cross-talk at 1.0-1.5 s is kept: it is the original's mix
    assert np.array_equal(samples[: at(1.5) - at(1.0)], original[at(1.0) : at(1.5)])


def test_what_cannot_be_saved_says_why_and_leaves_nothing(tmp_path):
    recording(tmp_path / "call.wav")
    spans = [(0.5, 1.0)]
    with pytest.raises(UserError, match=r"\.wav or \.flac"):
        excerpts.write(tmp_path / "call.wav", spans, tmp_path / "a.mp3")
    with pytest.raises(UserError, match="the recording itself"):
        excerpts.write(tmp_path / "call.wav", spans, tmp_path / "." / "call.wav")
    empty = conversation()
    empty = replace(empty, speakers=empty.speakers + (Speaker("SPEAKER_02", "Marta", 0.0),))
    with pytest.raises(UserError, match=r"Marta \(SPEAKER_02\) says nothing in this transcript"):
        excerpts.spans_of(empty, "SPEAKER_02")
    from app.core.common.errors import Cancelled

    with pytest.raises(Cancelled):
        excerpts.write(tmp_path / "call.wav", spans, tmp_path / "a.wav", cancel=lambda: True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["call.wav"]


@pytest.fixture
def finished(tmp_path):
    """An engine over a history holding the conversation, finished, for call.wav."""
    from app.core.audio_in.decode import file_sha256

    original = recording(tmp_path / "call.wav")
    store = Store(tmp_path / "history.db")
    job = finished_job(store, conversation(str(tmp_path / "call.wav")), sha256=file_sha256(tmp_path / "call.wav"))
    engine = Engine(store)
    yield engine, job, original
    engine.close()


def test_a_word_moved_to_another_speaker_in_the_editor_moves_its_audio(finished, tmp_path):
    engine, job, original = finished
    engine.excerpts.save(job.id, tmp_path / "before.wav", speaker="SPEAKER_00", mode="whole")
    before, _, _ = read(tmp_path / "before.wav")
    pase = slice(at(2.80), at(3.20))
    assert not before[pase].any()
    # "pase" said by Speaker 1, corrected in the editor and saved
    engine.edits.save(job.id, edits.move_words(engine.result(job.id), 1, 1, 1, "SPEAKER_00"))
    engine.excerpts.save(job.id, tmp_path / "ana.wav", speaker="SPEAKER_00", mode="whole")
    engine.excerpts.save(job.id, tmp_path / "pablo.wav", speaker="Speaker 2", mode="whole")  # by name
    ana, pablo = read(tmp_path / "ana.wav")[0], read(tmp_path / "pablo.wav")[0]
    assert np.array_equal(ana[pase], original[pase]) and not pablo[pase].any()
    assert np.array_equal(pablo[at(2.30) : at(2.70)], original[at(2.30) : at(2.70)])
    done = engine.excerpts.save(job.id, tmp_path / "ana-joined.wav", speaker="SPEAKER_00")
    spans = [(0.50, 2.00), (2.80, 3.20), (4.20, 4.80)]
    assert done.spans == 3 and np.array_equal(read(tmp_path / "ana-joined.wav")[0], joined(original, spans))
    engine.excerpts.save(job.id, tmp_path / "selection.flac", segments=[0, 2])  # the corrected segments
    assert np.array_equal(read(tmp_path / "selection.flac")[0], joined(original, [(0.50, 2.00), (2.80, 3.20)]))


def test_the_engine_says_why_it_cannot_save_a_speakers_audio(finished, tmp_path):
    engine, job, _ = finished
    with pytest.raises(UserError, match=r"no speaker SPEAKER_07 \(it has SPEAKER_00 \(Speaker 1\), SPEAKER_01"):
        engine.excerpts.save(job.id, tmp_path / "x.wav", speaker="SPEAKER_07")
    with pytest.raises(UserError, match=r"\.wav or \.flac"):
        engine.excerpts.save(job.id, tmp_path / "x.ogg", speaker="SPEAKER_00")
    with pytest.raises(UserError, match="the recording itself"):
        engine.excerpts.save(job.id, tmp_path / "call.wav", speaker="SPEAKER_00")
    (tmp_path / "call.wav").rename(tmp_path / "moved.wav")
    with pytest.raises(UserError, match=f"no longer at {tmp_path / 'call.wav'}"):
        engine.excerpts.save(job.id, tmp_path / "x.wav", speaker="SPEAKER_00")
    recording(tmp_path / "call.wav", seconds=5.0)  # another recording under its name
    with pytest.raises(UserError, match="has changed since it was transcribed"):
        engine.excerpts.save(job.id, tmp_path / "x.wav", speaker="SPEAKER_00")
    assert not (tmp_path / "x.wav").exists()


def test_show_speaker_audio_on_the_command_line(tmp_path, monkeypatch, capsys):
    from app import cli
    from app.core import settings as settings_mod
    from app.core.audio_in.decode import file_sha256

    monkeypatch.setenv(settings_mod.DATA_DIR_ENV, str(tmp_path / "data"))
    original = recording(tmp_path / "call.wav")
    store = Store(settings_mod.load().history_file)
    job = finished_job(store, conversation(str(tmp_path / "call.wav")), sha256=file_sha256(tmp_path / "call.wav"))
    store.close()
    out = tmp_path / "out" / "pablo.flac"
    assert cli.main(["show", str(job.id), "--speaker-audio", "SPEAKER_01", "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"{out}: 2.6 s, 2 turns of SPEAKER_01 joined (44,100 Hz, 2 channels)."
    spans = [(2.30, 3.90), (5.00, 5.55)]
    assert np.array_equal(read(out)[0], joined(original, spans))  # the turns as turns() gives them
    assert cli.main(["show", str(job.id), "--speaker-audio", "Speaker 1", "--whole", "-o", str(tmp_path / "a.wav")]) == 0
    assert "6.0 s, only 2 turns of Speaker 1 heard" in capsys.readouterr().out
    assert np.array_equal(read(tmp_path / "a.wav")[0], whole(original, [(0.50, 2.00), (4.20, 4.80)]))
    assert cli.main(["show", str(job.id), "--speaker-audio", "SPEAKER_01"]) == 2
    assert "-o FILE.wav" in capsys.readouterr().err
    assert cli.main(["show", str(job.id), "--speaker-audio", "Nadie", "-o", str(tmp_path / "n.wav")]) == 1
    assert "has no speaker Nadie" in capsys.readouterr().err


def test_the_window_saves_a_speakers_audio_and_the_selections(qtbot, tmp_path, window_over, monkeypatch):
    from PySide6.QtCore import QItemSelectionModel, QPoint
    from PySide6.QtGui import QTextCursor
    from PySide6.QtWidgets import QFileDialog, QMenu

    from app.core.audio_in.decode import file_sha256
    from app.ui.speaker_audio import CHOICES

    original = recording(tmp_path / "call.wav")
    store = Store(tmp_path / "history.db")
    finished_job(store, conversation(str(tmp_path / "call.wav")), sha256=file_sha256(tmp_path / "call.wav"))
    win = window_over(store)
    panel = win.panel
    qtbot.waitUntil(lambda: panel.speakers.rowCount() == 2, timeout=10_000)
    chosen = {}
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: chosen["answer"])

    def pick(label):
        """The next right-click menu chooses `label` instead of showing itself."""
        class Menu(QMenu):
            def exec(self, *args):
                next(a for a in self.actions() if a.text() == label).trigger()

        monkeypatch.setattr("app.ui.transcript_panel.QMenu", Menu)
        monkeypatch.setattr("app.ui.editing.QMenu", Menu)

    chosen["answer"] = (str(tmp_path / "pablo"), CHOICES[2][0])  # WAV, whole length (the suffix added)
    pick("Save Speaker's Audio…")
    panel._speaker_menu(panel.speakers.visualItemRect(panel.speakers.item(1, 0)).center())
    qtbot.waitUntil(lambda: (tmp_path / "pablo.wav").exists(), timeout=10_000)
    assert np.array_equal(read(tmp_path / "pablo.wav")[0], whole(original, [(2.30, 3.90), (5.00, 5.55)]))
    qtbot.waitUntil(lambda: "Saved pablo.wav" in win.statusBar().currentMessage(), timeout=10_000)

    chosen["answer"] = (str(tmp_path / "first.flac"), CHOICES[1][0])  # FLAC, joined
    pick("Save Audio of Selection…")
    win.editor.segment_menu(0, QPoint())  # the reading view, nothing selected: the paragraph clicked
    qtbot.waitUntil(lambda: (tmp_path / "first.flac").exists(), timeout=10_000)
    assert np.array_equal(read(tmp_path / "first.flac")[0], original[at(0.50) : at(2.00)])

    view = panel.reading  # paragraphs selected in the reading view: all of them, in time order
    qtbot.waitUntil(lambda: view.position_of_segment(3) is not None, timeout=10_000)
    cursor = view.textCursor()
    cursor.setPosition(view.position_of_segment(1) + 2)
    cursor.setPosition(view.position_of_segment(2) + 2, QTextCursor.KeepAnchor)
    view.setTextCursor(cursor)
    chosen["answer"] = (str(tmp_path / "two.wav"), CHOICES[0][0])
    win.editor.segment_menu(2, QPoint())
    qtbot.waitUntil(lambda: (tmp_path / "two.wav").exists(), timeout=10_000)
    assert np.array_equal(read(tmp_path / "two.wav")[0], joined(original, [(2.30, 3.90), (4.20, 4.80)]))
    panel.table_button.setChecked(True)  # rows selected in the table
    panel.segments.selectRow(0)
    panel.segments.selectionModel().select(panel.segments.model().index(3, 0),
                                           QItemSelectionModel.Select | QItemSelectionModel.Rows)
    chosen["answer"] = (str(tmp_path / "rows.wav"), CHOICES[0][0])
    win.editor.segment_menu(3, QPoint())
    qtbot.waitUntil(lambda: (tmp_path / "rows.wav").exists(), timeout=10_000)
    assert np.array_equal(read(tmp_path / "rows.wav")[0], joined(original, [(0.50, 2.00), (5.00, 5.55)]))

    chosen["answer"] = (str(tmp_path / "call.wav"), CHOICES[0][0])
    win.editor.segment_menu(1, QPoint())
    qtbot.waitUntil(lambda: "the recording itself" in win.banner.text(), timeout=10_000)
