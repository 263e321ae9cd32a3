"""Production settings pass Django's deployment checklist."""

import os
import secrets
import subprocess
import sys


def production(tmp_path, **more) -> dict:
    env = {**os.environ, "PYVISION_DATA_DIR": str(tmp_path), "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
           "PYVISION_HTTPS": "1", "PYVISION_ALLOWED_HOSTS": "photos.example.org", **more}
    env.pop("PYVISION_DEBUG", None)
    return env


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = production(tmp_path)
    done = subprocess.run([sys.executable, "-m", "pyvision", "manage", "check", "--deploy", "--fail-level", "WARNING"],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def hsts_header(env: dict) -> str:
    code = ("from django.test import Client; print(Client().get('/api/v1/nothing-here', secure=True, "
            "HTTP_HOST='photos.example.org')['Strict-Transport-Security'])")
    done = subprocess.run([sys.executable, "-m", "pyvision", "manage", "shell", "--no-imports", "-c", code],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_hsts_binds_subdomains_and_preload_lists_only_when_asked(tmp_path):
    assert hsts_header(production(tmp_path)) == "max-age=31536000"
    asked = production(tmp_path, PYVISION_HSTS_SUBDOMAINS="1", PYVISION_HSTS_PRELOAD="1", PYVISION_HSTS_SECONDS="63072000")
    assert hsts_header(asked) == "max-age=63072000; includeSubDomains; preload"
