"""The OpenAPI schema describes what the API really answers, errors included, for the
endpoints of today and those added later; its examples are valid and the docs need no
other site."""

import base64
import io
import re

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from openapi_core.testing import MockRequest
from openapi_schema_validator import OAS31Validator
from rest_framework.test import APIClient

from pyvision.api.models import ApiToken
from pyvision.recognition import worker

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
# What the stack may answer to any request; see pyvision/api/schema.py.
EVERY_OPERATION = {"400", "401", "403", "406", "414", "500", "503"}


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def openapi(schema):
    return OpenAPI.from_dict(schema)


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method, path, operation


@pytest.fixture
def api():
    user = User.objects.create_user("carol", password="a long passphrase 3")
    _token, key = ApiToken.create(user, "schema test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_real_responses_match_the_schema(openapi, api, photo):
    png = photo("chelsea.png")
    created = api.post("/api/v1/recognitions", {"image_base64": base64.b64encode(png).decode()}, format="json")
    worker.run(created.json()["id"])
    failed = api.post("/api/v1/recognitions", {"image": io.BytesIO(b"not an image at all")}, format="multipart")
    worker.run(failed.json()["id"])
    location = created["Location"]
    responses = [
        created,
        failed,
        api.get(location),
        api.get(failed["Location"]),
        api.get(location + "?lang=zh-hans"),
        api.get("/api/v1/recognitions?status=done"),
        api.get("/api/v1/synsets?q=cat&lang=zh-hans"),
        api.get("/api/v1/models"),
        api.post("/api/v1/recognitions", {"top_k": 99}, format="json"),
        api.post("/api/v1/recognitions", {"url": "http://127.0.0.1/x.png"}, format="json"),
        api.get("/api/v1/recognitions/00000000-0000-0000-0000-000000000000"),
        api.get("/api/v1/recognitions/null,null"),
        api.get("/api/v1/synsets?q="),
        api.get("/api/v1/synsets?page=1000"),
        api.get("/api/v1/models?padding=" + "x" * 5000),
        api.get("/api/v1/models", HTTP_ACCEPT="text/html"),
        api.post("/api/v1/recognitions", "image=x", content_type="text/plain"),
        APIClient().get("/api/v1/models", HTTP_AUTHORIZATION="Token wrong"),
        api.delete(location),
    ]
    statuses = [r.status_code for r in responses]
    assert statuses == [202, 202, 200, 200, 200, 200, 200, 200, 400, 400, 404, 404, 400, 404, 414, 406, 415, 401, 204]
    for response in responses:
        # The request only locates the operation: its multipart body was read already.
        request = MockRequest("http://testserver", response.wsgi_request.method, response.wsgi_request.path)
        openapi.validate_response(request, DjangoOpenAPIResponse(response))


def test_requests_as_documented_are_accepted(openapi, api):
    response = api.post("/api/v1/recognitions?wait=0", {"url": "https://example.org/cat.jpg", "top_k": 3}, format="json")
    openapi.validate_request(DjangoOpenAPIRequest(response.wsgi_request))


@pytest.mark.usefixtures("static_from_apps")
def test_the_docs_page_loads_nothing_from_other_sites(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r'(src|href)="(https?:)?//', html), html
    # The page's script is a file of its own (the Content-Security-Policy allows no inline one).
    assert '"validatorUrl": null' in client.get("/api/docs/?script=").content.decode()
    assets = re.findall(r'(?:src|href)="/static/([^"]+)"', html)
    assert assets, html
    for asset in assets:
        assert finders.find(asset), asset


def test_every_operation_documents_the_errors_it_can_get(schema):
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        expected = set(EVERY_OPERATION)
        if "requestBody" in operation:
            expected |= {"413", "415"}
        if "{" in path or any(p["name"] == "page" for p in operation.get("parameters", [])):
            expected.add("404")
        assert expected <= set(responses), (method, path, expected - set(responses))
        for status in expected:
            assert responses[status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    create = schema["paths"]["/api/v1/recognitions"]["post"]["responses"]
    assert create["429"]["headers"]["Retry-After"]["required"]
    assert create["503"]["headers"]["Retry-After"]["required"]
    assert "`queue_full`" in create["503"]["description"]


def test_anonymous_use_is_documented_while_it_is_allowed(client, settings):
    assert all({} in operation["security"] for _m, _p, operation in operations(client.get("/api/schema/?format=json").json()))
    settings.ALLOW_ANONYMOUS = False
    assert not any({} in operation["security"] for _m, _p, operation in operations(client.get("/api/schema/?format=json").json()))


@pytest.mark.urls("tests.api_added_later")
def test_an_endpoint_added_later_is_documented_like_the_others(schema):
    operation = schema["paths"]["/api/v1/hundredths"]["post"]
    assert EVERY_OPERATION | {"200", "413", "415"} <= set(operation["responses"])
    assert {} in operation["security"]


def test_creating_a_recognition_links_to_reading_deleting_and_finding_similar_photos(schema):
    detail = schema["paths"]["/api/v1/recognitions/{id}"]
    similar = schema["paths"]["/api/v1/recognitions/{id}/similar"]
    for status in ("201", "202"):
        links = schema["paths"]["/api/v1/recognitions"]["post"]["responses"][status]["links"]
        assert {link["operationId"] for link in links.values()} == {
            detail["get"]["operationId"], detail["delete"]["operationId"], similar["get"]["operationId"]}
        assert all(link["parameters"] == {"id": "$response.body#/id"} for link in links.values())


def test_every_example_is_valid_against_its_schema(schema):
    examples = 0
    for _method, _path, operation in operations(schema):
        bodies = [operation.get("requestBody", {}), *operation["responses"].values()]
        for media in (media for body in bodies for media in body.get("content", {}).values()):
            for name, example in media.get("examples", {}).items():
                # The components beside the schema, for its "#/components/..." references.
                OAS31Validator({**media["schema"], "components": schema["components"]}).validate(example["value"])
                examples += 1
    assert examples >= 2
