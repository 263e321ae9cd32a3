"""The systemd units in deploy/ are valid, as `systemd-analyze verify` reads them."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).parent.parent / "deploy"
CHECKOUT = "/srv/pyvision"


@pytest.mark.parametrize("unit", ["pyvision-web.service", "pyvision-worker.service"])
def test_the_unit_verifies_and_runs_pyvision_as_its_own_user(tmp_path, unit):
    text = (DEPLOY / unit).read_text()
    assert "User=pyvision" in text and "Restart=always" in text
    # verify checks that the program exists: point the unit at this checkout's.
    local = tmp_path / unit
    local.write_text(text.replace(f"{CHECKOUT}/.venv/bin/", f"{Path(sys.executable).parent}/"))
    done = subprocess.run([shutil.which("systemd-analyze") or "systemd-analyze", "verify", str(local)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "is not" not in done.stderr and "Unknown" not in done.stderr, done.stderr
