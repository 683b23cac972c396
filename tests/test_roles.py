"""Role naming against a real local HTTP server speaking Ollama's API, in every way it can go."""

from __future__ import annotations

import json

import pytest

from app.core.llm import hosts
from app.core.llm import roles
from app.core.document.transcript import Transcript
from tests.builders import line, transcript
from tests.ollama_server import MODEL, FakeOllama, closed_port_host


def consultation(long: bool = False) -> Transcript:
    lines = [("SPEAKER_00", "Buenos días, ¿qué le trae por aquí?"), ("SPEAKER_01", "Me duele la garganta desde hace tres días."),
             ("SPEAKER_00", "Abra la boca, por favor. Le voy a recetar un antiinflamatorio.")] * (400 if long else 1)
    return transcript(*(line(i * 3.0, i * 3.0 + 2.5, who, text, timed=False) for i, (who, text) in enumerate(lines)),
                      path="/consulta.m4a")


@pytest.fixture
def server(request):
    fake = FakeOllama(*getattr(request, "param", ("valid",)))
    yield fake
    fake.close()


def options(host, timeout=5.0):
    return roles.RoleOptions(host=host, model=MODEL, context="una consulta médica en español", timeout=timeout)


def test_a_valid_answer_gives_one_role_per_speaker(server):
    result = roles.suggest(consultation(), options(server.host))
    assert result.roles == {"SPEAKER_00": "Doctor", "SPEAKER_01": "Patient"}
    assert MODEL in result.note
    request = server.requests[-1]
    assert request["model"] == MODEL and request["options"]["temperature"] == 0
    assert request["format"]["properties"]["speakers"]["items"]["properties"]["id"]["enum"] == ["SPEAKER_00", "SPEAKER_01"]
    assert "consulta médica" in request["messages"][0]["content"]


def test_an_hour_long_transcript_sends_bounded_excerpts(server):
    result = roles.suggest(consultation(long=True), options(server.host))
    assert result.roles
    sent = server.requests[-1]["messages"][0]["content"]
    assert len(sent) < 2 * roles.EXCERPT_CHARS + 800
    assert len(json.dumps(consultation(long=True).to_dict())) > 50 * len(sent)


@pytest.mark.parametrize("server", [("invalid",)], indirect=True)
def test_an_answer_that_is_not_json(server):
    result = roles.suggest(consultation(), options(server.host))
    assert result.roles == {} and "not valid JSON" in result.note


@pytest.mark.parametrize("server", [("unknown",)], indirect=True)
def test_an_answer_naming_unknown_speakers(server):
    result = roles.suggest(consultation(), options(server.host))
    assert result.roles == {} and "does not exist (SPEAKER_09)" in result.note


@pytest.mark.parametrize("server", [("slow", 3.0)], indirect=True)
def test_a_slow_answer_times_out(server):
    result = roles.suggest(consultation(), options(server.host, timeout=1.0))
    assert result.roles == {} and "did not answer within 1 s" in result.note


@pytest.mark.parametrize("server", [("missing",)], indirect=True)
def test_a_model_not_pulled_says_which_command_to_run(server):
    result = roles.suggest(consultation(), options(server.host))
    assert result.roles == {} and result.note.endswith(f"Run: ollama pull {MODEL}")


def test_ollama_not_running():
    host = closed_port_host()
    result = roles.suggest(consultation(), options(host))
    assert result.roles == {} and f"Ollama is not running at {host}" in result.note


@pytest.mark.parametrize(
    "reply, words",
    [
        ('{"speakers": [{"id": "SPEAKER_00", "role": "A"}, {"id": "SPEAKER_00", "role": "B"}]}', "twice"),
        ('{"speakers": [{"id": "SPEAKER_00", "role": ""}]}', "no usable role"),
        ('{"people": []}', "did not list"),
        ("[1, 2]", "did not list"),
    ],
)
def test_validation(reply, words):
    with pytest.raises(ValueError, match=words):
        roles.validate(reply, ["SPEAKER_00", "SPEAKER_01"])


@pytest.mark.models
@pytest.mark.parametrize("mode", ["valid", "invalid", "unknown", "slow", "missing", "refused"])
def test_a_job_with_roles_on_completes_whatever_ollama_does(mode, tmp_path, settings, sample):
    from dataclasses import replace

    from app.core.engine import Engine
    from app.core.store import Store

    server = None if mode == "refused" else FakeOllama(mode, delay=3.0)
    host = closed_port_host() if server is None else server.host
    timeout = 1.0 if mode == "slow" else 5.0
    chosen = replace(settings, roles_enabled=True, ollama_host=host, ollama_model=MODEL, ollama_timeout=timeout)
    engine = Engine(Store(tmp_path / "history.db"), settings_now=lambda: chosen)
    try:
        job = engine.add(sample.wav, chosen)
        assert engine.wait(job.id, timeout=300).status == "completed"
        deadline = __import__("time").monotonic() + 30
        while engine._store.job(job.id).note in ("", "Asking Ollama for the speakers' roles…"):
            assert __import__("time").monotonic() < deadline
            __import__("time").sleep(0.1)
        done = engine._store.job(job.id)
        transcript = engine.result(job.id)
        assert [s.name for s in transcript.speakers] == ["Speaker 1", "Speaker 2"], "voices keep their labels"
        if mode == "valid":
            assert engine.roles.suggested(job.id) == {"SPEAKER_00": "Doctor", "SPEAKER_01": "Patient"}
            before = engine.result(job.id).segments
            engine.rename_speaker(job.id, "SPEAKER_00", "Dra. Ruiz")
            engine.roles.suggest(job.id)  # re-run: the typed name stays
            assert engine.result(job.id).segments == before, "timing, text and words untouched"
            assert engine.result(job.id).speaker_names()["SPEAKER_00"] == "Dra. Ruiz"
        else:
            assert engine.roles.suggested(job.id) == {}
            expected = {"invalid": "not valid JSON", "unknown": "does not exist", "missing": "ollama pull",
                        "refused": "not running", "slow": "did not answer within 1 s"}[mode]
            assert expected in done.note
    finally:
        engine.close()
        if server:
            server.close()


@pytest.mark.parametrize("server", [("drip",)], indirect=True)
def test_a_slow_drip_is_cut_off_at_the_whole_calls_deadline(server):
    import time

    started = time.monotonic()
    result = roles.suggest(consultation(), options(server.host, timeout=2.0))
    assert time.monotonic() - started < 4.0
    assert result.roles == {} and "did not answer within 2 s" in result.note


@pytest.mark.parametrize("server", [("huge",)], indirect=True)
def test_an_endless_answer_is_read_only_up_to_its_cap(server):
    result = roles.suggest(consultation(), options(server.host))
    assert result.roles == {} and "ran past 64 KB" in result.note


def test_no_proxy_from_the_environment_and_no_key_to_an_unconfirmed_host(server, monkeypatch):
    # A proxy in the environment (a corporate one, say) must not see the excerpts.
    monkeypatch.setenv("HTTP_PROXY", closed_port_host())
    monkeypatch.setenv("http_proxy", closed_port_host())
    monkeypatch.setenv("ALL_PROXY", closed_port_host())
    monkeypatch.setenv("OLLAMA_API_KEY", "secret-key")
    result = roles.suggest(consultation(), options(server.host))
    assert result.roles, result.note
    assert not any("authorization" in h for h in server.headers), "the key went to a host nobody confirmed"


def test_a_bad_address_leaves_a_note_not_asking_for_ever():
    result = roles.suggest(consultation(), options("localhost:99999"))
    assert result.roles == {} and "port" in result.note


# Consent is read when the excerpts would be sent, not when the job was queued: a job added
# while role naming was on with a confirmed remote host sends nothing once the user unticks
# it, removes the confirmation or points Ollama elsewhere.

@pytest.fixture
def remote(server, monkeypatch):
    """The local fake server, taken for a host off this computer (it needs confirming)."""
    monkeypatch.setattr(hosts, "is_local", lambda host: False)
    return server


@pytest.mark.parametrize("change", ["kept", "roles off", "confirmation removed", "another host"])
def test_a_queued_job_sends_excerpts_only_with_the_consent_in_force_when_it_finishes(remote, tmp_path, settings,
                                                                                     change):
    from dataclasses import replace

    import numpy as np

    from app.core.engine import Engine
    from app.core.store import Store
    from tests import media
    from tests.scripted_worker import ScriptedWorker, finishes

    wav = media.write_wav(tmp_path / "consulta.wav", (np.random.default_rng(0).standard_normal(16000) * 0.1).astype("f4"))
    consent = replace(settings, roles_enabled=True, ollama_host=remote.host, ollama_confirmed_host=remote.host,
                      ollama_model=MODEL, ollama_timeout=5.0)
    current = [consent]
    spawned = []
    engine = Engine(Store(tmp_path / "history.db"), spawn=spawned.append, settings_now=lambda: current[0],
                    worker_factory=lambda: ScriptedWorker(finishes))
    try:
        job = engine.add(wav, consent)
        current[0] = {"kept": replace(consent, ollama_api_key="key-now"),
                      "roles off": replace(consent, roles_enabled=False),
                      "confirmation removed": replace(consent, ollama_confirmed_host=""),
                      "another host": replace(consent, ollama_host=closed_port_host())}[change]
        while spawned:  # the job runs to its end, then role naming if it is still wanted
            spawned.pop(0)()
        assert engine.job(job.id).status == "completed"
        if change == "kept":
            assert engine.roles.suggested(job.id) == {"SPEAKER_00": "Doctor"}
            assert server_saw_key(remote, "key-now"), "the key is read now too (jobs never store it)"
        else:
            assert remote.requests == [] and remote.headers == [], "excerpts went where consent was withdrawn"
            assert engine.roles.suggested(job.id) == {}
    finally:
        engine.close()


def server_saw_key(server, key: str) -> bool:
    return any(h.get("authorization") == f"Bearer {key}" for h in server.headers)


def test_consent_withdrawn_while_asking_stops_the_excerpts_before_they_leave(remote):
    consent = roles.RoleOptions(remote.host, MODEL, timeout=5.0, confirmed_host=remote.host)
    # Consent holds for the first look and the model list, then is withdrawn: the
    # conversation itself is never sent.
    result = roles.suggest(consultation(), lambda: None if remote.headers else consent)
    assert remote.requests == [] and len(remote.headers) == 1, "only the model list was asked for"
    assert result.roles == {} and "turned off" in result.note
    remote.headers.clear()
    result = roles.suggest(consultation(), lambda: None)
    assert remote.headers == [] and result.roles == {}
    assert roles.suggest(consultation(), lambda: consent).roles, "and with consent it works"
