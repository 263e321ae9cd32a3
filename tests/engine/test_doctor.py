"""`pyvision doctor` says what the CPU can do and whether each model gives the answers it
was built to give; eval and bench take the float reference too, to compare on one's own CPU."""

import json
import platform
import subprocess
import sys

import pytest

from pyvision import cli
from pyvision.engine import selfcheck
from pyvision.engine.classifier import Classifier


def pyvision(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pyvision", *arguments], capture_output=True, text=True, timeout=120)


def test_doctor_reports_the_cpu_the_runtime_and_that_both_models_agree():
    done = pyvision("doctor", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    expected_features = {"neon", "dot_product", "i8mm"} if platform.machine().lower() in ("aarch64", "arm64") \
        else {"avx2", "avx512", "vnni"}
    assert set(report["cpu"]["features"]) == expected_features
    assert "CPUExecutionProvider" in report["runtime"]["providers"] and report["runtime"]["onnxruntime"]
    models = {check["model"]: check for check in report["models"]}
    assert set(models) == {"lite0", "lite2"}
    for check in models.values():
        assert check["agrees"] and check["mean_distance"] <= selfcheck.MAX_MEAN_DISTANCE
        assert len(check["photos"]) == 5


def test_doctor_in_words():
    done = pyvision("doctor")
    assert done.returncode == 0
    assert "lite0 agrees with its float reference" in done.stdout
    assert "onnxruntime" in done.stdout and ("avx2" in done.stdout or "neon" in done.stdout)


@pytest.mark.django_db  # doctor also reads the service's database, for the custom models
def test_a_model_that_answers_otherwise_fails_the_doctor(monkeypatch, capsys):
    # Served lite2 where lite0's answers are expected: the kind of drift a saturating CPU causes, and more.
    real = selfcheck.check
    monkeypatch.setattr(selfcheck, "checked_models", lambda: ["lite0"])
    monkeypatch.setattr(selfcheck, "check", lambda classifier: real(Classifier("lite2"), "lite0"))
    assert cli.main(["doctor"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_the_float_reference_is_a_model_eval_and_bench_accept(tmp_path, photo):
    (tmp_path / "n07920052_espresso.png").write_bytes(photo("coffee.png"))
    done = pyvision("eval", str(tmp_path), "--model", "lite0-fp32", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"model": "lite0-fp32", "n": 1, "top1": 1.0, "top5": 1.0,
                                       "hedged": 1.0, "hedged_depth": 7.0}
    done = pyvision("bench", "--model", "lite0-fp32", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["model"] == "lite0-fp32"


@pytest.mark.parametrize("command", ["eval", "bench"])
def test_an_unknown_model_lists_the_choices(command, tmp_path):
    done = pyvision(command, *([str(tmp_path)] if command == "eval" else []), "--model", "lite9")
    assert done.returncode == 2 and "lite0-fp32" in done.stderr
