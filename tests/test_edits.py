"""Corrections: merge, move (a segment or some words), split, edit text with timings kept;
kept apart from the machine's result, which stays; exports, show and search use them."""

from __future__ import annotations

import pytest

from app.core.document import edits
from app.core.common.errors import UserError
from app.core.store import Store
from app.core.document.transcript import Transcript
from tests.builders import finished_job, said, transcript


def sample() -> Transcript:
    return transcript(said("SPEAKER_00", (0.0, 0.5, "Buenos"), (0.5, 1.0, "días,"), (1.2, 1.6, "doctora.")),
                      said("SPEAKER_01", (2.0, 2.4, "Hola,"), (2.5, 3.0, "pase"), (3.1, 3.5, "usted.")),
                      said("SPEAKER_00", (4.0, 4.5, "Gracias.")), duration=20.0)


def test_merge_two_speakers():
    t = edits.merge_speakers(sample(), "SPEAKER_00", "SPEAKER_01")
    assert {s.speaker for s in t.segments} == {"SPEAKER_00"} and [s.id for s in t.speakers] == ["SPEAKER_00"]
    assert t.speakers[0].talk_time == pytest.approx(1.6 + 1.5 + 0.5)


def test_move_a_segment_or_some_words_to_another_or_a_new_speaker():
    t = edits.move_segment(sample(), 2, "SPEAKER_01")
    assert t.segments[2].speaker == "SPEAKER_01"
    t = edits.move_words(sample(), 1, 1, 2, None)  # "pase usted." to someone new
    assert [(s.speaker, s.text) for s in t.segments] == [
        ("SPEAKER_00", "Buenos días, doctora."), ("SPEAKER_01", "Hola,"), ("SPEAKER_02", "pase usted."),
        ("SPEAKER_00", "Gracias.")]
    assert t.speakers[-1].name == "Speaker 3" and t.segments[2].start == 2.5
    with pytest.raises(UserError):
        edits.move_words(sample(), 1, 2, 5, "SPEAKER_00")


def test_split_at_a_word():
    t = edits.split_segment(sample(), 0, 2)
    assert [s.text for s in t.segments[:2]] == ["Buenos días,", "doctora."] and t.segments[1].start == 1.2
    with pytest.raises(UserError):
        edits.split_segment(sample(), 0, 0)


def test_edited_text_keeps_the_timings_of_words_that_did_not_change():
    t = edits.edit_text(sample(), 1, "Hola, pasen ustedes ya.")
    words = t.segments[1].words
    assert [w.word.strip() for w in words] == ["Hola,", "pasen", "ustedes", "ya."]
    assert (words[0].start, words[0].end) == (2.0, 2.4)  # unchanged
    assert (words[1].start, words[-1].end) == (2.5, 3.5)  # the three share the span of the two they replace
    assert words[1].end == words[2].start
    t = edits.edit_text(sample(), 0, "Buenos días, querida doctora.")  # an inserted word fills the pause
    assert [(w.word.strip(), w.start, w.end) for w in t.segments[0].words][2] == ("querida", 1.0, 1.2)
    assert len(edits.edit_text(sample(), 2, "  ").segments) == 2  # all words removed: the segment goes


def test_edits_are_kept_apart_and_exports_show_and_search_use_them(tmp_path):
    from app.core.document.exports import render

    store = Store(tmp_path / "history.db")
    finished_job(store, sample())
    store.rename_speaker("k", "SPEAKER_00", "Paciente")
    shown = store.result("k")
    store.save_edit("k", edits.edit_text(shown, 2, "Muchas gracias."))
    assert store.machine_result("k") == sample()  # never overwritten
    assert store.result("k").segments[2].text == "Muchas gracias."
    assert store.result("k").speakers[0].name == "Paciente"  # the typed name still applies
    assert "Paciente: Muchas gracias." in render("srt", store.result("k"))
    assert [h.segment for h in store.search("muchas")] == [2]
    finished_job(store, sample())  # transcribed again (--no-cache): the corrections stay
    assert [h.segment for h in store.search("muchas")] == [2]
    assert [h.snippet for h in store.search("gracias")] == ["Muchas [gracias]."]  # indexed as corrected
    store.revert_edits("k")
    assert store.result("k").segments[2].text == "Gracias." and store.search("muchas") == []


def test_the_window_edits_undoes_redoes_reverts_and_exports_the_edited_transcript(qtbot, tmp_path, window_over):
    import numpy as np
    from PySide6.QtGui import QKeySequence

    from tests import media

    store = Store(tmp_path / "history.db")
    wav = media.write_wav(tmp_path / "a.wav", np.zeros(16000 * 6))
    finished_job(store, sample(), path=str(wav))
    win = window_over(store)
    panel, editor = win.panel, win.editor
    qtbot.waitUntil(lambda: panel.segments.rowCount() == 3, timeout=10_000)
    said_by = lambda row: panel.transcript.segments[row].speaker  # noqa: E731

    editor.edit("Move segment", lambda t: edits.move_segment(t, 2, "SPEAKER_01"))
    qtbot.waitUntil(lambda: said_by(2) == "SPEAKER_01", timeout=10_000)
    assert store.has_edits("k") and store.machine_result("k") == sample()
    assert win.undo_action.shortcut() == QKeySequence(QKeySequence.Undo)
    win.undo_action.trigger()
    qtbot.waitUntil(lambda: said_by(2) == "SPEAKER_00" and not store.has_edits("k"), timeout=10_000)
    win.redo_action.trigger()
    qtbot.waitUntil(lambda: said_by(2) == "SPEAKER_01", timeout=10_000)
    editor.edit("Edit text", lambda t: edits.edit_text(t, 0, "Buenos días, doctora García."))
    qtbot.waitUntil(lambda: panel.transcript.segments[0].text.endswith("García."), timeout=10_000)
    win.rename_speaker("SPEAKER_01", "Doctora")  # a rename is a step too
    qtbot.waitUntil(lambda: panel.speakers.item(1, 0).text() == "Doctora", timeout=10_000)
    win.export_to("srt", tmp_path / "out.srt")  # written on the pool
    qtbot.waitUntil((tmp_path / "out.srt").exists, timeout=10_000)
    srt = (tmp_path / "out.srt").read_text()
    assert "Buenos días, doctora García." in srt and "Doctora: Gracias." in srt
    win.undo_action.trigger()
    qtbot.waitUntil(lambda: panel.speakers.item(1, 0).text() == "Speaker 2", timeout=10_000)
    win.revert_action.trigger()
    qtbot.waitUntil(lambda: not store.has_edits("k") and said_by(2) == "SPEAKER_00", timeout=10_000)
    win.undo_action.trigger()  # the revert undone: the corrections are back
    qtbot.waitUntil(lambda: said_by(2) == "SPEAKER_01" and panel.transcript.segments[0].text.endswith("García."),
                    timeout=10_000)
    editor.edit("Split segment", lambda t: edits.split_segment(t, 1, 1))
    qtbot.waitUntil(lambda: panel.segments.rowCount() == 4, timeout=10_000)
    editor.edit("Move words", lambda t: edits.move_words(t, 2, 0, 0, None))
    qtbot.waitUntil(lambda: panel.speakers.rowCount() == 3, timeout=10_000)
    editor.edit("Merge speakers", lambda t: edits.merge_speakers(t, "SPEAKER_00", "SPEAKER_02"))
    qtbot.waitUntil(lambda: panel.speakers.rowCount() == 2, timeout=10_000)
    for _ in range(3):
        win.undo_action.trigger()
    qtbot.waitUntil(lambda: panel.segments.rowCount() == 3 and panel.speakers.rowCount() == 2, timeout=10_000)


@pytest.fixture(scope="module")
def sample_result_with_windows(sample, settings, resources):
    from app.core import pipeline

    windows = []
    transcript = pipeline.run(sample.wav, settings, pipeline.Hooks(on_windows=windows.append), resources)
    return transcript, windows[0]


@pytest.mark.models
def test_speakers_found_again_with_any_count_keep_the_words_and_the_names(sample_result_with_windows):
    import time

    from app.core.speakers import recluster

    transcript, windows = sample_result_with_windows
    edited = edits.edit_text(transcript, 1, transcript.segments[1].text + " corregido")
    for count in (1, 2, 3):
        started = time.perf_counter()
        again = recluster.speakers_again(edited, windows, count)
        assert time.perf_counter() - started < 5
        assert len(again.speakers) == count
        words = [w.word for s in again.segments for w in s.words]
        assert words == [w.word for s in edited.segments for w in s.words]  # every word, corrected text included
        assert " corregido" in words
    two = recluster.speakers_again(edited, windows, 2)
    kept = sum(1 for s in two.segments for w in s.words
               for e in edited.segments for v in e.words if v == w and e.speaker == s.speaker)
    assert kept >= 0.8 * len(words)  # two voices again: the same people, under the same ids (so the same names)
    with pytest.raises(UserError):
        recluster.speakers_again(edited, b"", 2)


def test_the_reading_view_shows_turns_plays_a_clicked_word_and_takes_typed_corrections(qtbot, tmp_path, window_over):
    import numpy as np
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtGui import QTextCursor

    from tests import media

    store = Store(tmp_path / "history.db")
    wav = media.write_wav(tmp_path / "a.wav", np.zeros(16000 * 6))
    conversation = transcript(said("SPEAKER_00", (0.0, 0.5, "Buenos"), (0.5, 1.0, "días,"), (1.2, 1.6, "doctora.")),
                              said("SPEAKER_00", (1.7, 2.0, "Vengo"), (2.0, 2.3, "por"), (2.3, 2.6, "Rosío.")),
                              said("SPEAKER_01", (3.0, 3.4, "Pase,"), (3.5, 4.0, "Rosío.", 0.3)), duration=20.0)
    finished_job(store, conversation, path=str(wav))
    win = window_over(store)
    panel, view = win.panel, win.panel.reading
    qtbot.waitUntil(lambda: panel.transcript is not None and not view.building(), timeout=10_000)
    blocks = view.toPlainText().split("\n")
    assert blocks == ["Speaker 1  0:00", "Buenos días, doctora. Vengo por Rosío.", "Speaker 2  0:03", "Pase, Rosío."]
    # a click on "Vengo" plays from it
    played = []
    view.playAt.connect(played.append)
    cursor = view.document().find("Vengo")
    rect = view.cursorRect(QTextCursor(view.document().findBlock(cursor.selectionStart())))
    view.setTextCursor(cursor)
    at = view.cursorRect().center() + QPoint(-2, 0)
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=at)
    assert played == [1700] and rect.isValid()
    # the corrections' menu finds the sentence under the pointer
    assert view.segment_at(view.document().find("Pase,").selectionStart()) == 2
    assert view.segment_at(0) is None  # the speaker's line
    # the unsure word is marked quietly
    marked = view.document().find("Rosío.", view.document().find("Pase,"))
    assert marked.charFormat().underlineStyle() != 0
    # typing in the paragraph corrects the words, saved at once and searchable
    cursor = view.document().find("doctora.")
    cursor.insertText("doctora García.")
    view.commit()
    qtbot.waitUntil(lambda: panel.transcript.segments[0].text == "Buenos días, doctora García.", timeout=10_000)
    assert store.has_edits("k")
    assert [w.start for w in panel.transcript.segments[1].words] == [1.7, 2.0, 2.3]  # words not touched keep their times
    assert [h.segment for h in store.search("garcía")] == [0]  # searchable at once
    win.undo_action.trigger()
    qtbot.waitUntil(lambda: panel.transcript.segments[0].text == "Buenos días, doctora.", timeout=10_000)
    # two paragraphs typed in before the pause are one step, and neither is lost
    first = view.document().find("Buenos")
    first.insertText("Muy buenos")
    second = view.document().find("Pase,")
    second.insertText("Pasen,")
    view.commit()
    qtbot.waitUntil(lambda: panel.transcript.segments[0].text.startswith("Muy buenos")
                    and panel.transcript.segments[2].text.startswith("Pasen,"), timeout=10_000)
    win.undo_action.trigger()
    qtbot.waitUntil(lambda: panel.transcript.segments[0].text.startswith("Buenos")
                    and panel.transcript.segments[2].text.startswith("Pase,"), timeout=10_000)
    qtbot.waitUntil(lambda: not view.building(), timeout=10_000)
    # Backspace at a paragraph's start does not join it to the speaker's line
    at = view.textCursor()
    at.setPosition(view.document().find("Pase,").selectionStart())
    view.setTextCursor(at)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key_Backspace)
    assert view.toPlainText().split("\n")[3] == "Pase, Rosío."
    # a name misheard everywhere, replaced in one step
    win.editor.replace_all("Rosío", "Rocío")
    qtbot.waitUntil(lambda: "Rosío" not in view.toPlainText(), timeout=10_000)
    assert view.toPlainText().count("Rocío") == 2
    # the review list shows the doubtful places and plays one
    win.review_dock.show()
    assert win.review.list.count() >= 1
    win.review.list.setCurrentRow(0)
