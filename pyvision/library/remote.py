"""Classify through a pyvision server's ``POST /api/v1/classify``: a laptop tags its
library with a stronger machine's cores. Busy answers are waited out, not failed."""

import time
import requests

from pyvision.engine.classifier import Prediction
from pyvision.engine.pipeline import Failure

from .keywords import label, synset
from .tagging import BackendRefused

MAX_IMAGES = 16  # what one request to /api/v1/classify may carry
MAX_TOP_K = 10
RETRIED = {429, 503}
SERVER_UNREACHABLE = "server_unreachable"


class Server:
    def __init__(self, url: str, *, token: str = "", model: str, top: int, attempts: int = 8, timeout: float = 120):
        self.endpoint = url.rstrip("/") + "/api/v1/classify"
        self.model, self.top, self.attempts, self.timeout = model, top, attempts, timeout
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Token {token}"

    def classify(self, files: list[tuple[str, bytes]]) -> list[list[Prediction] | Failure]:
        """One outcome per file, in order."""
        outcomes = []
        for start in range(0, len(files), MAX_IMAGES):
            outcomes.extend(self._request(files[start:start + MAX_IMAGES]))
        return outcomes

    def _request(self, files: list[tuple[str, bytes]]) -> list[list[Prediction] | Failure]:
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(wait)
            try:
                response = self.http.post(self.endpoint, files=[("image", f) for f in files],
                                          data={"model": self.model, "top_k": self.top}, timeout=self.timeout)
            except requests.RequestException as exc:
                failure, wait = Failure(SERVER_UNREACHABLE, str(exc)), backoff(attempt)
                continue
            if response.status_code in RETRIED:
                failure = Failure(error_code(response), "The server stayed busy.")
                wait = retry_after(response) or backoff(attempt)
                continue
            if response.status_code == 413 and len(files) > 1:
                # One file over the server's upload limit: the others still go, one by one.
                return [outcome for f in files for outcome in self._request([f])]
            if response.status_code == 413:
                return [Failure(error_code(response), "The file is over the server's upload limit.")]
            if response.status_code != 200:
                raise BackendRefused(f"{self.endpoint} answered {response.status_code}: {response.text[:300]}")
            return [predictions(result) for result in response.json()["results"]]
        return [failure] * len(files)


def predictions(result: dict) -> list[Prediction] | Failure:
    if result["error"]:
        return Failure(result["error"]["code"], result["error"]["message"])
    # Names come from this package's class data, as they do locally, so a server whose
    # admin renamed a class gives the same keywords as the engine here.
    return [Prediction(rank=p["rank"], index=synset(p["wnid"])["index"], wnid=p["wnid"], label=label(p["wnid"], "en"), score=p["score"])
            for p in result["predictions"]]


def error_code(response: requests.Response) -> str:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return f"http_{response.status_code}"


def retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


def backoff(attempt: int) -> float:
    return min(30.0, 0.5 * 2 ** attempt)
