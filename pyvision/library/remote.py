"""Classify through a pyvision server's ``POST /api/v1/classify``: a laptop tags its
library with a stronger machine's cores. Busy answers are waited out, not failed; a
server that stops answering, or answers what this client cannot read, stops the run."""

import io
import itertools
import re
import signal
import sys
import threading
import time
from concurrent.futures import Future, wait
from functools import partial
from urllib.parse import urlsplit

import requests
from tqdm import tqdm

from pyvision.engine.hedging import Hedged, hierarchy
from pyvision.engine.pipeline import Failure
from pyvision.engine.results import Prediction

from .keywords import label, synset
from .tagging import Answer, BackendRefused

MAX_IMAGES = 16  # what one request to /api/v1/classify may carry
MAX_TOP_K = 10
BUSY = {429, 503}
# A reverse proxy's answers while the pyvision behind it is down or restarting.
GONE = {502, 504}
UNKNOWN_CLASS = "unknown_class"
# The most of an answer that is read. One to 16 photos at top_k 10, a custom model's
# labels named in all 8 languages, is some 300 KB; the models list, a few hundred bytes
# a model. An answer over 25 times that is a server that does not stop sending.
MAX_ANSWER_BYTES = 8 * 2**20
# How often a request's wait looks whether the run was stopped (Ctrl-C, SIGTERM).
STOP_CHECK = 0.1
# An error code, as pyvision's API writes them ("corrupt_image"): anything else would
# be counted and shown as one.
ERROR_CODE = re.compile(r"[a-z0-9_]{1,64}")


class Unreachable(Exception):
    """The server gave no answer for as long as the request would wait."""


class _Body(io.BytesIO):
    """A request's body that notes when it has been read out whole to the socket: the
    answer's time runs from then, as sending 16 large photos on a slow link may itself
    take minutes."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.sent_at: float | None = None

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        if not chunk and self.sent_at is None:
            self.sent_at = time.monotonic()
        return chunk


class Server:
    """``timeout``: seconds to connect, and to wait for the whole answer to one request
    of 16 photos once it is sent. ``reach_within``: how long describe_model, the first
    request, tries a server it cannot reach (a wrong address is said in seconds);
    ``unreachable_for``: how long a later request does before the run stops.
    ``busy_for``: how long one request waits out 429 and 503; ``longest_wait`` and
    ``shortest_wait``: the most and the fewest seconds one Retry-After is obeyed."""

    def __init__(self, url: str, *, token: str = "", model: str, top: int,
                 timeout: tuple[float, float] = (5, 60), reach_within: float = 5, unreachable_for: float = 30,
                 busy_for: float = 600, longest_wait: float = 120, shortest_wait: float = 0.5):
        self.url = url.rstrip("/")
        self.endpoint = self.url + "/api/v1/classify"
        self.model, self.top, self.timeout = model, top, timeout
        self.reach_within, self.unreachable_for = reach_within, unreachable_for
        self.busy_for, self.longest_wait, self.shortest_wait = busy_for, longest_wait, shortest_wait
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Token {token}"
        # A custom model's label names, by label id, as the server's answers give them:
        # this machine's database need not know the model.
        self.label_names: dict[str, dict[str, str]] = {}
        # Whether the model is one of the server's own, once describe_model has asked: its
        # answers then name labels, else WordNet classes.
        self.custom: bool | None = None
        self.stopping = threading.Event()
        self.said_long_wait = False

    def stop(self) -> None:
        """Ends the waits between attempts, and for an answer, at once: they run on the
        pipeline's thread, which an interrupted run waits for before it stops."""
        self.stopping.set()

    def describe_model(self) -> dict:
        """The server's entry for the model in ``GET /api/v1/models``; raises BackendRefused.
        The address is checked here, where the command already says what is refused."""
        check_address(self.url)
        try:
            # The models list is answered at once: a server that takes the connection and says
            # nothing is given the seconds it may take to connect, not those of 16 photos.
            response = self._send("GET", self.url + "/api/v1/models", unreachable_for=self.reach_within,
                                  timeout=(self.timeout[0], self.timeout[0]))
        except Unreachable as exc:
            raise BackendRefused(f"the server at {self.url} cannot be reached: {exc}") from None
        if response.status_code != 200:
            raise BackendRefused(f"{response.url} answered {response.status_code}: {response.text[:300]}")
        try:
            models = {model["name"]: model for model in json_of(response)}
        except (ValueError, KeyError, TypeError) as exc:
            raise self._unreadable(exc) from exc
        if self.model not in models:
            raise BackendRefused(f"{self.url} has no model named {self.model!r}; it has {', '.join(models)}")
        self.custom = bool(models[self.model].get("custom"))
        return models[self.model]

    def classify(self, files: list[tuple[str, bytes]]) -> list[Answer | Failure]:
        """One outcome per file, in order."""
        outcomes = []
        for start in range(0, len(files), MAX_IMAGES):
            outcomes.extend(self._request(files[start:start + MAX_IMAGES]))
        return outcomes

    def _request(self, files: list[tuple[str, bytes]]) -> list[Answer | Failure]:
        # Encoded once, as requests encodes a form, and sent as it is on each attempt.
        form = requests.Request("POST", self.endpoint, files=[("image", f) for f in files],
                                data={"model": self.model, "top_k": self.top})
        encoded = form.prepare()
        try:
            response = self._send("POST", self.endpoint, unreachable_for=self.unreachable_for, body=encoded.body,
                                  headers={"Content-Type": encoded.headers["Content-Type"]})
        except Unreachable as exc:
            raise BackendRefused(f"the server at {self.url} stopped answering: {exc}") from None
        if response.status_code == 413 and len(files) > 1:
            # One file over the server's upload limit: the others still go, one by one.
            return [outcome for f in files for outcome in self._request([f])]
        if response.status_code == 413:
            return [Failure(error_code(response), "The file is over the server's upload limit.")]
        if response.status_code != 200:
            raise BackendRefused(f"{self.endpoint} answered {response.status_code}: {response.text[:300]}")
        try:
            return [self._answer(result) for result in results_of(response, len(files))]
        except (ValueError, KeyError, TypeError) as exc:
            raise self._unreadable(exc) from exc

    def _send(self, method: str, url: str, *, unreachable_for: float, **request) -> requests.Response:
        """The server's answer, 429 and 503 waited out (for ``busy_for`` at most, then
        BackendRefused). No answer for ``unreachable_for`` in a row raises Unreachable."""
        busy_until = time.monotonic() + self.busy_for
        unreachable_until = None
        for attempt in itertools.count():
            response = self._attempt(method, url, **request)
            if isinstance(response, str):
                unreachable_until = unreachable_until or time.monotonic() + unreachable_for
                if time.monotonic() >= unreachable_until:
                    raise Unreachable(response)
                self._pause(min(backoff(attempt), unreachable_until - time.monotonic()))
                continue
            unreachable_until = None
            if response.status_code not in BUSY:
                return response
            if time.monotonic() >= busy_until:
                raise BackendRefused(f"the server at {self.url} stayed busy for {self.busy_for:g} s "
                                     f"({error_code(response)}): try again later")
            self._pause(min(self._busy_wait(response, attempt), busy_until - time.monotonic()))

    def _attempt(self, method: str, url: str, *, body: bytes | None = None, **request) -> requests.Response | str:
        """The server's whole answer, or why there was none. requests' read timeout bounds
        each read from the socket, and a server sending a byte at a time would hold the
        run forever: the answer must be in, all of it, ``read`` seconds after the request
        was sent (the body is sent again on each attempt)."""
        request = {"timeout": self.timeout, **request}
        connect, read = request["timeout"]
        sent = _Body(body) if body is not None else None
        started = time.monotonic()
        answer: Future = Future()
        threading.Thread(target=self._exchange, args=(answer, method, url), kwargs={**request, "data": sent},
                         name="pyvision-server-request", daemon=True).start()
        while not wait([answer], timeout=STOP_CHECK).done:
            if self.stopping.is_set():
                raise BackendRefused(f"stopped while waiting for the server at {self.url}")
            # Without a body, connecting included: the models list is promised within those seconds.
            sent_at = started if sent is None else sent.sent_at
            if sent_at is not None and time.monotonic() > sent_at + read:
                return f"no answer in {read:g} s"
        try:
            response = answer.result()
        except requests.ConnectTimeout:
            return f"no connection in {connect:g} s"
        except requests.ReadTimeout:
            return f"no answer in {read:g} s"
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            return innermost_reason(exc)
        except requests.RequestException as exc:
            raise BackendRefused(f"no request could be sent to {url}: {exc}") from exc
        if response.status_code in GONE:
            return f"{response.status_code} {response.reason}"
        return response

    def _exchange(self, answer: Future, method: str, url: str, **request) -> None:
        """Sends the request and reads the answer, at most MAX_ANSWER_BYTES of it, into
        ``answer``. On a daemon thread of its own: one that _attempt gave up on, or that a
        stopped run leaves, ends with the read timeout, or with the process."""
        try:
            with self.http.request(method, url, stream=True, **request) as response:
                content = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    content += chunk
                    if len(content) > MAX_ANSWER_BYTES:
                        raise BackendRefused(f"the server at {self.url} sent more than {MAX_ANSWER_BYTES // 2**20} MB "
                                             f"for {url}, more than any answer of pyvision's: is it a pyvision server?")
                # Where requests keeps an answer it read itself: .json() and .text read it there.
                response._content = bytes(content)
            answer.set_result(response)
        except BaseException as exc:
            answer.set_exception(exc)

    def _busy_wait(self, response: requests.Response, attempt: int) -> float:
        asked = retry_after(response)
        if asked is None:
            return backoff(attempt)
        if asked > self.longest_wait and not self.said_long_wait:
            self.said_long_wait = True
            # Above the progress bar, as the command's own lines: a long silence is said.
            tqdm.write(f"the server at {self.url} asks to wait {asked:g} s (Retry-After): "
                       f"trying again every {self.longest_wait:g} s instead", file=sys.stderr)
        # Retry-After: 0 from a server that stays busy would have every photo sent again at once, in a loop.
        return min(max(asked, self.shortest_wait), self.longest_wait)

    def _pause(self, seconds: float) -> None:
        if self.stopping.wait(max(0.0, seconds)):
            raise BackendRefused(f"stopped while waiting for the server at {self.url}")

    def _unreadable(self, exc: Exception) -> BackendRefused:
        why = f"no {exc}" if isinstance(exc, KeyError) else str(exc)
        return BackendRefused(f"the server at {self.url} gave an answer pyvision cannot read: {why}")

    def _answer(self, result: dict) -> Answer | Failure:
        if result["error"]:
            return Failure(checked_code(result["error"]["code"]), text(result["error"]["message"], "an error message"))
        unknown = unknown_classes(result)
        if unknown:
            # The other photos' classes are known, and their keywords right: this one alone fails.
            return Failure(UNKNOWN_CLASS, f"the server named classes this pyvision does not know "
                                          f"({', '.join(unknown)}): is one of the two older than the other?")
        predictions = []
        for p in result["predictions"]:
            if self.custom is not None and (p["wnid"] is None) != self.custom:
                raise ValueError(f"a {'label' if p['wnid'] is None else 'WordNet class'} from {self.model}, "
                                 f"which is {'a custom model' if self.custom else 'built in'}")
            if p["wnid"] is None:
                # A custom model's label: its names are the server's, it has no class index here.
                self.label_names[text(p["label_id"], "a label id")] = label_names(p["names"])
                predictions.append(Prediction(rank=int(p["rank"]), index=-1, wnid=p["label_id"],
                                              label=p["names"]["en"], score=probability(p["score"])))
            else:
                # Names come from this package's class data, as they do locally, so a server
                # whose admin renamed a class gives the same keywords as the engine here.
                predictions.append(Prediction(rank=int(p["rank"]), index=synset(p["wnid"])["index"], wnid=p["wnid"],
                                              label=label(p["wnid"], "en"), score=probability(p["score"])))
        return Answer(predictions, hedged(result["hedged"]))


def stop_on_ctrl_c(server: Server) -> None:
    """Ctrl-C, and SIGTERM where the command handles it as Ctrl-C, reach the main thread
    only, and an interrupted run first waits for the pipeline's threads: the one waiting
    for the server is told to stop at once."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        # Not one that is ignored (Ctrl-C in a background job) or left to the system.
        if callable(handler):
            signal.signal(signum, partial(_stopping, server, handler))


def _stopping(server: Server, handler, signum: int, frame) -> None:
    server.stop()
    handler(signum, frame)


def check_address(url: str) -> None:
    """A mistyped --server is refused at once, not after trying to reach it."""
    try:
        parts = urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number, an unclosed [IPv6 address
        usable = False
    if not usable:
        raise BackendRefused(f"{url!r} is not a server's address: give http://HOST[:PORT] or https://HOST[:PORT]")


def json_of(response: requests.Response) -> object:
    try:
        return response.json()
    except ValueError:
        raise ValueError(f"not JSON but {response.text[:80]!r}") from None


def results_of(response: requests.Response, images: int) -> list:
    results = json_of(response)["results"]
    if not isinstance(results, list) or len(results) != images:
        raise ValueError(f"{len(results) if isinstance(results, list) else 'no list of'} results for {images} images")
    return results


def checked_code(code) -> str:
    if not isinstance(code, str) or not ERROR_CODE.fullmatch(code):
        raise ValueError(f"an error code that is not one: {code!r:.80}")
    return code


def text(value, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} that is not a text: {value!r:.80}")
    return value


def label_names(names) -> dict[str, str]:
    """A custom label's names by language, English at least: they become keywords."""
    if not isinstance(names, dict) or not all(isinstance(n, str) for n in [*names, *names.values()]) \
            or not names.get("en"):
        raise ValueError(f"label names that are not texts by language, English among them: {names!r:.80}")
    return names


def probability(score) -> float:
    """A score from 0 to 1. NaN, which JSON from Python may hold, would have the photo
    lose the class without a word (no comparison holds), and infinity has --json write
    what no JSON reader takes."""
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
        raise ValueError(f"a score that is not a number from 0 to 1: {score!r:.80}")
    return float(score)


def unknown_classes(result: dict) -> list[str]:
    """The classes, and the hedged answer's node, that this package's class data lacks."""
    tree = hierarchy()
    named = [p["wnid"] for p in result["predictions"]
             if p["wnid"] is not None and text(p["wnid"], "a WordNet class") not in tree.leaves]
    if result["hedged"] is not None and text(result["hedged"]["wnid"], "a WordNet class") not in tree.position:
        named.append(result["hedged"]["wnid"])
    return named


def innermost_reason(exc: BaseException) -> str:
    """Why there was no answer ("Connection refused"), without the layers of requests
    and urllib3 wrapped around it."""
    while (exc.__cause__ or exc.__context__) is not None:
        exc = exc.__cause__ or exc.__context__
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def hedged(answer: dict | None) -> Hedged | None:
    """The server's hedged answer, described from this package's WordNet data, as locally."""
    if answer is None:
        return None
    tree = hierarchy()
    node = tree.nodes[tree.position[answer["wnid"]]]
    return Hedged(node.wnid, node.name, node.depth, probability(answer["score"]), node.wnid in tree.leaves)


def error_code(response: requests.Response) -> str:
    try:
        return checked_code(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return f"http_{response.status_code}"


def retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


def backoff(attempt: int) -> float:
    return min(30.0, 0.5 * 2 ** min(attempt, 6))
