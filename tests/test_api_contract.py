"""The API keeps the contract its OpenAPI schema states, on the real service (`pyvision
run`): Schemathesis fuzzes it with users' tokens and with anonymous sessions, every
check on and links followed (a deleted recognition is 404, another owner's is 404), and
a client generated from the schema creates, reads and deletes a recognition.

PYVISION_FUZZ_EXAMPLES sets Schemathesis' examples per operation (default 25, about a
minute for both runs); `PYVISION_FUZZ_EXAMPLES=500 pytest tests/test_api_contract.py -s`
fuzzes longer and prints its report.
"""

import json
import os
import re
import subprocess
import sys

import pytest
import requests

from tests.live_service import LiveService

MAX_EXAMPLES = int(os.environ.get("PYVISION_FUZZ_EXAMPLES", "25"))
CAT_CLASSES = {"n02123045", "n02123159", "n02124075"}  # tabby, tiger cat, Egyptian cat

SCHEMATHESIS_CONFIG = """
[cache]
# Each run starts from nothing: what one run learnt must not decide the next.
enabled = false

[generation]
max-examples = {max_examples}

[checks.negative_data_rejection]
# Schemathesis' list, plus 413 and 414: a body or URL past the limits is refused too.
expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 414, 415, 422, 428, 429, "5XX"]

[phases.fuzzing.error-feedback]
# It reads DRF's {{field: [messages]}} at the top of an error body; ours sit in
# error.fields, which it takes for a property of the request body and then generates.
enabled = false

[auth.wfc]
path = "{identities}"
user = "{owner}"
# Schemathesis replays the owner's reads as the other one: object-level authorization.
peers = ["{owner}", "{other}"]

[[operations]]
include-operation-id = "recognitions_create"
# A `url` is fetched from the internet, which the tests do not reach, and `image_base64`
# is any string to the schema: a valid request may be refused with 400 url_host_not_found
# or invalid_base64.
checks.positive_data_acceptance.enabled = false
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    # The fuzzer creates hundreds of recognitions a minute; the rate limits are tested in test_api.py.
    running = LiveService(tmp_path_factory.mktemp("contract") / "data",
                          PYVISION_RATE_USER="100000/min", PYVISION_RATE_ANON="100000/min")
    yield running
    assert running.stop() == 0


def anonymous_session(service, photo) -> str:
    """The session cookie of a browser that opened the site and recognised a photo
    through the API (a client that sends no cookie gets none)."""
    browser = requests.Session()
    assert browser.get(f"{service.url}/", timeout=30).status_code == 200
    created = browser.post(f"{service.url}/api/v1/recognitions", files={"image": ("cat.png", photo("chelsea.png"))},
                           headers={"X-CSRFToken": browser.cookies["csrftoken"]}, timeout=30)
    assert created.status_code == 202, created.text[:300]
    return browser.cookies["sessionid"]


def identities(service, photo, kind: str) -> dict[str, tuple[str, str]]:
    """Two identities of one kind that must not see each other's recognitions: their
    names, with the header each sends."""
    if kind == "users":
        return {name: ("Authorization", f"Token {service.create_token(name)}") for name in ("alice", "bob")}
    return {name: ("Cookie", f"sessionid={anonymous_session(service, photo)}") for name in ("anonymous-a", "anonymous-b")}


@pytest.mark.parametrize("kind", ["users", "anonymous"])
def test_schemathesis_finds_the_api_as_its_schema_says(service, photo, tmp_path, kind):
    people = identities(service, photo, kind)
    (tmp_path / "identities.json").write_text(json.dumps({"auth": [
        {"name": name, "fixedHeaders": [{"name": header, "value": value}]} for name, (header, value) in people.items()]}))
    owner, other = people
    (tmp_path / "schemathesis.toml").write_text(SCHEMATHESIS_CONFIG.format(
        max_examples=MAX_EXAMPLES, identities=tmp_path / "identities.json", owner=owner, other=other))
    done = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", "schemathesis.toml", "run", "--no-color",
         f"{service.url}/api/schema/?format=json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900)
    print(done.stdout)
    assert done.returncode == 0, done.stdout[-30000:] + done.stderr[-3000:]
    # The stateful phase ran and followed the links from a created recognition.
    assert "Stateful" in done.stdout and "API Links:" in done.stdout


def test_a_client_generated_from_the_schema_creates_reads_and_deletes(service, photo, tmp_path, monkeypatch):
    (tmp_path / "schema.json").write_text(service.http.get(f"{service.url}/api/schema/?format=json", timeout=30).text)
    # No formatter run on the code: ruff is not needed to use it.
    (tmp_path / "config.json").write_text(json.dumps({"post_hooks": []}))
    subprocess.run([sys.executable, "-m", "openapi_python_client", "generate", "--path", "schema.json",
                    "--config", "config.json", "--meta", "none", "--output-path", "pyvision_client"],
                   cwd=tmp_path, check=True, capture_output=True, text=True, timeout=300)
    monkeypatch.syspath_prepend(str(tmp_path))
    # Generated above: it can only be imported now.
    from pyvision_client import AuthenticatedClient, models
    from pyvision_client.api.v1 import recognitions_create, recognitions_destroy, recognitions_retrieve
    from pyvision_client.types import File

    client = AuthenticatedClient(base_url=service.url, token=service.create_token("carol"), prefix="Token")
    upload = models.RecognitionUploadRequest(image=File(payload=photo("chelsea.png"), file_name="cat.png"),
                                             top_k=3, lang=models.LangEnum.ZH_HANS)
    created = recognitions_create.sync_detailed(client=client, body=upload, wait=30)
    assert created.status_code == 201, created.content[:300]
    recognition = created.parsed
    assert isinstance(recognition, models.Recognition) and recognition.status == models.StatusEnum.DONE
    assert len(recognition.predictions) == 3
    top = recognition.predictions[0]
    assert top.wnid in CAT_CLASSES and top.label == re.split("[,，]", top.names["zh-hans"])[0]

    read = recognitions_retrieve.sync(client=client, id=recognition.id)
    assert isinstance(read, models.Recognition) and read.predictions[0].wnid == top.wnid

    assert recognitions_destroy.sync_detailed(client=client, id=recognition.id).status_code == 204
    gone = recognitions_retrieve.sync(client=client, id=recognition.id)
    assert isinstance(gone, models.ErrorResponse) and gone.error.code == "not_found"


def test_the_server_answers_a_long_url_in_json_not_in_its_own_html(service):
    # Past the API's limit, under the web server's own (pyvision.webserver: 64 kB of headers).
    response = service.http.get(f"{service.url}/api/v1/models?padding={'x' * 6000}", timeout=30)
    assert (response.status_code, response.headers["Content-Type"]) == (414, "application/json")
    assert response.json()["error"]["code"] == "uri_too_long"
