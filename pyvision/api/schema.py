"""The OpenAPI schema says what the API does, including what every endpoint shares and
so is written here once, for the endpoints of today and those added later: the error
answers the stack can give, anonymous use while it is allowed, and links from the
operation that creates an object to the operations on it."""

import re

from drf_spectacular import authentication, openapi

from . import errors
from .permissions import AnonymousIfAllowed
from .serializers import ErrorResponseSerializer

# Any request may get these: a malformed request, a wrong parameter or a Host not served
# (400), a wrong or revoked token (401), a CSRF or permission refusal (403), an Accept
# header without JSON (406), a URL over the limit (414), headers over the web server's
# limit (431), a crash (500), the database or the storage down (503).
EVERY_OPERATION = (400, 401, 403, 406, 414, 431, 500, 503)
# A body that is too large or neither JSON nor multipart.
WITH_A_BODY = (413, 415)
HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Token`: the scheme the API takes."}},
    429: {"Retry-After": {"schema": {"type": "integer"}, "required": True, "description": "Seconds to wait."}},
    503: {"Retry-After": {"schema": {"type": "integer"}, "required": True, "description": "Seconds to wait."}},
}


class AutoSchema(openapi.AutoSchema):
    def get_auth(self):
        auths = super().get_auth()
        if any(isinstance(p, AnonymousIfAllowed) and p.allows_anonymous() for p in self.view.get_permissions()):
            auths.append({})
        return auths

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        statuses = set(EVERY_OPERATION)
        if "requestBody" in operation:
            statuses.update(WITH_A_BODY)
        if "{" in path:
            statuses.add(404)  # no such object, or not yours
        if self.view.get_throttles():
            statuses.add(429)
        if any(parameter["name"] == "page" for parameter in operation.get("parameters", [])):
            statuses.add(404)  # a page past the last
        responses = operation["responses"]
        # With those a view declares (a 429 of its own counting...): every error has the
        # one shape, its codes and its headers.
        statuses |= {int(code) for code in responses if int(code) >= 400}
        error = {"application/json": {"schema": self.resolve_serializer(ErrorResponseSerializer, "response").ref}}
        for status in statuses:
            responses[str(status)] = {"description": responses.get(str(status), {}).get("description") or describe(status),
                                      "content": error, **({"headers": HEADERS[status]} if status in HEADERS else {})}
        operation["responses"] = dict(sorted(responses.items()))
        return operation


def describe(status: int) -> str:
    codes = [f"`{code}`" for code, (code_status, _message) in errors.CODES.items() if code_status == status]
    return "`error.code`: " + ", ".join(codes) + "."


def link_created_objects(result, generator, request, public):
    """A postprocessing hook: the 201 or 202 answer to a `POST /things` (the created
    object, with its `id`) links to every operation on `/things/{id}` and `/things/{id}/more`, so that clients
    and fuzzers can follow them from the object just made."""
    paths = result["paths"]
    for path, operations in paths.items():
        created = [answer for status, answer in operations.get("post", {}).get("responses", {}).items()
                   if status in ("201", "202")]
        for object_path, object_operations in paths.items():
            parameter = re.fullmatch(re.escape(path) + r"/\{(\w+)\}(/\w+)?", object_path)
            if not parameter or not created:
                continue
            links = {operation["operationId"]: {"operationId": operation["operationId"],
                                                "parameters": {parameter[1]: "$response.body#/id"}}
                     for operation in object_operations.values() if isinstance(operation, dict) and "operationId" in operation}
            for answer in created:
                answer.setdefault("links", {}).update(links)
    return result


class SessionScheme(authentication.SessionScheme):
    """The site's session as DRF's (cookie `sessionid`), which it extends to check CSRF
    for anonymous sessions too."""

    target_class = "pyvision.api.authentication.SessionAuthentication"
