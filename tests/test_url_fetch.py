"""Recognition from a URL: what is fetched, and every way the server refuses to be
used against the networks behind it. A real HTTP server on 127.0.0.2 plays the site."""

import base64
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rest_framework.test import APIClient

from pyvision.api import errors
from pyvision.recognition import worker

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

SITE_ADDRESS = "127.0.0.2"


class Site(BaseHTTPRequestHandler):
    photo = b""
    seen_hosts: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        Site.seen_hosts.append(self.headers["Host"])
        path = self.path
        if path == "/photo":
            # The type it claims is wrong: what the bytes are is for the decoder to say.
            self.answer(200, self.photo, "text/plain")
        elif path == "/page.png":
            self.answer(200, b"<!DOCTYPE html><html><script>alert(1)</script></html>", "image/png")
        elif path == "/to-loopback":
            self.redirect(f"http://127.0.0.1:{self.server.server_port}/photo")
        elif path.startswith("/hops/"):
            left = int(path.rsplit("/", 1)[1])
            self.redirect(f"/hops/{left - 1}" if left else "/photo")
        elif path == "/endless":
            self.send_response(200)
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"\xff" * 65536)
            except OSError:
                pass
        elif path == "/huge":
            self.send_response(200)
            self.send_header("Content-Length", str(10**12))
            self.end_headers()
        elif path == "/slow":
            time.sleep(3)
            self.answer(200, self.photo, "image/png")
        elif path == "/slow-headers":
            # Each header line inside the read timeout, the whole never ending in time.
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for number in range(100):
                    self.wfile.write(f"X-Padding-{number}: 1\r\n".encode())
                    self.wfile.flush()
                    time.sleep(0.3)
            except OSError:
                pass
        elif path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b"\x89")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
        else:
            self.answer(404, b"not here", "text/plain")

    def answer(self, status: int, body: bytes, content_type: str):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def site(photo):
    Site.photo = photo("coffee.png")
    server = ThreadingHTTPServer((SITE_ADDRESS, 0), Site)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{SITE_ADDRESS}:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def allowed_site(site, settings):
    """The test site's address and port let through, as an intranet would be."""
    settings.URL_FETCH_PORTS = [80, 443, int(site.rsplit(":", 1)[1])]
    settings.URL_FETCH_ALLOWED_NETWORKS = [f"{SITE_ADDRESS}/32"]
    settings.URL_FETCH_TIMEOUT = 1.5
    return site


@pytest.fixture
def resolver(monkeypatch):
    """Host names of our choosing: there is no DNS server to ask here."""
    names = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            answer = names[host]
            addresses = answer() if callable(answer) else answer
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                    for a in addresses]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


def recognise(url: str, client=None):
    return (client or APIClient()).post("/api/v1/recognitions", {"url": url}, format="json")


def refused(url: str, status: int, code: str) -> str:
    response = recognise(url)
    assert response.status_code == status, (response.status_code, response.content[:300])
    error = response.json()["error"]
    assert error["code"] == code
    return error["message"]


def test_an_image_at_a_url_is_recognised_whatever_type_it_claims(allowed_site):
    client = APIClient()
    response = recognise(allowed_site + "/photo", client)
    assert response.status_code == 202
    worker.run(response.json()["id"])
    assert client.get(response["Location"]).json()["predictions"][0]["label"] == "espresso"


def test_a_page_claiming_to_be_an_image_fails_as_not_an_image(allowed_site):
    client = APIClient()
    response = recognise(allowed_site + "/page.png", client)
    worker.run(response.json()["id"])
    assert client.get(response["Location"]).json()["error"]["code"] == "not_an_image"


def test_a_redirect_to_loopback_is_refused(allowed_site, settings):
    settings.URL_FETCH_ALLOWED_NETWORKS = [f"{SITE_ADDRESS}/32"]
    message = refused(allowed_site + "/to-loopback", 400, errors.URL_ADDRESS_NOT_ALLOWED)
    assert "127.0.0.1" in message


def test_three_redirects_are_followed_and_a_fourth_is_refused(allowed_site):
    assert recognise(allowed_site + "/hops/2").status_code == 202  # 3 redirects
    refused(allowed_site + "/hops/3", 400, errors.URL_TOO_MANY_REDIRECTS)


def test_a_name_resolving_to_a_private_address_is_refused(resolver):
    resolver["intranet.example"] = ["10.20.30.40"]
    assert "10.20.30.40" in refused("http://intranet.example/cat.jpg", 400, errors.URL_ADDRESS_NOT_ALLOWED)
    # Every address is checked, not only the first.
    resolver["mixed.example"] = ["93.184.215.14", "192.168.1.10"]
    refused("http://mixed.example/cat.jpg", 400, errors.URL_ADDRESS_NOT_ALLOWED)


def test_the_connection_goes_to_the_address_that_was_checked(allowed_site, resolver):
    # A rebinding name: allowed at the first answer, loopback at any later one.
    answers = iter([[SITE_ADDRESS]])
    resolver["rebind.example"] = lambda: next(answers, ["127.0.0.1"])
    port = allowed_site.rsplit(":", 1)[1]
    Site.seen_hosts.clear()
    assert recognise(f"http://rebind.example:{port}/photo").status_code == 202
    # The site on 127.0.0.2 answered, asked by name (nothing listens on 127.0.0.1 there).
    assert Site.seen_hosts == [f"rebind.example:{port}"]


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "224.0.0.251", "240.0.0.1", "255.255.255.255", "[::1]", "[::]", "[fe80::1]", "[fc00::1]", "[ff02::1]",
    "[::ffff:127.0.0.1]", "[::ffff:8.8.8.8]", "[64:ff9b::a00:1]",
])
def test_internal_addresses_are_refused(address):
    refused(f"http://{address}/", 400, errors.URL_ADDRESS_NOT_ALLOWED)


@pytest.mark.parametrize("url, code", [
    ("ftp://example.org/cat.jpg", errors.URL_SCHEME_NOT_ALLOWED),
    ("file:///etc/passwd", errors.URL_SCHEME_NOT_ALLOWED),
    ("gopher://example.org/", errors.URL_SCHEME_NOT_ALLOWED),
    ("//example.org/cat.jpg", errors.URL_SCHEME_NOT_ALLOWED),
    ("http://example.org:8080/cat.jpg", errors.URL_PORT_NOT_ALLOWED),
    ("https://example.org:22/", errors.URL_PORT_NOT_ALLOWED),
    ("http://", errors.URL_INVALID),
    ("http://user:secret@example.org/cat.jpg", errors.URL_INVALID),
    ("http://[::1/", errors.URL_INVALID),
    ("http://no-such-host.invalid/cat.jpg", errors.URL_HOST_NOT_FOUND),
])
def test_urls_that_are_not_fetched(url, code):
    refused(url, 400, code)


def test_more_ports_are_allowed_by_the_setting(site, settings):
    port = site.rsplit(":", 1)[1]
    refused(f"{site}/photo", 400, errors.URL_PORT_NOT_ALLOWED)
    settings.URL_FETCH_PORTS = [80, 443, int(port)]
    refused(f"{site}/photo", 400, errors.URL_ADDRESS_NOT_ALLOWED)  # the port alone is not enough


def test_an_endless_body_is_cut_at_the_size_limit(allowed_site, settings):
    settings.MAX_UPLOAD_BYTES = 1024 * 1024
    refused(allowed_site + "/endless", 413, errors.URL_TOO_LARGE)
    refused(allowed_site + "/huge", 413, errors.URL_TOO_LARGE)


def test_a_slow_server_times_out(allowed_site):
    started = time.monotonic()
    refused(allowed_site + "/slow", 400, errors.URL_TIMEOUT)
    refused(allowed_site + "/trickle", 400, errors.URL_TIMEOUT)
    refused(allowed_site + "/slow-headers", 400, errors.URL_TIMEOUT)
    # each gave up at the 1.5 s deadline, not after the server's 3, 30 or 100 s
    assert time.monotonic() - started < 8


def test_error_statuses_and_closed_ports_are_reported(allowed_site, settings):
    refused(allowed_site + "/missing", 400, errors.URL_HTTP_ERROR)
    with socket.socket() as unused:
        unused.bind((SITE_ADDRESS, 0))
        closed_port = unused.getsockname()[1]
    settings.URL_FETCH_PORTS = [closed_port]
    refused(f"http://{SITE_ADDRESS}:{closed_port}/photo", 400, errors.URL_CONNECTION_FAILED)


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory):
    """The same site over HTTPS, with a self-signed certificate for photos.test."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=photos.test", "-addext", "subjectAltName=DNS:photos.test"],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server = ThreadingHTTPServer((SITE_ADDRESS, 0), Site)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    server.handle_error = lambda request, address: None  # the refused handshake is expected
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port, names
    server.shutdown()
    server.server_close()


def test_https_sends_the_name_and_checks_the_certificate(tls_site, resolver, settings):
    port, names = tls_site
    resolver["photos.test"] = [SITE_ADDRESS]
    settings.URL_FETCH_PORTS = [port]
    settings.URL_FETCH_ALLOWED_NETWORKS = [f"{SITE_ADDRESS}/32"]
    message = refused(f"https://photos.test:{port}/photo", 400, errors.URL_CONNECTION_FAILED)
    assert "certificate" in message  # self-signed: not trusted
    assert names == ["photos.test"]  # connected to the checked address, named by SNI


def test_every_url_refusal_has_a_documented_4xx():
    url_codes = {value for name, value in vars(errors).items() if name.startswith("URL_")}
    assert url_codes <= set(errors.CODES)
    assert all(400 <= errors.CODES[code][0] < 500 for code in url_codes)


def test_a_request_of_slow_urls_holds_up_no_other_requests_images(allowed_site, photo):
    """Its downloads wait on their own threads: the decoders stay free for the images of
    another request sent meanwhile, which is answered while the slow one still waits."""
    slow = threading.Thread(target=lambda: APIClient().post(
        "/api/v1/classify", {"images": [{"url": allowed_site + "/slow"}] * 16}, format="json"))
    slow.start()
    time.sleep(0.3)  # its downloads have begun
    coffee = base64.b64encode(photo("coffee.png")).decode()
    response = APIClient().post("/api/v1/classify", {"images": [{"image_base64": coffee}] * 2}, format="json")
    still_waiting = slow.is_alive()
    slow.join()
    assert response.status_code == 200 and all(r["error"] is None for r in response.json()["results"])
    assert still_waiting
