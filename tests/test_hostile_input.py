"""Every kind of hostile, broken or awkward file sent to the API ends in a 4xx with a
code or a recognition done or failed with a code: never a 500, never a user's name on
disk, never the pixels of a bomb in memory."""

import io
import json
import subprocess
import sys

import pytest
from rest_framework.test import APIClient

from pyvision.recognition import worker
from pyvision.recognition.models import Recognition
from tests import bad_images

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]



def send(client, data: bytes, name: str):
    upload = io.BytesIO(data)
    upload.name = name
    return client.post("/api/v1/recognitions", {"image": upload}, format="multipart")


@pytest.mark.parametrize("name", bad_images.corpus())
def test_each_file_of_the_corpus_ends_as_expected(name):
    data, expected = bad_images.corpus()[name]
    client = APIClient()
    response = send(client, data, name)
    assert response.status_code == 202, response.content[:300]
    worker.run(response.json()["id"])
    result = client.get(response["Location"]).json()
    if expected == "done":
        assert result["status"] == "done" and len(result["predictions"]) == 5
    else:
        assert result["status"] == "failed" and result["predictions"] == []
        assert result["error"]["code"] == expected
        assert len(result["error"]["message"]) > 10 and "Traceback" not in result["error"]["message"]


def test_zero_bytes_are_refused_at_once():
    client = APIClient()
    response = send(client, b"", "empty.jpg")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert "image" in response.json()["error"]["fields"]
    base64_empty = client.post("/api/v1/recognitions", {"image_base64": ""}, format="json")
    assert base64_empty.status_code == 400
    assert Recognition.objects.count() == 0


@pytest.mark.parametrize("name", [
    "../../../etc/passwd",
    "..\\..\\windows\\system32\\photo.png",
    "/absolute/path/photo.png",
    "photo\x00.png",
    "<script>alert(1)</script>.png",
])
def test_the_stored_name_is_never_the_users(media, name):
    response = send(APIClient(), bad_images.encode(bad_images._solid(), "PNG"), name)
    assert response.status_code == 202
    image = Recognition.objects.get(pk=response.json()["id"]).image
    stored = [p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file()]
    assert stored == [image.file.name]
    assert stored[0].startswith("images/") and ".." not in stored[0] and "\\" not in stored[0]
    assert "passwd" not in stored[0] and "script" not in stored[0] and "photo" not in stored[0]


def test_a_10000_character_filename_is_refused_as_a_bad_body(media):
    response = send(APIClient(), bad_images.encode(bad_images._solid(), "PNG"), "x" * 10_000 + ".png")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]


# Run in a child process whose address space is capped at 256 MB above what it uses:
# allocating the pixels of any of these bombs (0.8 to 30 GB) would fail there.
BOMBS_UNDER_A_MEMORY_CAP = """
import json, resource, sys
from pyvision.engine.decode import decode
from pyvision.engine.errors import ImageError
from tests import bad_images

def vm_bytes():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024

control = bad_images.decompression_bomb()  # made before the cap: making it needs its pixels
cap = vm_bytes() + 256 * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
results = {}
for name, make in bad_images.HEADER_BOMBS.items():
    try:
        decode(make())
        results[name] = "decoded"
    except ImageError as exc:
        results[name] = exc.code
# The control: with the pixel limit lifted, a bomb's pixels do not fit under the cap.
try:
    decode(control, max_pixels=10**12)
    results["control"] = "decoded"
except ImageError as exc:
    results["control"] = exc.code
print(json.dumps(results))
"""


def test_decompression_bombs_are_refused_from_the_header_without_allocating_their_pixels():
    for make in bad_images.HEADER_BOMBS.values():
        assert len(make()) < 200  # a header and nothing else
    child = subprocess.run([sys.executable, "-c", BOMBS_UNDER_A_MEMORY_CAP], capture_output=True, text=True,
                           timeout=60, env={"OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
                           cwd=bad_images.__file__.rsplit("/tests/", 1)[0])
    assert child.returncode == 0, child.stderr
    results = json.loads(child.stdout)
    assert results == {"png": "too_many_pixels", "gif": "too_many_pixels", "webp": "too_many_pixels",
                       "tiff": "too_many_pixels", "control": "corrupt_image"}
