"""Classify through a pyvision server's ``POST /api/v1/classify``: a laptop tags its
library with a stronger machine's cores. Busy answers are waited out, not failed."""

import time

import requests

from pyvision.engine.hedging import Hedged, hierarchy
from pyvision.engine.pipeline import Failure
from pyvision.engine.results import Prediction

from .keywords import label, synset
from .tagging import Answer, BackendRefused

MAX_IMAGES = 16  # what one request to /api/v1/classify may carry
MAX_TOP_K = 10
RETRIED = {429, 503}
SERVER_UNREACHABLE = "server_unreachable"


class Server:
    def __init__(self, url: str, *, token: str = "", model: str, top: int, attempts: int = 8, timeout: float = 120):
        self.url = url.rstrip("/")
        self.endpoint = self.url + "/api/v1/classify"
        self.model, self.top, self.attempts, self.timeout = model, top, attempts, timeout
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Token {token}"
        # A custom model's label names, by label id, as the server's answers give them:
        # this machine's database need not know the model.
        self.label_names: dict[str, dict[str, str]] = {}

    def describe_model(self) -> dict:
        """The server's entry for the model in ``GET /api/v1/models``; raises BackendRefused."""
        response = self._send("GET", self.url + "/api/v1/models")
        if isinstance(response, Failure):
            raise BackendRefused(f"{self.url}: {response.code}: {response.message}")
        if response.status_code != 200:
            raise BackendRefused(f"{response.url} answered {response.status_code}: {response.text[:300]}")
        models = response.json()
        for model in models:
            if model["name"] == self.model:
                return model
        raise BackendRefused(f"{self.url} has no model named {self.model!r}; it has {', '.join(m['name'] for m in models)}")

    def classify(self, files: list[tuple[str, bytes]]) -> list[Answer | Failure]:
        """One outcome per file, in order."""
        outcomes = []
        for start in range(0, len(files), MAX_IMAGES):
            outcomes.extend(self._request(files[start:start + MAX_IMAGES]))
        return outcomes

    def _request(self, files: list[tuple[str, bytes]]) -> list[Answer | Failure]:
        response = self._send("POST", self.endpoint, files=[("image", f) for f in files],
                              data={"model": self.model, "top_k": self.top})
        if isinstance(response, Failure):
            return [response] * len(files)
        if response.status_code == 413 and len(files) > 1:
            # One file over the server's upload limit: the others still go, one by one.
            return [outcome for f in files for outcome in self._request([f])]
        if response.status_code == 413:
            return [Failure(error_code(response), "The file is over the server's upload limit.")]
        if response.status_code != 200:
            raise BackendRefused(f"{self.endpoint} answered {response.status_code}: {response.text[:300]}")
        return [self._answer(result) for result in response.json()["results"]]

    def _send(self, method: str, url: str, **request) -> requests.Response | Failure:
        """The server's answer; a busy or unreachable server is tried again, with backoff,
        and after the last attempt the reason is a Failure."""
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(wait)
            try:
                response = self.http.request(method, url, timeout=self.timeout, **request)
            except requests.RequestException as exc:
                failure, wait = Failure(SERVER_UNREACHABLE, str(exc)), backoff(attempt)
                continue
            if response.status_code in RETRIED:
                failure = Failure(error_code(response), "The server stayed busy.")
                wait = retry_after(response) or backoff(attempt)
                continue
            return response
        return failure

    def _answer(self, result: dict) -> Answer | Failure:
        if result["error"]:
            return Failure(result["error"]["code"], result["error"]["message"])
        predictions = []
        for p in result["predictions"]:
            if p["wnid"] is None:
                # A custom model's label: its names are the server's, it has no class index here.
                self.label_names[p["label_id"]] = p["names"]
                predictions.append(Prediction(rank=p["rank"], index=-1, wnid=p["label_id"], label=p["names"]["en"],
                                              score=p["score"]))
            else:
                # Names come from this package's class data, as they do locally, so a server
                # whose admin renamed a class gives the same keywords as the engine here.
                predictions.append(Prediction(rank=p["rank"], index=synset(p["wnid"])["index"], wnid=p["wnid"],
                                              label=label(p["wnid"], "en"), score=p["score"]))
        return Answer(predictions, hedged(result["hedged"]))


def hedged(answer: dict | None) -> Hedged | None:
    """The server's hedged answer, described from this package's WordNet data, as locally."""
    if answer is None:
        return None
    tree = hierarchy()
    node = tree.nodes[tree.position[answer["wnid"]]]
    return Hedged(node.wnid, node.name, node.depth, answer["score"], node.wnid in tree.leaves)


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
