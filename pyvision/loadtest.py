"""``pyvision loadtest``: real JPEGs posted to a running service's REST API by C clients.

The API contract: ``POST /api/v1/recognitions`` with a multipart ``image`` (Token auth);
with ``?wait=N`` it answers 201 with the result when done within N seconds, else 202;
``GET /api/v1/recognitions/<id>`` reads one. A file named ``<wnid>_*.JPEG`` is also
checked: does the top-1 class match its wnid?

Each first answer's HTTP status is counted. Answers of 429 (a rate limit) are reported
apart and kept out of the latency figures: a fast refusal is not a fast recognition.

``mode="classify"`` posts each image to the stateless ``POST /api/v1/classify``
instead: nothing is stored, the answer is ``{"results": [...]}``.

``via="site"`` posts through the site's upload form instead, as a browser without
JavaScript does, then polls the result card: the same path end to end, for a service
without the API.
"""

import http.cookiejar
import re
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

WNID = re.compile(r"^(n\d{8})_")
CARD_STATUS = re.compile(r'class="card status-(\w+)"')
CARD_TOP1 = re.compile(r'<span class="label" title="(n\d{8})">')
POLL_SECONDS = 0.02
FINISHED = ("done", "failed")
RATE_LIMITED = 429
# Connection errors and timeouts have no HTTP status.
NO_ANSWER = 0


@dataclass
class Outcome:
    seconds: float
    status: int = NO_ANSWER
    error: str = ""
    top1: str = ""


@dataclass
class Report:
    url: str
    via: str
    mode: str
    concurrency: int
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    errors: int
    rate_limited: int
    statuses: dict[str, int]
    checked: int
    top1_matches: int
    error_examples: list[str] = field(default_factory=list)

    def summary(self) -> str:
        accuracy = f"{self.top1_matches}/{self.checked} top-1 match the wnid in the file name" if self.checked else \
            "no file named <wnid>_*: top-1 not checked"
        lines = [
            f"{self.requests} requests ({self.via}, {self.mode}, {self.concurrency} clients) to {self.url}"
            f" in {self.seconds:.1f} s",
            f"  {self.requests_per_second:.1f} req/s, p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms"
            f" (answers other than {RATE_LIMITED})",
            "  HTTP statuses: " + ", ".join(f"{status} x{count}" for status, count in self.statuses.items()),
            f"  {self.errors} errors; {accuracy}",
        ]
        if self.rate_limited:
            lines.append(f"  {self.rate_limited} answers were {RATE_LIMITED}: the service's rate limit, not its speed."
                         " Lift the limits for a load test (README, Performance).")
        lines += [f"  error: {example}" for example in self.error_examples]
        return "\n".join(lines)


def jpegs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".jpg", ".jpeg"))


def run(url: str, images: list[Path], *, concurrency: int, requests: int, mode: str, token: str = "",
        wait: float = 30, via: str = "api") -> Report:
    url = url.rstrip("/")
    payloads = [(path.name, path.read_bytes()) for path in images]
    local = threading.local()

    def one(index: int) -> tuple[str, Outcome]:
        name, data = payloads[index % len(payloads)]
        if not hasattr(local, "http"):
            local.http = client(token, via)
        if via == "site":
            return name, post_form(local.http, url, name, data, wait)
        return name, post(local.http, url, name, data, mode, wait)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        outcomes = list(pool.map(one, range(requests)))
    return aggregate(url, via, mode, concurrency, time.perf_counter() - started, outcomes)


def client(token: str, via: str) -> requests.Session:
    """Through the API, a program: it keeps no cookie, as the API asks a client that
    does not send the CSRF token. Through the site, a browser: it keeps its session."""
    session = requests.Session()
    if token:
        session.headers["Authorization"] = f"Token {token}"
    if via == "api":
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))  # no domain: no cookie
    return session


def post(http: requests.Session, url: str, name: str, data: bytes, mode: str, wait: float) -> Outcome:
    if mode == "classify":
        return classify(http, url, name, data, wait)
    started = time.perf_counter()
    try:
        params = {"wait": wait} if mode == "sync" else {}
        response = http.post(f"{url}/api/v1/recognitions", params=params,
                             files={"image": (name, data, "image/jpeg")}, timeout=wait + 30)
        if response.status_code not in (201, 202):
            return Outcome(time.perf_counter() - started, response.status_code,
                           error=f"HTTP {response.status_code}: {response.text[:200]}")
        body = response.json()
        deadline = started + wait
        while body.get("status") not in FINISHED:
            if time.perf_counter() > deadline:
                return Outcome(time.perf_counter() - started, response.status_code,
                               error=f"not finished after {wait} s")
            time.sleep(POLL_SECONDS)
            polled = http.get(f"{url}/api/v1/recognitions/{body['id']}", timeout=30)
            if polled.status_code != 200:
                return Outcome(time.perf_counter() - started, response.status_code,
                               error=f"polled HTTP {polled.status_code}: {polled.text[:200]}")
            body = polled.json()
    except (requests.RequestException, ValueError, KeyError) as exc:
        return Outcome(time.perf_counter() - started, error=f"{type(exc).__name__}: {exc}"[:200])
    seconds = time.perf_counter() - started
    if body["status"] != "done":
        return Outcome(seconds, response.status_code, error=f"recognition failed: {body.get('error')}")
    return Outcome(seconds, response.status_code, top1=top1_wnid(body))


def classify(http: requests.Session, url: str, name: str, data: bytes, wait: float) -> Outcome:
    started = time.perf_counter()
    try:
        response = http.post(f"{url}/api/v1/classify", files={"image": (name, data, "image/jpeg")}, timeout=wait + 30)
        if response.status_code != 200:
            return Outcome(time.perf_counter() - started, response.status_code,
                           error=f"HTTP {response.status_code}: {response.text[:200]}")
        (result,) = response.json()["results"]
    except (requests.RequestException, ValueError, KeyError) as exc:
        return Outcome(time.perf_counter() - started, error=f"{type(exc).__name__}: {exc}"[:200])
    seconds = time.perf_counter() - started
    if result["error"]:
        return Outcome(seconds, response.status_code, error=f"classification failed: {result['error']}")
    return Outcome(seconds, response.status_code, top1=top1_wnid(result))


def post_form(http: requests.Session, url: str, name: str, data: bytes, wait: float) -> Outcome:
    started = time.perf_counter()
    try:
        if "csrftoken" not in http.cookies:
            http.get(url + "/", timeout=30)
        response = http.post(f"{url}/upload", files={"image": (name, data, "image/jpeg")},
                             headers={"X-CSRFToken": http.cookies.get("csrftoken", ""), "Referer": url + "/"},
                             allow_redirects=False, timeout=wait + 30)
        if response.status_code != 302:
            return Outcome(time.perf_counter() - started, response.status_code,
                           error=f"HTTP {response.status_code}: {response.text[:200]}")
        card_url = url + response.headers["Location"].rstrip("/") + "/card"
        while True:
            card = http.get(card_url, timeout=30).text
            status = CARD_STATUS.search(card)
            if status and status.group(1) in FINISHED:
                break
            if time.perf_counter() > started + wait:
                return Outcome(time.perf_counter() - started, response.status_code,
                               error=f"not finished after {wait} s")
            time.sleep(POLL_SECONDS)
    except requests.RequestException as exc:
        return Outcome(time.perf_counter() - started, error=f"{type(exc).__name__}: {exc}"[:200])
    seconds = time.perf_counter() - started
    if status.group(1) != "done":
        return Outcome(seconds, response.status_code, error="recognition failed")
    top1 = CARD_TOP1.search(card)
    return Outcome(seconds, response.status_code, top1=top1.group(1) if top1 else "")


def top1_wnid(body: dict) -> str:
    predictions = body.get("predictions") or []
    if not predictions:
        return ""
    first = min(predictions, key=lambda p: p.get("rank", 0))
    return first.get("wnid") or (first.get("synset") or {}).get("wnid", "")


def aggregate(url: str, via: str, mode: str, concurrency: int, seconds: float, outcomes: list) -> Report:
    latencies = sorted(outcome.seconds * 1000 for _, outcome in outcomes if outcome.status != RATE_LIMITED) or [0.0]
    statuses = Counter(str(outcome.status or "no answer") for _, outcome in outcomes)
    errors = [outcome.error for _, outcome in outcomes if outcome.error]
    labelled = [(WNID.match(name).group(1), outcome) for name, outcome in outcomes
                if WNID.match(name) and not outcome.error]
    return Report(
        url=url, via=via, mode=mode, concurrency=concurrency, requests=len(outcomes), seconds=round(seconds, 3),
        requests_per_second=round(len(outcomes) / seconds, 2) if seconds else 0.0,
        p50_ms=round(statistics.median(latencies), 2),
        p95_ms=round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 2),
        errors=len(errors), rate_limited=statuses.get(str(RATE_LIMITED), 0), statuses=dict(sorted(statuses.items())),
        checked=len(labelled),
        top1_matches=sum(outcome.top1 == wnid for wnid, outcome in labelled),
        error_examples=sorted(set(errors))[:3],
    )
