from __future__ import annotations

import hashlib

import pytest

from app.core.whisper import models
from app.core.common.errors import ModelError


def test_embedded_model_is_assembled_verified_and_reused(tmp_path):
    folder = models.resolve("base", tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    digest = hashlib.sha256((folder / "model.bin").read_bytes()).hexdigest()
    assert digest == models.EMBEDDED_SHA256
    mtime = (folder / "model.bin").stat().st_mtime_ns
    assert models.resolve("base", tmp_path) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == mtime, "assembled once"


def test_interrupted_assembly_leaves_no_model_and_is_redone(tmp_path):
    folder = tmp_path / "whisper-base"
    folder.mkdir()
    (folder / ".model.bin.x.partial").write_bytes(b"half a model")  # what a killed first run leaves
    (folder / "config.json").write_text("{}")
    assert not models.is_complete(folder)
    models.assemble_embedded(tmp_path)
    assert models.is_complete(folder)


def test_damaged_parts_fail_the_check_and_leave_nothing(tmp_path, monkeypatch):
    real = models.embedded_parts()
    damaged = tmp_path / "model.bin.part2"
    damaged.write_bytes(real[1].read_bytes()[:-10] + b"0123456789")
    monkeypatch.setattr(models, "embedded_parts", lambda: [real[0], damaged])
    with pytest.raises(ModelError, match="integrity check"):
        models.assemble_embedded(tmp_path / "models")
    folder = tmp_path / "models" / "whisper-base"
    assert not (folder / "model.bin").exists()
    assert not list(folder.glob("*.partial"))


def test_a_size_not_on_this_computer_is_a_clear_error_offline(tmp_path):
    with pytest.raises(ModelError, match="'small' model is not on this computer.*internet"):
        models.resolve("small", tmp_path, allow_download=False)


def test_a_local_model_folder(tmp_path):
    base = models.resolve("base", tmp_path / "a")
    assert models.resolve(str(base), tmp_path / "b") == base
    with pytest.raises(ModelError, match="not a CTranslate2 Whisper model folder"):
        models.resolve(str(tmp_path), tmp_path)
    with pytest.raises(ModelError, match="Unknown model"):
        models.resolve("huge", tmp_path)


def test_a_bundled_app_uses_the_model_it_carries_and_assembles_nothing(tmp_path, monkeypatch):
    from app.core.settings import Settings
    from app.ui.app import model_problem

    bundle = tmp_path / "bundle"
    carried = bundle / "models" / "whisper-base"
    carried.mkdir(parents=True)
    for name in ("model.bin", "config.json"):
        (carried / name).write_bytes(b"x")
    monkeypatch.setattr(models.sys, "_MEIPASS", str(bundle), raising=False)
    monkeypatch.setattr(models, "embedded_parts", lambda: (_ for _ in ()).throw(ModelError("no parts in a bundle")))
    data = tmp_path / "data"
    assert models.resolve("base", data / "models") == carried
    assert not (data / "models").exists()
    assert model_problem(Settings(data_dir=data)) == ""


def test_a_bundle_missing_its_model_falls_back_to_the_parts(tmp_path, monkeypatch):
    monkeypatch.setattr(models.sys, "_MEIPASS", str(tmp_path / "empty-bundle"), raising=False)
    assert models.bundled_embedded() is None
    assert models.resolve("base", tmp_path) == tmp_path / "whisper-base"
