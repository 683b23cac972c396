"""Only audio and video containers open a recording: an upload or a dropped file that is an
FFmpeg script, a playlist or an image is refused before FFmpeg reads any file it names, and
a name that looks like an FFmpeg URL opens as the file it names."""

from __future__ import annotations

import os
import threading
import time
import uuid
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from app.core.audio_in import decode as audio
from app.core.audio_in import media as recordings
from app.core.common.errors import UserError
from tests import media

SECONDS = 2.0
NEIGHBOUR_SECONDS = 3.0


def tone(seconds: float = SECONDS, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.4 * np.sin(2 * np.pi * (300 + 200 * t) * t)).astype(np.float32)


@pytest.fixture
def neighbour(tmp_path, monkeypatch) -> Path:
    """Another client's upload, next to the hostile one: a real 3 s WAV named as uploads are
    (and the working folder: a relative name resolves to it whatever FFmpeg takes the
    script's own name for)."""
    monkeypatch.chdir(tmp_path)
    return media.write_wav(tmp_path / f"{uuid.uuid4().hex}.upload", tone(NEIGHBOUR_SECONDS))


def refused(path: Path, kind: str) -> None:
    """Both entry points refuse it, with one message that names the file and says what it is."""
    for check in (audio.probe, audio.decode):
        with pytest.raises(UserError) as info:
            check(path)
        message = str(info.value)
        assert message.startswith(f"{path}: is not an audio or video file (it is {kind}"), message


def concat_script(tmp_path: Path, entry: str, name: str | None = None) -> Path:
    path = tmp_path / (name or f"{uuid.uuid4().hex}.upload")
    path.write_text(f"ffconcat version 1.0\nfile {entry}\n")
    return path


def test_a_concat_script_naming_another_upload_is_refused_not_transcribed_as_it(tmp_path, neighbour):
    refused(concat_script(tmp_path, neighbour.name), "an FFmpeg concat script")
    refused(concat_script(tmp_path, neighbour.name, "talk.wav"), "an FFmpeg concat script")


def test_a_concat_script_reaching_a_file_through_subfile_is_refused(tmp_path, neighbour):
    # FFmpeg's subfile protocol: subfile,,start,OFFSET,end,END,,:PATH (end 0: to the file's end)
    refused(concat_script(tmp_path, f"'subfile,,start,0,end,0,,:{neighbour}'"), "an FFmpeg concat script")
    refused(concat_script(tmp_path, f"subfile,,start,0,end,0,,:{neighbour.name}"), "an FFmpeg concat script")


@pytest.mark.parametrize("name", ["playlist.upload", "playlist.m3u8", "playlist.mp3"])
def test_an_hls_playlist_naming_another_recording_is_refused(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    neighbour = media.write_wav(tmp_path / "neighbour.wav", tone(NEIGHBOUR_SECONDS))
    path = tmp_path / name
    path.write_text(f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:0\n"
                    f"#EXTINF:3.0,\n{neighbour.name}\n#EXTINF:3.0,\n{neighbour}\n#EXT-X-ENDLIST\n")
    refused(path, "a playlist")


def test_a_dash_manifest_is_refused(tmp_path):
    path = tmp_path / "manifest.upload"
    path.write_text('<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static">'
                    '<Period><AdaptationSet><Representation id="a" bandwidth="1"><BaseURL>neighbour.wav</BaseURL>'
                    "</Representation></AdaptationSet></Period></MPD>\n")
    refused(path, "a playlist")


def png_bytes(size: int = 16) -> bytes:
    import av

    frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), 200, np.uint8), format="rgb24")
    codec = av.CodecContext.create("png", "w")
    codec.width = codec.height = size
    codec.pix_fmt = "rgb24"
    codec.time_base = Fraction(1, 1)
    return b"".join(bytes(p) for p in codec.encode(frame))


def jpeg_bytes(size: int = 16) -> bytes:
    import av

    frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), 90, np.uint8), format="rgb24").reformat(
        format="yuvj420p")
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width = codec.height = size
    codec.pix_fmt = "yuvj420p"
    codec.time_base = Fraction(1, 1)
    return b"".join(bytes(p) for p in codec.encode(frame))


@pytest.mark.parametrize("maker", [png_bytes, jpeg_bytes])
def test_an_image_saved_as_an_upload_is_refused(tmp_path, maker):
    path = tmp_path / f"{uuid.uuid4().hex}.upload"
    path.write_bytes(maker())
    refused(path, "an image")


def test_an_image_sequence_pattern_is_refused_and_opens_no_other_frame(tmp_path):
    for i in range(3):
        (tmp_path / f"frame{i}.png").write_bytes(png_bytes())
    pattern = tmp_path / "frame%d.png"
    pattern.write_bytes(png_bytes())
    refused(pattern, "an image")


def test_another_kind_of_file_ffmpeg_knows_is_refused_as_not_media(tmp_path):
    path = tmp_path / "captions.upload"  # FFmpeg reads WebVTT subtitles; they are not a recording
    path.write_text("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nhola\n\n00:00:02.000 --> 00:00:04.000\nadiós\n")
    for check in (audio.probe, audio.decode):
        with pytest.raises(UserError) as info:
            check(path)
        assert str(info.value) == (f"{path}: cannot be read as audio or video; it is damaged, incomplete or not a "
                                   "media file (not an audio or video format this app opens).")


class FifoWatch:
    """A named pipe in a neighbour's place: FFmpeg opening it is seen (a writer can open a
    pipe only while a reader has it open), and then fed a WAV so that nothing hangs."""

    def __init__(self, path: Path):
        self.path, self.opened, self.done = path, False, threading.Event()
        os.mkfifo(path)
        self.wav = media.write_wav(path.with_name("fed.wav"), tone(NEIGHBOUR_SECONDS)).read_bytes()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self):
        while not self.done.is_set():
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: nobody is reading it
                time.sleep(0.001)
                continue
            self.opened = True
            try:
                os.set_blocking(fd, True)
                os.write(fd, self.wav)
            except OSError:
                pass
            finally:
                os.close(fd)

    def stop(self) -> bool:
        self.done.set()
        self.thread.join(5)
        return self.opened


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.parametrize("content", ["concat", "hls"])
def test_the_files_a_script_names_are_never_opened(tmp_path, monkeypatch, content):
    monkeypatch.chdir(tmp_path)  # a relative name resolves here, whatever FFmpeg takes the script's own name for
    watch = FifoWatch(tmp_path / "neighbour.wav")
    path = tmp_path / ("hostile.upload" if content == "concat" else "hostile.m3u8")
    if content == "concat":  # its safe mode takes relative names only
        path.write_text("ffconcat version 1.0\nfile neighbour.wav\n")
    else:
        path.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\nneighbour.wav\n#EXTINF:3.0,\n{watch.path}\n"
                        "#EXT-X-ENDLIST\n")
    try:
        for check in (audio.probe, audio.decode):
            with pytest.raises(UserError, match="not an audio or video file"):
                check(path)
    finally:
        assert not watch.stop(), "FFmpeg opened the file the script names"


@pytest.mark.parametrize("name", ["concat:a|b", "subfile,,start,0,end,0,,:x.wav", "file:x.wav", "frame%d.jpg",
                                  "#EXTM3U.wav"])
def test_a_name_that_looks_like_an_ffmpeg_url_opens_as_that_file(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)  # a relative name is what FFmpeg would parse as a URL
    for other in ("a", "b", "x.wav", "frame0.jpg", "frame1.jpg"):
        media.write_wav(tmp_path / other, tone(NEIGHBOUR_SECONDS))
    media.write_wav(tmp_path / name, tone(SECONDS))
    path = Path(name)
    audio.probe(path)
    assert audio.decode(path).duration == pytest.approx(SECONDS, abs=0.01)


@pytest.mark.parametrize("good_reads", [0, 12])  # at opening; while decoding (opening takes 6)
def test_a_disk_that_fails_mid_read_is_an_error_for_that_file(tmp_path, monkeypatch, good_reads):
    path = media.write_wav(tmp_path / "talk.wav", tone(20.0))  # 640 KB: many reads
    real = audio._Input.__init__

    def flaky(self, p):
        real(self, p)
        reads, calls = self.read, []

        def read(size=-1):
            calls.append(size)
            if len(calls) > good_reads:
                raise OSError(5, "Input/output error")
            return reads(size)

        self.read = read

    monkeypatch.setattr(audio._Input, "__init__", flaky)
    with pytest.raises(UserError) as info:
        audio.decode(path)
    assert str(info.value) == f"{path}: could not be read (Input/output error)."


def test_seeking_before_the_start_answers_an_error_code_not_an_exception(tmp_path):
    source = audio._Input(media.write_wav(tmp_path / "talk.wav", tone(SECONDS)))
    try:
        assert source.seek(-10) < 0 and source.seek(100) == 100
    finally:
        source.close()


def test_the_allow_list_names_only_audio_and_video_demuxers():
    import av

    for name in recordings.DEMUXERS:
        assert av.format.ContainerFormat(name.split(",")[0], "r").name, name
    allowed = {part for name in recordings.DEMUXERS for part in name.split(",")}
    for forbidden in ("concat", "hls", "dash", "image2", "image2pipe", "png_pipe", "jpeg_pipe", "lavfi", "tty",
                      "sdp", "rtp", "rtsp", "ffmetadata", "webm_dash_manifest", "data", "bin", "mpjpeg", "srt"):
        assert forbidden not in allowed


def test_an_ffmpeg_that_ignored_the_allow_list_is_still_caught_before_decoding(tmp_path, neighbour, monkeypatch):
    monkeypatch.setattr(audio, "_container_options", lambda: {})  # as if FFmpeg had no format_whitelist
    refused(concat_script(tmp_path, neighbour.name), "an FFmpeg concat script")


# Every extension the window accepts, made with PyAV: (muxer, audio codec, rate, video codec).
CONTAINERS = {
    ".wav": ("wav", "pcm_s16le", 16000, None),
    ".mp3": ("mp3", "libmp3lame", 16000, None),
    ".m4a": ("ipod", "aac", 16000, None),
    ".aac": ("adts", "aac", 16000, None),
    ".flac": ("flac", "flac", 16000, None),
    ".ogg": ("ogg", "libopus", 48000, None),
    ".oga": ("ogg", "flac", 16000, None),
    ".opus": ("opus", "libopus", 48000, None),
    ".wma": ("asf", "wmav2", 16000, None),
    ".aif": ("aiff", "pcm_s16be", 16000, None),
    ".aiff": ("aiff", "pcm_s16be", 16000, None),
    ".amr": ("amr", "libopencore_amrnb", 8000, None),
    ".caf": ("caf", "alac", 16000, None),
    ".mp4": ("mp4", "aac", 16000, "mpeg4"),
    ".mov": ("mov", "aac", 16000, "mpeg4"),
    ".m4v": ("mp4", "aac", 16000, "mpeg4"),
    ".mkv": ("matroska", "aac", 16000, "mpeg4"),
    ".webm": ("webm", "libopus", 48000, "libvpx"),
    ".avi": ("avi", "pcm_s16le", 16000, "mpeg4"),
    ".wmv": ("asf", "wmav2", 16000, "wmv2"),
    ".3gp": ("3gp", "aac", 16000, None),
    ".mpg": ("mpeg", "mp2", 48000, "mpeg1video"),
    ".mpeg": ("mpeg", "mp2", 48000, "mpeg1video"),
    # allowed containers the window does not list: camcorders, OBS, old and lossless audio
    ".mts": ("mpegts", "aac", 16000, "mpeg4"),
    ".flv": ("flv", "libmp3lame", 44100, "flv"),
    ".au": ("au", "pcm_s16be", 16000, None),
    ".w64": ("w64", "pcm_s16le", 16000, None),
    ".voc": ("voc", "pcm_u8", 16000, None),
    ".wv": ("wv", "wavpack", 16000, None),
    ".mxf": ("mxf", "pcm_s16le", 48000, "mpeg2video", "mono", (720, 576)),
    ".dv": ("dv", "pcm_s16le", 48000, "dvvideo", "stereo", (720, 576)),
}


def make(path: Path, muxer: str, codec: str, rate: int, video: str | None, layout="mono", size=(64, 48)) -> Path:
    import av

    samples = tone(SECONDS, rate)
    with av.open(str(path), "w", format=muxer) as out:
        if video:  # first: MXF wants its video stream first
            stream = out.add_stream(video, rate=25)
            (stream.width, stream.height), stream.pix_fmt = size, "yuv420p"
        sound = out.add_stream(codec, rate=rate, layout=layout)
        if codec in ("libopencore_amrnb", "wmav2"):
            sound.bit_rate = {"libopencore_amrnb": 12200, "wmav2": 32000}[codec]
        if video:
            for i in range(int(SECONDS * 25)):
                frame = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), i * 5, np.uint8), format="rgb24")
                frame = frame.reformat(format="yuv420p")
                frame.pts, frame.time_base = i, Fraction(1, 25)
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        resampler = av.AudioResampler(format=sound.codec_context.format.name, layout=layout, rate=rate)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        for piece in resampler.resample(frame) + resampler.resample(None):
            out.mux(sound.encode(piece))
        out.mux(sound.encode(None))
    return path


def test_every_accepted_extension_has_a_container_here():
    assert recordings.EXTENSIONS <= set(CONTAINERS)


@pytest.mark.parametrize("suffix", sorted(CONTAINERS))
def test_real_recordings_in_every_allowed_container_still_decode(tmp_path, suffix):
    import av

    path = make(tmp_path / f"clip{suffix}", *CONTAINERS[suffix])
    with av.open(str(path)) as container:
        assert container.format.name in recordings.DEMUXERS, container.format.name
    upload = tmp_path / f"{uuid.uuid4().hex}.upload"  # as the API saves it: no extension to go by
    upload.write_bytes(path.read_bytes())
    for each in (path, upload):
        audio.probe(each)
        decoded = audio.decode(each)
        assert decoded.duration == pytest.approx(SECONDS, abs=0.15), each
        assert 0.1 < np.abs(decoded.samples).max() <= 1.0

