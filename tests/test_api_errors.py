"""Every answer under /api/ is JSON in the error shape, whichever layer refuses the
request: the API's views, Django's URL resolver and middleware, a crash, or an endpoint
added later that knows nothing of it."""

import pytest
from django.test import Client

from pyvision.api import errors
from pyvision.api.middleware import MAX_URL_BYTES

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    # A crash is answered as in production, not raised into the test.
    return Client(raise_request_exception=False)


def assert_error(response, status: int, code: str) -> dict:
    assert (response.status_code, response["Content-Type"]) == (status, "application/json"), response.content[:300]
    error = response.json()["error"]
    assert error["code"] == code and code in errors.CODES and error["message"]
    return error


@pytest.mark.parametrize("method, path", [
    ("get", "/api/v1/recognitions/null,null"),
    ("delete", "/api/v1/recognitions/null,null"),
    ("get", "/api/v1/recognitions/00000000-0000-0000-0000-00000000000g"),
    ("get", "/api/v1/nothing"),
    ("post", "/api/v2/recognitions"),
    ("get", "/api/"),
])
def test_any_unknown_path_or_id_is_a_json_404(client, method, path):
    assert_error(getattr(client, method)(path), 404, errors.NOT_FOUND)


def test_pages_outside_the_api_keep_their_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_a_host_the_server_does_not_answer_to_is_a_json_400(client):
    assert_error(client.get("/api/v1/models", HTTP_HOST="attacker.example"), 400, errors.BAD_REQUEST)


def test_a_method_not_allowed_says_which_are(client):
    response = client.put("/api/v1/models")
    assert_error(response, 405, errors.METHOD_NOT_ALLOWED)
    assert "GET" in response["Allow"]


def test_an_accept_header_without_json_is_a_json_406(client):
    assert_error(client.get("/api/v1/models", HTTP_ACCEPT="text/html"), 406, errors.NOT_ACCEPTABLE)


def test_a_url_over_the_limit_is_a_json_414_and_one_under_it_is_answered(client):
    path = "/api/v1/models?padding="  # a parameter the API ignores
    assert client.get(path + "a" * (MAX_URL_BYTES - len(path))).status_code == 200
    assert_error(client.get(path + "a" * (MAX_URL_BYTES - len(path) + 1)), 414, errors.URI_TOO_LONG)


@pytest.mark.urls("tests.api_added_later")
def test_an_endpoint_added_later_answers_every_error_in_the_shape(client):
    endpoint = "/api/v1/hundredths"
    assert client.post(endpoint, {"n": 4}, content_type="application/json").json() == {"n": 25}
    assert_error(client.post(endpoint, {"n": 0}, content_type="application/json"), 500, errors.INTERNAL_ERROR)
    assert_error(client.post(endpoint, '{"n": ', content_type="application/json"), 400, errors.PARSE_ERROR)
    assert_error(client.post(endpoint, {"n": "many"}, content_type="application/json"), 400, errors.INVALID_REQUEST)
    assert_error(client.post(endpoint, "n=4", content_type="text/plain"), 415, errors.UNSUPPORTED_MEDIA_TYPE)
    assert_error(client.get(endpoint), 405, errors.METHOD_NOT_ALLOWED)
    # A plain Django view: Django's empty 405 becomes the shape, its Allow header kept.
    refused = client.get("/api/v1/plain")
    assert_error(refused, 405, errors.METHOD_NOT_ALLOWED)
    assert refused["Allow"] == "POST"
