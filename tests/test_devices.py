from __future__ import annotations

import pytest

from app.core.common import devices
from app.core.common.errors import UserError


def test_auto_prefers_cuda_then_mps_then_cpu():
    assert devices.plan("auto", found=["cuda", "cpu"]).whisper_device == "cuda"
    assert devices.plan("auto", found=["mps", "cpu"]).diarizer_device == "coreml"
    assert devices.plan("auto", found=["cpu"]) == devices.DevicePlan("cpu", "int8", "cpu")


def test_compute_type_follows_the_device():
    assert devices.plan("cuda", found=["cuda", "cpu"]).compute_type == "float16"
    assert devices.plan("cpu", found=["cuda", "cpu"]).compute_type == "int8"
    assert devices.plan("cpu", "float32", found=["cpu"]).compute_type == "float32"
    with pytest.raises(UserError, match="needs a CUDA GPU"):
        devices.plan("cpu", "float16", found=["cpu"])


def test_mps_means_cpu_for_whisper_and_says_so():
    plan = devices.plan("mps", found=["mps", "cpu"])
    assert (plan.whisper_device, plan.compute_type, plan.diarizer_device) == ("cpu", "int8", "coreml")
    assert "CPU" in plan.note and "Metal" in plan.note


def test_asking_for_a_missing_device_is_a_clear_error():
    with pytest.raises(UserError, match="not available on this computer"):
        devices.plan("cuda", found=["cpu"])


def test_this_machine_always_has_a_cpu():
    assert devices.available()[-1] == "cpu"


def test_on_a_mac_the_label_says_the_voices_run_on_coreml_even_with_cpu(monkeypatch):
    monkeypatch.setattr(devices.platform, "system", lambda: "Darwin")
    plan = devices.plan("cpu", found=["mps", "cpu"])
    assert plan.diarizer_device == "coreml" and "coreml" in plan.label
