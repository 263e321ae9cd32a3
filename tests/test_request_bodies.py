"""Request bodies at the API's limits and past them: a JSON body nested too deep, too
large for memory, or a form with too many files is refused with a code and a message
that says why, never a 500 nor the generic bad request; a base64 image under the upload
limit fits in a JSON body."""

import base64
import json

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests import bad_images

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

CLASSIFY = "/api/v1/classify"
RECOGNITIONS = "/api/v1/recognitions"


def post_json(path: str, text: str):
    return APIClient().generic("POST", path, text, content_type="application/json")


@pytest.mark.parametrize("path, field", [(CLASSIFY, "images"), (RECOGNITIONS, "url")])
def test_json_nested_deeper_than_the_parser_goes_is_a_parse_error(path, field):
    response = post_json(path, f'{{"{field}": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["code"] == "parse_error"


def padded_photo(size: int) -> bytes:
    """A photo of ``size`` bytes: a JPEG, then zeros that decoders ignore."""
    photo = bad_images.encode(bad_images._solid(size=(64, 48)), "JPEG")
    return photo + bytes(size - len(photo))


def test_a_base64_image_just_under_the_upload_limit_fits_in_a_json_body():
    image = base64.b64encode(padded_photo(settings.MAX_UPLOAD_BYTES - 1024)).decode()
    response = post_json(RECOGNITIONS, json.dumps({"image_base64": image}))
    assert response.status_code == 202, response.content[:300]


def test_a_json_body_over_what_memory_holds_is_a_413_that_points_to_multipart():
    image = base64.b64encode(bytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)).decode()
    response = post_json(CLASSIFY, json.dumps({"images": [{"image_base64": image}]}))
    assert response.status_code == 413, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "file_too_large" and "multipart" in error["message"]


def test_a_form_with_more_files_than_any_request_takes_says_so():
    photo = bad_images.encode(bad_images._solid(), "PNG")
    files = [("image", (f"{i}.png", photo, "image/png")) for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)]
    body, content_type = encode_multipart(files)
    response = APIClient().generic("POST", CLASSIFY, body, content_type=content_type)
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and str(settings.DATA_UPLOAD_MAX_NUMBER_FILES) in error["message"]


def encode_multipart(files: list[tuple[str, tuple[str, bytes, str]]]) -> tuple[bytes, str]:
    boundary = "pyvision-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
             f"Content-Type: {kind}\r\n\r\n".encode() + data + b"\r\n" for field, (name, data, kind) in files]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
