from __future__ import annotations

import json

import pytest

from app.core import settings as s
from app.core.common.errors import UserError


def test_defaults(tmp_path):
    got = s.load(environ={}, data_dir=tmp_path)
    assert (got.model, got.language, got.device, got.compute_type) == ("base", None, "auto", "auto")
    assert (got.parallel_chunks, got.chunk_sec, got.from_env) == (2, 30.0, ())


def test_environment_overrides_preferences_and_flags_override_both(tmp_path, monkeypatch):
    monkeypatch.setenv(s.DATA_DIR_ENV, str(tmp_path))
    (tmp_path / "preferences.json").write_text(json.dumps({"model": "small", "chunk_sec": 20, "parallel_chunks": 3}))
    env = {"WHISPER_MODEL_SIZE": "tiny", "DIARIZATION_PARALLEL_CHUNKS": "4", "WHISPER_DEVICE": "cpu",
           "WHISPER_COMPUTE_TYPE": "float32", "DIARIZATION_CHUNK_SEC": "25"}
    got = s.load(environ=env, data_dir=tmp_path)
    assert (got.model, got.parallel_chunks, got.chunk_sec, got.device, got.compute_type) == ("tiny", 4, 25.0, "cpu", "float32")
    assert set(got.from_env) == {"model", "parallel_chunks", "chunk_sec", "device", "compute_type"}
    assert s.load(environ=env, model="medium", data_dir=tmp_path).model == "medium"
    assert s.load(environ={}, data_dir=tmp_path).chunk_sec == 20.0


@pytest.mark.parametrize(
    "env, words",
    [
        ({"DIARIZATION_PARALLEL_CHUNKS": "two"}, "not a number"),
        ({"DIARIZATION_PARALLEL_CHUNKS": "0"}, "between 1 and 16"),
        ({"DIARIZATION_CHUNK_SEC": "300"}, "between 5 and 30"),
        ({"WHISPER_DEVICE": "tpu"}, "Unknown device"),
        ({"WHISPER_COMPUTE_TYPE": "int3"}, "Unknown compute type"),
    ],
)
def test_bad_environment_values_say_what_is_wrong(tmp_path, env, words):
    with pytest.raises(UserError, match=words):
        s.load(environ=env, data_dir=tmp_path)


def test_speaker_hints_are_checked(tmp_path):
    with pytest.raises(UserError, match="either"):
        s.load(environ={}, data_dir=tmp_path, num_speakers=2, max_speakers=3)
    with pytest.raises(UserError, match="between 1 and 32"):
        s.load(environ={}, data_dir=tmp_path, num_speakers=0)


def test_a_damaged_preferences_file_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv(s.DATA_DIR_ENV, str(tmp_path))
    (tmp_path / "preferences.json").write_text("{not json")
    assert s.load(environ={}, data_dir=tmp_path).model == "base"
    (tmp_path / "preferences.json").write_text(json.dumps({"parallel_chunks": "lots", "model": "tiny", "bogus": 1}))
    got = s.load(environ={}, data_dir=tmp_path)
    assert (got.model, got.parallel_chunks) == ("tiny", 2)


def test_preferences_are_saved(tmp_path, monkeypatch):
    monkeypatch.setenv(s.DATA_DIR_ENV, str(tmp_path))
    s.save_preferences(s.load(environ={}, data_dir=tmp_path), {"language": "es"})
    assert s.load(environ={}, data_dir=tmp_path).language == "es"


def test_data_dir_follows_the_platform(monkeypatch):
    monkeypatch.delenv(s.DATA_DIR_ENV, raising=False)
    assert "Diarization Studio" in str(s.default_data_dir())


def test_role_naming_settings(tmp_path, monkeypatch):
    monkeypatch.setenv(s.DATA_DIR_ENV, str(tmp_path))
    got = s.load(environ={}, data_dir=tmp_path)
    assert (got.roles_enabled, got.ollama_host, got.ollama_model) == (False, "http://localhost:11434", "qwen2.5:7b")
    assert s.load(environ={"OLLAMA_HOST": "http://gpu-box:11434"}).ollama_host == "http://gpu-box:11434"
    (tmp_path / "preferences.json").write_text(json.dumps({"roles_enabled": "true", "roles_context": "una consulta"}))
    got = s.load(environ={}, data_dir=tmp_path)
    assert got.roles_enabled is True and got.roles_context == "una consulta"


def test_preferences_come_from_the_data_folder_in_use(tmp_path, monkeypatch):
    default, chosen = tmp_path / "default", tmp_path / "chosen"
    for folder, model in ((default, "small"), (chosen, "tiny")):
        folder.mkdir()
        (folder / "preferences.json").write_text(json.dumps({"model": model}))
    monkeypatch.setenv(s.DATA_DIR_ENV, str(default))
    assert s.load(data_dir=chosen).model == "tiny"
    assert s.load(environ={s.DATA_DIR_ENV: str(chosen)}).data_dir == chosen
    assert s.default_data_dir({s.DATA_DIR_ENV: str(chosen)}) == chosen


def test_offline_and_language_are_settings_checked_once(tmp_path):
    assert s.load(environ={"HF_HUB_OFFLINE": "1"}, data_dir=tmp_path).offline
    assert not s.load(environ={"HF_HUB_OFFLINE": "0"}, data_dir=tmp_path).offline
    assert s.load(environ={}, data_dir=tmp_path, language="es").language == "es"
    with pytest.raises(UserError, match="Unknown language 'klingon'"):
        s.load(environ={}, data_dir=tmp_path, language="klingon")


def test_the_language_list_is_whispers():
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    from app.core.whisper import languages

    assert set(languages.CODES) == set(_LANGUAGE_CODES)
