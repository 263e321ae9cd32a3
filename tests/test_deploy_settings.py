"""Production settings pass Django's deployment checklist."""

import os
import secrets
import subprocess
import sys


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {**os.environ, "PYVISION_DATA_DIR": str(tmp_path), "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
           "PYVISION_HTTPS": "1", "PYVISION_ALLOWED_HOSTS": "photos.example.org"}
    env.pop("PYVISION_DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "pyvision", "manage", "check", "--deploy", "--fail-level", "WARNING"],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout
