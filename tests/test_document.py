"""The transcript as a document: turns and paragraphs, editing a paragraph in place, find
and replace, the review list, and the Word, Markdown, HTML and PDF exports."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest

from app.core.document import documents, edits, exports, review
from app.core.document.turns import turns
from tests.builders import said, transcript


def _sample_like():
    """The two-speaker sample as the table showed it: one turn cut by a pause mid-sentence."""
    return transcript(
        said("SPEAKER_00", (11.0, 11.4, "Okay."), (11.5, 12.0, "I"), (12.0, 12.3, "thought"), (12.3, 12.6, "you"),
             (12.6, 12.9, "know")),
        said("SPEAKER_00", (12.9, 13.2, "I"), (13.2, 13.5, "heard"), (13.5, 14.0, "a"), (14.0, 14.4, "beep.")),
        said("SPEAKER_01", (22.0, 22.4, "Well,"), (22.4, 23.0, "there's"), (23.0, 23.4, "not"), (23.4, 23.7, "much"),
             (23.7, 24.2, "difference."), (24.2, 24.4, "At")),
        said("SPEAKER_01", (24.6, 25.0, "least,"), (25.0, 25.3, "you"), (25.3, 25.6, "know.")),
        said("SPEAKER_01", (30.0, 30.3, "Anyway."), (30.3, 30.6, "Yes.")),
        said("SPEAKER_00", (31.0, 31.4, "Oh,"), (31.4, 31.9, "really?")),
        names={"SPEAKER_00": "Diane", "SPEAKER_01": "Sheila"}, duration=35.0)


def test_a_turn_is_everything_one_speaker_says_until_another_speaks():
    t = _sample_like()
    found = turns(t)
    assert [x.speaker for x in found] == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_00"]
    assert [x.segments for x in found] == [(0, 1), (2, 3, 4), (5,)]
    # a pause of 4.4 s after a finished sentence starts a new paragraph of the same turn;
    # "At | least" is one sentence whatever the pause inside it
    assert [p.segments for p in found[1].paragraphs] == [(2, 3), (4,)]


def test_no_paragraph_breaks_inside_a_sentence():
    t = transcript(said("A", (0.0, 0.5, "We"), (0.5, 1.0, "went")), said("A", (9.0, 9.5, "home."), (9.5, 9.9, "Then")),
                   said("A", (20.0, 20.5, "more.")), said("A", (30.0, 30.5, "Bye.")))
    assert [p.segments for p in turns(t)[0].paragraphs] == [(0, 1, 2), (3,)]


def test_plain_text_is_written_turn_by_turn():
    text = exports.to_txt(_sample_like())
    assert text.split("\n\n")[1] == ("[00:00:22] Sheila: Well, there's not much difference. At least, you know.\n"
                                     "Anyway. Yes.")
    assert text.count("Diane:") == 2


def test_markdown_has_the_turns_and_keeps_names_from_becoming_markup():
    t = _sample_like().with_names({"SPEAKER_00": "[Dr](http://x) *Ana*"})
    md = exports.render("md", t)
    assert "**\\[Dr\\](http://x) \\*Ana\\***" in md and "(0:11)" in md
    assert "Well, there's not much difference. At least, you know." in md
    assert exports.render("md", t, stamps="none").count("(0:") == 0
    paragraph_stamps = exports.render("md", t, stamps="paragraph")
    assert "(0:30): Anyway. Yes." in paragraph_stamps


def test_a_word_document_holds_the_speakers_and_each_turns_text_in_order():
    docx = pytest.importorskip("docx")
    t = _sample_like()
    import datetime

    data = exports.render("docx", t, stamps="turn", made=datetime.datetime(2026, 12, 3, 10, 0).timestamp())
    document = docx.Document(io.BytesIO(data))
    text = [p.text for p in document.paragraphs]
    assert "Recording: a.wav" in text and "Date: 2026-12-03 10:00" in text and "Duration: 0:35" in text
    assert "Sheila: 0:05" in text or any(line.startswith("Sheila:") for line in text)
    body = text[text.index("Transcript", 1) + 1:]
    assert body == ["Diane (0:11): Okay. I thought you know I heard a beep.",
                    "Sheila (0:22): Well, there's not much difference. At least, you know.", "Anyway. Yes.",
                    "Diane (0:31): Oh, really?"]
    name_run = document.paragraphs[text.index(body[0])].runs[0]
    assert name_run.bold and str(name_run.font.color.rgb) == documents.speaker_colour("SPEAKER_00")[1:].upper()


def test_control_characters_in_a_transcript_do_not_break_the_word_document():
    docx = pytest.importorskip("docx")
    t = transcript(said("A", (0.0, 1.0, "bad\x07byte\x00")), names={"A": "N\x1bame"})
    document = docx.Document(io.BytesIO(exports.render("docx", t)))
    assert "badbyte" in "\n".join(p.text for p in document.paragraphs)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (Debian's poppler-utils) is not installed")
def test_a_pdf_printed_with_qt_has_the_turns_as_text(tmp_path):
    from app.printing import print_html

    data = print_html(exports.render("html", _sample_like()))
    assert data.startswith(b"%PDF")
    (tmp_path / "t.pdf").write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "t.pdf"), "-"], capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    assert "Diane (0:11): Okay. I thought you know I heard a beep." in flat
    assert flat.index("Sheila (0:22)") < flat.index("Diane (0:31)")


def test_editing_a_paragraph_keeps_the_timings_of_the_words_not_touched():
    t = _sample_like()
    edited = edits.edit_paragraph(t, (0, 1), "Okay. I thought you know I heard a beep. From Chicago.")
    words = [(w.word.strip(), w.start, w.end) for s in edited.segments[:2] for w in s.words]
    assert words[:9] == [(w.word.strip(), w.start, w.end) for s in t.segments[:2] for w in s.words]
    assert [w[0] for w in words[9:]] == ["From", "Chicago."]
    assert all(14.4 <= w[1] <= w[2] <= 22.0 for w in words[9:]) or all(w[1] == 14.4 for w in words[9:])
    fixed = edits.edit_paragraph(t, (2, 3), "Well, there's not much difference. At least, y'all know.")
    changed = [w for w in fixed.segments[3].words if w.word.strip() == "y'all"][0]
    assert (changed.start, changed.end) == (25.0, 25.3)  # the time of the word it replaces, in its segment
    with pytest.raises(Exception, match="consecutive"):
        edits.edit_paragraph(t, (0, 2), "x")


def test_find_and_replace_fixes_a_name_misheard_everywhere():
    t = transcript(said("A", (0.0, 0.5, "Hola"), (0.5, 1.0, "Rosío.")), said("B", (2.0, 2.5, "rosío"), (2.5, 3.0, "bien")),
                   said("A", (4.0, 4.5, "Rosíos")))
    fixed, count = edits.replace_all(t, "Rosío", "Rocío")
    assert count == 2
    assert [s.text for s in fixed.segments] == ["Hola Rocío.", "Rocío bien", "Rosíos"]
    assert fixed.segments[0].words[0] == t.segments[0].words[0]


def test_a_short_turn_between_two_of_another_speakers_is_flagged():
    t = transcript(said("A", (0.0, 3.0, "We"), (3.0, 6.0, "should")), said("B", (6.1, 6.6, "begin")),
                   said("A", (6.8, 9.0, "the"), (9.0, 12.0, "meeting.")), said("B", (14.0, 18.0, "Yes, agreed, let's go on then.")),
                   said("A", (19.0, 22.0, "Fine.")))
    found = [s for s in review.spots(t) if s.kind == "short turn"]
    assert [(s.start, s.end) for s in found] == [(6.1, 6.6)]
    assert "Speaker 1's" in found[0].text
    cleared = review.spots(t, cleared=frozenset({found[0].key}))  # "this is right" takes it off
    assert found[0].key not in {s.key for s in cleared} and cleared


def test_the_review_list_names_each_kind_of_doubt():
    from dataclasses import replace

    t = transcript(said("A", (0.0, 1.0, "so"), (1.0, 2.0, "we")), said("B", (2.1, 3.0, "went"), (3.0, 20.0, "home.")),
                   said("A", (21.0, 22.0, "x", 0.1), (22.0, 23.0, "y", 0.2), (23.0, 24.0, "z", 0.3)),
                   said("C", (25.0, 26.0, "hi.")),
                   warnings=("a.wav: speech was heard but no words recognised at 0:40-0:42.",))
    t = replace(t, speakers=tuple(replace(s, voice={"name": "Ana", "similarity": 0.78}) if s.id == "B" else s
                                  for s in t.speakers))
    kinds = {s.kind for s in review.spots(t, threshold=0.76)}
    assert kinds == {"few seconds", "mid-sentence", "quick change", "near threshold", "no words", "unsure words"}


@pytest.mark.models
def test_real_transcripts_read_as_turns_without_breaks_inside_sentences(sample, settings, resources, tmp_path):
    from app.core import pipeline
    from app.core.document.turns import ends_sentence
    from evaluation import devset, recordings

    try:
        call = devset.call_item("call-en-1", *devset.CALLS["call-en-1"]).write(tmp_path)
    except recordings.Missing as exc:
        pytest.skip(str(exc))
    for path in (sample.wav, call):
        t = pipeline.run(path, settings, resources=resources)
        found = turns(t)
        assert all(a.speaker != b.speaker for a, b in zip(found, found[1:]))  # one speaker until another speaks
        assert sum(len(x.segments) for x in found) == len(t.segments)
        for turn in found:
            for before, after in zip(turn.paragraphs, turn.paragraphs[1:]):
                assert ends_sentence(t.segments[before.segments[-1]].text)
        text = exports.to_txt(t)
        assert text.count("\n\n") == len(found) - 1


def test_replacing_in_overlapping_sentences_edits_each_its_own():
    # a call heard a channel at a time: sentences overlap; taking "um" off one moves its start
    t = transcript(said("A", (0.0, 0.5, "um"), (0.5, 1.0, "so"), (1.0, 1.5, "we"), (1.5, 2.0, "go")),
                   said("B", (0.2, 0.8, "um"), (0.8, 1.2, "yeah")))
    fixed, count = edits.replace_all(t, "um", "")
    assert count == 2
    assert sorted((s.speaker, s.text) for s in fixed.segments) == [("A", "so we go"), ("B", "yeah")]


def _print_in_a_daemon(html, out):
    from app.printing import print_html

    out.put(print_html(html)[:5])


def test_the_window_s_api_process_a_daemon_can_print_a_pdf():
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    child = context.Process(target=_print_in_a_daemon, args=(exports.render("html", _sample_like()), out), daemon=True)
    child.start()
    assert out.get(timeout=60) == b"%PDF-"
    child.join(timeout=30)
