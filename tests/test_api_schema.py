"""The OpenAPI schema describes what the API really answers, and the docs need no
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
from rest_framework.test import APIClient

from pyvision.api.models import ApiToken
from pyvision.recognition import worker

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


@pytest.fixture
def openapi(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return OpenAPI.from_dict(response.json())


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
        APIClient().get("/api/v1/models", HTTP_AUTHORIZATION="Token wrong"),
        api.delete(location),
    ]
    statuses = [r.status_code for r in responses]
    assert statuses == [202, 202, 200, 200, 200, 200, 200, 200, 400, 400, 404, 401, 204]
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
    assert '"validatorUrl": null' in html
    assets = re.findall(r'(?:src|href)="/static/([^"]+)"', html)
    assert assets, html
    for asset in assets:
        assert finders.find(asset), asset
