"""`pyvision tag --server` against servers that fail: a wrong address, a server that
cannot be reached or stops answering, one that stays busy, one that answers what the
client cannot read. Each is a real HTTP server (or socket) started here, and the
client's time bounds are made small so that no test waits for long."""

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pyvision import cli
from pyvision.engine.pipeline import Failure, pipelined
from pyvision.library.remote import UNKNOWN_CLASS, Server, stop_on_ctrl_c
from pyvision.library.tagging import Answer, BackendRefused

Reply = tuple[int, dict[str, str], bytes]
ESPRESSO = "n07920052"
FILES = [("a.jpg", b"a"), ("b.jpg", b"b")]
MODELS = [{"name": "lite0", "description": "", "input_size": 224, "custom": False}]


def as_json(status: int, body, **headers: str) -> Reply:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


def result(wnid: str = ESPRESSO) -> dict:
    return {"predictions": [{"rank": 1, "wnid": wnid, "label_id": None, "label": "x", "names": {"en": "x"},
                             "score": 0.9}], "hedged": None, "error": None}


def classified(images: int = len(FILES)) -> Reply:
    return as_json(200, {"results": [result()] * images})


def busy(status: int = 503, retry_after: str = "0") -> Reply:
    return as_json(status, {"error": {"code": "queue_full", "message": "busy"}}, **{"Retry-After": retry_after})


def in_turn(*replies: Reply) -> Callable[[str], Reply]:
    """Each request gets the next reply; the last one is given again and again."""
    left = list(replies)
    return lambda path: left.pop(0) if len(left) > 1 else left[0]


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """serve(answer, port=0) -> the URL of an HTTP server that answers each request with
    answer(path); requests it got are counted in serve.requests."""
    servers = []

    def start(answer: Callable[[str], Reply], port: int = 0) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.reply()

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                self.reply()

            def reply(self):
                start.requests += 1
                status, headers, body = answer(self.path)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    start.requests = 0
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return free.getsockname()[1]


def client(url: str, **bounds) -> Server:
    return Server(url, model="lite0", top=3, **bounds)


def timed(call: Callable[[], object]) -> tuple[object, float]:
    began = time.monotonic()
    return call(), time.monotonic() - began


@pytest.mark.parametrize("url", ["not-a-url", "localhost:8000", "ftp://big-box", "http://", "http://big-box:port"])
def test_an_address_that_is_not_a_server_is_refused_at_once(url):
    with pytest.raises(BackendRefused, match="is not a server's address: give http://HOST"):
        client(url).describe_model()


def test_tag_says_a_mistyped_server_at_once_as_a_usage_error(library, capsys):
    began = time.monotonic()
    with pytest.raises(SystemExit) as stopped:
        cli.main(["tag", "--server", "not-a-url", str(library)])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.startswith("pyvision tag: 'not-a-url' is not a server's address")
    assert time.monotonic() - began < 2


def test_a_server_that_cannot_be_reached_is_said_within_seconds():
    url = f"http://127.0.0.1:{closed_port()}"
    began = time.monotonic()
    with pytest.raises(BackendRefused) as refused:
        client(url, reach_within=0.5).describe_model()
    assert str(refused.value) == f"the server at {url} cannot be reached: Connection refused"
    assert time.monotonic() - began < 2


def test_a_server_back_within_the_window_is_waited_for(serve):
    port = closed_port()
    threading.Timer(0.3, serve, [in_turn(classified())], {"port": port}).start()
    outcomes, seconds = timed(lambda: client(f"http://127.0.0.1:{port}", unreachable_for=3).classify(FILES))
    assert [type(o) for o in outcomes] == [Answer, Answer] and seconds < 3


def test_a_server_that_stops_answering_stops_the_run_not_each_photo():
    url = f"http://127.0.0.1:{closed_port()}"
    server = client(url, unreachable_for=0.5)
    began = time.monotonic()
    with pytest.raises(BackendRefused) as refused:
        list(pipelined(FILES * 20, lambda f: f, server.classify))
    assert str(refused.value) == f"the server at {url} stopped answering: Connection refused"
    assert time.monotonic() - began < 2


def test_a_server_that_accepts_and_never_answers_stopped_answering():
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        server = client(url, timeout=(1, 0.3), unreachable_for=0.5)
        began = time.monotonic()
        with pytest.raises(BackendRefused) as refused:
            server.classify(FILES)
    assert str(refused.value) == f"the server at {url} stopped answering: no answer in 0.3 s"
    assert time.monotonic() - began < 2.5


def test_a_proxy_whose_pyvision_is_down_is_waited_for_then_stops_the_run(serve):
    restarted = serve(in_turn(as_json(502, {}), classified()))
    assert all(isinstance(o, Answer) for o in client(restarted, unreachable_for=3).classify(FILES))
    down = serve(in_turn(as_json(502, {})))
    with pytest.raises(BackendRefused, match="stopped answering: 502 Bad Gateway"):
        client(down, unreachable_for=0.3).classify(FILES)


def test_retry_after_0_is_obeyed_down_to_a_floor(serve):
    # Not at once: a server that stays busy would get every photo again in a tight loop.
    url = serve(in_turn(busy(), busy(), busy(), classified()))
    outcomes, seconds = timed(lambda: client(url, shortest_wait=0.1).classify(FILES))
    assert all(isinstance(o, Answer) for o in outcomes)
    assert serve.requests == 4 and 0.3 <= seconds < 1.5  # the backoff would have waited 3.5 s


def test_a_long_retry_after_is_capped_and_said_once(serve, capsys):
    url = serve(in_turn(busy(retry_after="86400"), busy(retry_after="86400"), classified()))
    outcomes, seconds = timed(lambda: client(url, longest_wait=0.1).classify(FILES))
    assert all(isinstance(o, Answer) for o in outcomes) and seconds < 1
    assert capsys.readouterr().err.count(f"the server at {url} asks to wait 86400 s (Retry-After): "
                                         "trying again every 0.1 s instead") == 1


def test_a_busy_server_is_waited_out_for_as_many_attempts_as_it_takes(serve):
    url = serve(in_turn(*[busy(429)] * 12, classified()))
    assert all(isinstance(o, Answer) for o in client(url).classify(FILES))
    assert serve.requests == 13


def test_a_server_busy_for_too_long_stops_the_run(serve):
    url = serve(in_turn(busy(retry_after="0.05")))
    with pytest.raises(BackendRefused) as refused:
        client(url, busy_for=0.5).classify(FILES)
    assert str(refused.value) == f"the server at {url} stayed busy for 0.5 s (queue_full): try again later"


@pytest.fixture
def ctrl_c_handler():
    """Puts back the test process's own Ctrl-C handler."""
    before = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, before)


def test_ctrl_c_ends_the_wait_for_a_busy_server_at_once(serve, ctrl_c_handler):
    answered = threading.Event()

    def answer(path: str) -> Reply:
        answered.set()
        return busy(retry_after="30")

    def press_ctrl_c():
        answered.wait(5)
        time.sleep(0.2)  # the client is waiting out the Retry-After now
        os.kill(os.getpid(), signal.SIGINT)

    server = client(serve(answer), longest_wait=60)
    stop_on_ctrl_c(server)
    threading.Thread(target=press_ctrl_c, daemon=True).start()
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        # The server is waited for on the pipeline's thread, as in a run, not on this one.
        list(pipelined(FILES, lambda f: f, server.classify))
    assert time.monotonic() - began < 2 and serve.requests == 1


@pytest.mark.parametrize("reply, why", [
    ((200, {"Content-Type": "text/html"}, b"<html><body>Welcome to nginx!</body></html>"),
     "not JSON but '<html><body>Welcome to nginx!</body></html>'"),
    (as_json(200, {"results": [result()]}), "1 results for 2 images"),
    (as_json(200, {"results": "none"}), "no list of results for 2 images"),
    (as_json(200, {"answers": []}), "no 'results'"),
    (as_json(200, {"results": [result(), {"predictions": [{"rank": 1, "wnid": ESPRESSO}], "hedged": None,
                                          "error": None}]}), "no 'score'"),
])
def test_an_answer_the_client_cannot_read_stops_the_run(serve, reply, why):
    url = serve(in_turn(reply))
    with pytest.raises(BackendRefused) as refused:
        client(url).classify(FILES)
    assert str(refused.value) == f"the server at {url} gave an answer pyvision cannot read: {why}"


def test_a_models_list_the_client_cannot_read_stops_the_run(serve):
    url = serve(in_turn((200, {"Content-Type": "text/html"}, b"<html></html>")))
    with pytest.raises(BackendRefused, match="gave an answer pyvision cannot read: not JSON"):
        client(url).describe_model()


def test_a_class_the_client_does_not_know_fails_that_photo_alone(serve):
    url = serve(in_turn(as_json(200, {"results": [result(), result("n99999999")]})))
    known, unknown = client(url).classify(FILES)
    assert known.predictions[0].label == "espresso"
    assert unknown == Failure(UNKNOWN_CLASS, "the server named classes this pyvision does not know (n99999999): "
                                             "is one of the two older than the other?")


def test_tag_stops_with_a_message_on_an_answer_it_cannot_read(serve, library, capsys):
    url = serve(lambda path: as_json(200, MODELS) if path == "/api/v1/models" else
                (200, {"Content-Type": "text/html"}, b"<html></html>"))
    assert cli.main(["tag", "--server", url, "--model", "lite0", str(library)]) == 1
    assert capsys.readouterr().err.strip().endswith(
        f"pyvision tag: the server at {url} gave an answer pyvision cannot read: not JSON but '<html></html>'; "
        "so far 0 tagged, 0 skipped, 0 failed")


def test_a_built_in_model_answered_with_a_custom_label_stops_the_run(serve):
    label = {"rank": 1, "wnid": None, "label_id": "mug", "label": "mug", "names": {"en": "mug"}, "score": 0.9}
    url = serve(lambda path: as_json(200, MODELS) if path == "/api/v1/models" else
                as_json(200, {"results": [{"predictions": [label], "hedged": None, "error": None}] * len(FILES)}))
    server = client(url)
    server.describe_model()
    with pytest.raises(BackendRefused, match="cannot read: a label from lite0, which is built in"):
        server.classify(FILES)


@pytest.fixture
def serve_raw() -> Iterator[Callable[..., str]]:
    """serve_raw(answer) -> the URL of a server that reads each request and hands
    answer(method, path, connection) its socket, to write to as it likes."""
    listeners = []

    def start(answer: Callable[[str, str, socket.socket], None]) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def handle(connection: socket.socket) -> None:
            with connection, connection.makefile("rb") as request:
                method, path, _ = request.readline().decode().split(" ", 2)
                length = 0
                while (line := request.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    length = int(value) if name.lower() == "content-length" else length
                request.read(length)
                try:
                    answer(method, path, connection)
                except OSError:
                    pass  # the client gave up on the answer

        def accept() -> None:
            while True:
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return  # closed: the test is over
                threading.Thread(target=handle, args=(connection,), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    yield start
    for listener in listeners:
        listener.close()


def a_byte_at_a_time(method: str, path: str, connection: socket.socket) -> None:
    """A status line, then a header a byte every 0.1 s: each read gets something, long
    before any read timeout. For 5 s, then it hangs up, so that a client that waited for
    it all still ends."""
    connection.sendall(b"HTTP/1.1 200 OK\r\n")
    for _ in range(50):
        connection.sendall(b"X")
        time.sleep(0.1)


def test_a_server_answering_a_byte_at_a_time_stopped_answering(serve_raw):
    url = serve_raw(a_byte_at_a_time)
    outcome, seconds = timed(lambda: pytest.raises(BackendRefused, client(url, timeout=(1, 0.5), unreachable_for=0.5)
                                                   .classify, FILES))
    assert str(outcome.value) == f"the server at {url} stopped answering: no answer in 0.5 s"
    assert seconds < 2.5


def test_a_models_list_sent_a_byte_at_a_time_is_said_within_seconds(serve_raw):
    url = serve_raw(a_byte_at_a_time)
    outcome, seconds = timed(lambda: pytest.raises(BackendRefused, client(url, timeout=(0.5, 60), reach_within=0.5)
                                                   .describe_model))
    assert str(outcome.value) == f"the server at {url} cannot be reached: no answer in 0.5 s"
    assert seconds < 2.5


def test_an_answer_that_never_ends_stops_the_run_before_it_fills_the_memory(serve_raw, library, capsys):
    sent = []

    def endless(method: str, path: str, connection: socket.socket) -> None:
        if path == "/api/v1/models":
            body = json.dumps(MODELS).encode()
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            return
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b" " * 2**20
        for _ in range(256):  # 256 MB, and then an end, for a client that would read it all
            connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent.append(len(chunk))
        connection.sendall(b"0\r\n\r\n")

    url = serve_raw(endless)
    assert cli.main(["tag", "--server", url, "--model", "lite0", str(library)]) == 1
    assert capsys.readouterr().err.strip().endswith(
        f"pyvision tag: the server at {url} sent more than 8 MB for {url}/api/v1/classify, more than any answer "
        "of pyvision's: is it a pyvision server?; so far 0 tagged, 0 skipped, 0 failed")
    assert sum(sent) < 64 * 2**20  # the rest was never read


@pytest.mark.parametrize("reply, why", [
    (as_json(200, {"results": [{"error": {"code": ["x"], "message": "m"}, "predictions": [], "hedged": None}] * 2}),
     "an error code that is not one: ['x']"),
    (as_json(200, {"results": [{"error": {"code": "x\x1b[2J", "message": "m"}, "predictions": [], "hedged": None}] * 2}),
     "an error code that is not one: 'x\\x1b[2J'"),
    (as_json(200, {"results": [{**result(), "predictions": [{**result()["predictions"][0], "score": float("inf")}]}] * 2}),
     "a score that is not a number from 0 to 1: inf"),
    (as_json(200, {"results": [{**result(), "predictions": [{**result()["predictions"][0], "score": float("nan")}]}] * 2}),
     "a score that is not a number from 0 to 1: nan"),
    (as_json(200, {"results": [{**result(), "predictions": [{**result()["predictions"][0], "score": "0.5"}]}] * 2}),
     "a score that is not a number from 0 to 1: '0.5'"),
    (as_json(200, {"results": [{**result(), "hedged": {"wnid": ESPRESSO, "score": 7}}] * 2}),
     "a score that is not a number from 0 to 1: 7"),
    (as_json(200, {"results": [{**result(), "predictions": [{**result()["predictions"][0], "wnid": ["n1"]}]}] * 2}),
     "a WordNet class that is not a text: ['n1']"),
])
def test_a_malformed_answer_stops_tag_with_what_is_wrong(serve, library, capsys, reply, why):
    url = serve(lambda path: as_json(200, MODELS) if path == "/api/v1/models" else reply)
    assert cli.main(["tag", "--json", "--server", url, "--model", "lite0", str(library)]) == 1
    out, err = capsys.readouterr()
    assert out == ""  # no row with what the server sent
    assert err.strip().endswith(f"pyvision tag: the server at {url} gave an answer pyvision cannot read: {why}; "
                                "so far 0 tagged, 0 skipped, 0 failed")


def test_a_custom_label_without_names_stops_the_run(serve):
    models = [{"name": "shop", "description": "", "input_size": 224, "custom": True, "sha256": "0" * 64}]
    label = {"rank": 1, "wnid": None, "label_id": "mug", "label": "mug", "names": {"en": ["mug"]}, "score": 0.9}
    url = serve(lambda path: as_json(200, models) if path == "/api/v1/models" else
                as_json(200, {"results": [{"predictions": [label], "hedged": None, "error": None}] * len(FILES)}))
    server = Server(url, model="shop", top=3)
    server.describe_model()
    with pytest.raises(BackendRefused, match="cannot read: label names that are not texts by language"):
        server.classify(FILES)


def test_an_error_code_of_a_413_that_is_not_one_is_the_status(serve):
    url = serve(in_turn(as_json(413, {"error": {"code": {"a": 1}, "message": "big"}})))
    assert client(url).classify(FILES[:1]) == [Failure("http_413", "The file is over the server's upload limit.")]
