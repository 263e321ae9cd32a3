"""Download an image from a URL someone sent, without opening the networks behind the
server to them (SSRF).

Only http and https on allowed ports. The host is resolved once, every address it
resolves to is checked, and the connection goes to the checked address (the name is
kept for the Host header, TLS SNI and certificate check), so a DNS answer that changes
between the check and the connection (rebinding) cannot redirect it. Each redirect is
checked again. The body is streamed and cut at the size limit; what the bytes are is
for the decoder to say, not the Content-Type.
"""

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin

import urllib3
from urllib3.exceptions import HTTPError, LocationParseError, NewConnectionError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from . import errors

REDIRECT_STATUSES = {301, 302, 303, 307, 308}
MAX_REDIRECTS = 3
CHUNK_BYTES = 64 * 1024
USER_AGENT = "pyvision (image recognition; fetches one image per request)"


class FetchError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class FetchPolicy:
    ports: frozenset[int]
    max_bytes: int
    connect_timeout: float
    # The whole download, redirects included, must end within this many seconds.
    timeout: float
    allowed_networks: tuple = ()


@dataclass(frozen=True)
class Fetched:
    data: bytes
    url: str


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    request_uri: str


def fetch(url: str, policy: FetchPolicy) -> Fetched:
    deadline = time.monotonic() + policy.timeout
    for _ in range(MAX_REDIRECTS + 1):
        target = parse(url, policy)
        address = resolve(target, policy)
        response = _request(target, address, policy, deadline)
        try:
            if response.status in REDIRECT_STATUSES:
                location = response.headers.get("Location")
                if not location:
                    raise FetchError(errors.URL_HTTP_ERROR, f"The server answered {response.status} without a Location.")
                url = urljoin(url, location)
                continue
            if not 200 <= response.status < 300:
                raise FetchError(errors.URL_HTTP_ERROR, f"The server at the URL answered HTTP {response.status}.")
            return Fetched(_read_limited(response, policy, deadline), url)
        finally:
            response.close()
    raise FetchError(errors.URL_TOO_MANY_REDIRECTS, f"The URL redirects more than {MAX_REDIRECTS} times.")


def parse(url: str, policy: FetchPolicy) -> Target:
    try:
        parsed = urllib3.util.parse_url(url.strip())
    except LocationParseError:
        raise FetchError(errors.URL_INVALID, "The URL is not a valid absolute URL.") from None
    scheme = (parsed.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise FetchError(errors.URL_SCHEME_NOT_ALLOWED, "Only http and https URLs are fetched.")
    if not parsed.host:
        raise FetchError(errors.URL_INVALID, "The URL has no host.")
    if parsed.auth:
        raise FetchError(errors.URL_INVALID, "URLs with a user name or password are not fetched.")
    port = parsed.port or (443 if scheme == "https" else 80)
    if port not in policy.ports:
        allowed = ", ".join(str(p) for p in sorted(policy.ports))
        raise FetchError(errors.URL_PORT_NOT_ALLOWED, f"Port {port} is not fetched from; allowed ports: {allowed}.")
    return Target(scheme, parsed.host.strip("[]"), port, parsed.request_uri)


def resolve(target: Target, policy: FetchPolicy) -> str:
    """The address to connect to, once every address the host resolves to is allowed."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise FetchError(errors.URL_HOST_NOT_FOUND, f"The host name {target.host[:100]!r} does not resolve.") from None
    addresses = [info[4][0] for info in infos]
    for address in addresses:
        if not is_allowed(ipaddress.ip_address(address.split("%")[0]), policy):
            raise FetchError(errors.URL_ADDRESS_NOT_ALLOWED,
                             f"The host {target.host[:100]!r} is at {address}, an address that is not fetched from "
                             "(loopback, private, link-local, multicast, reserved or unspecified).")
    return addresses[0]


def is_allowed(address, policy: FetchPolicy) -> bool:
    if address.version == 6 and (address.ipv4_mapped or address.sixtofour or address.teredo):
        # An IPv4 address in IPv6 clothing: refused rather than unwrapped and judged.
        return False
    if any(address in network for network in policy.allowed_networks):
        return True
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def cut_at(deadline: float, connection_class):
    """``connection_class``, with its socket shut down once ``deadline`` passes.

    urllib3's read timeout applies to each read: a server sending its status line and
    headers a byte at a time would otherwise hold the request (and a web thread) for as
    long as it likes.
    """

    class CutAtDeadline(connection_class):
        def connect(self):
            super().connect()
            self._watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), self._cut)
            self._watchdog.daemon = True
            self._watchdog.start()

        def _cut(self):
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except (AttributeError, OSError):
                pass  # already closed

        def close(self):
            if watchdog := getattr(self, "_watchdog", None):
                watchdog.cancel()
            super().close()

    return CutAtDeadline


def _request(target: Target, address: str, policy: FetchPolicy, deadline: float):
    timeout = urllib3.Timeout(connect=policy.connect_timeout, read=_remaining(deadline))
    options = {"port": target.port, "timeout": timeout, "retries": False, "maxsize": 1}
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, server_hostname=target.host, cert_reqs="CERT_REQUIRED", **options)
    else:
        pool = urllib3.HTTPConnectionPool(address, **options)
    pool.ConnectionCls = cut_at(deadline, pool.ConnectionCls)
    default_port = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    headers = {
        "Host": host if target.port == default_port else f"{host}:{target.port}",
        "User-Agent": USER_AGENT,
        "Accept": "image/*",
        # The bytes counted against the limit are the bytes decoded: no compression.
        "Accept-Encoding": "identity",
    }
    try:
        return pool.urlopen("GET", target.request_uri, headers=headers, redirect=False, retries=False,
                            preload_content=False, decode_content=False, assert_same_host=False)
    except SSLError:
        raise FetchError(errors.URL_CONNECTION_FAILED, "The server at the URL has no valid TLS certificate for its name.") from None
    except NewConnectionError:
        # Caught before the timeout below: urllib3 makes a refused connection a kind of timeout.
        raise FetchError(errors.URL_CONNECTION_FAILED, "The server at the URL refused the connection or is unreachable.") from None
    except Urllib3Timeout:
        raise _no_answer() from None
    except HTTPError as exc:
        if time.monotonic() >= deadline:  # cut by the watchdog
            raise _no_answer() from None
        raise FetchError(errors.URL_CONNECTION_FAILED, f"The server at the URL could not be reached ({type(exc).__name__}).") from None


def _read_limited(response, policy: FetchPolicy, deadline: float) -> bytes:
    too_large = FetchError(errors.URL_TOO_LARGE, f"The file at the URL is larger than the "
                                                 f"{policy.max_bytes // (1024 * 1024)} MB limit.")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise too_large
    too_slow = FetchError(errors.URL_TIMEOUT, "The file at the URL took too long to download.")
    chunks, size = [], 0
    try:
        # read1 returns what one read of the socket gave, so a server sending a byte
        # at a time cannot keep us past the deadline.
        while chunk := response.read1(CHUNK_BYTES):
            size += len(chunk)
            if size > policy.max_bytes:
                raise too_large
            if time.monotonic() > deadline:
                raise too_slow
            chunks.append(chunk)
    except Urllib3Timeout:
        raise too_slow from None
    except HTTPError as exc:
        if time.monotonic() >= deadline:  # cut by the watchdog
            raise too_slow from None
        raise FetchError(errors.URL_CONNECTION_FAILED, f"The download broke off ({type(exc).__name__}).") from None
    if time.monotonic() >= deadline:  # the watchdog's cut ends the body like a close
        raise too_slow
    return b"".join(chunks)


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _no_answer()
    return remaining


def _no_answer() -> FetchError:
    return FetchError(errors.URL_TIMEOUT, "The server at the URL did not answer in time.")
