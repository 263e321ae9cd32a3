"""The web server: PYVISION_WEB_PROCESSES waitress processes accepting on one listening socket.

waitress reads each request, headers and body, on its event loop, and hands it to one of
the PYVISION_WEB_THREADS threads that run Django only once it has all of it (a body over
512 kB waits in a temporary file). A client that sends a byte every few seconds costs
a socket, not a thread: the threads run views, and nothing else.

The supervisor (``pyvision run`` or ``pyvision web``) binds the socket and starts the
processes with ``python -m pyvision.webserver FD``; they inherit it.
"""

import json
import logging
import signal
import socket
import sys
import time

# How long a stopping process keeps serving the requests it has already read.
DRAIN_SECONDS = 10

log = logging.getLogger("pyvision.web")


def listen(host: str, port: int) -> socket.socket:
    """The listening socket every web process accepts on, inheritable by them."""
    family, kind, proto, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(address)
    listener.listen(1024)
    listener.set_inheritable(True)
    return listener


def options(settings) -> dict:
    """waitress's settings for this service."""
    from pyvision.api.uploads import BODY_OVERHEAD_BYTES

    largest_body = max(settings.DATA_UPLOAD_MAX_NUMBER_FILES, settings.CLASSIFY_MAX_IMAGES) * (
        settings.MAX_UPLOAD_BYTES * 4 // 3 + BODY_OVERHEAD_BYTES)
    return {
        "threads": settings.WEB_THREADS,
        # Open connections, slow ones included; past it, new ones wait in the listen backlog.
        "connection_limit": settings.WEB_CONNECTIONS,
        # poll(): select() cannot watch more than 1024 sockets.
        "asyncore_use_poll": True,
        # Uploads arrive in fewer loop turns than with the default 8 kB.
        "recv_bytes": 64 * 1024,
        # No Server header: the product and its version are nobody's business.
        "ident": None,
        # The largest body a view accepts: a form of DATA_UPLOAD_MAX_NUMBER_FILES photos, or
        # a classify request, each photo base64-encoded at worst. waitress answers a larger one 413.
        "max_request_body_size": largest_body,
        # Request line and headers together; a URL over pyvision.api.middleware.MAX_URL_BYTES
        # reaches Django, which refuses it in the API's JSON shape.
        "max_request_header_size": 64 * 1024,
        "clear_untrusted_proxy_headers": False,
    }


def json_error_channel():
    """waitress's connections, answering its own refusals (a malformed request: 400, a
    body over the largest any view takes: 413, headers over their limit: 431) in the
    API's error shape instead of plain text."""
    from waitress.channel import HTTPChannel
    from waitress.task import ErrorTask

    from pyvision.api import errors

    class JsonErrorTask(ErrorTask):
        def execute(self):
            refusal = self.request.error
            code = errors.STATUS_CODES.get(refusal.code, errors.BAD_REQUEST)
            body = json.dumps(errors.error_body(code)).encode()
            self.status = f"{refusal.code} {refusal.reason}"
            self.response_headers.append(("Content-Type", "application/json"))
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class JsonErrorChannel(HTTPChannel):
        error_task_class = JsonErrorTask

    return JsonErrorChannel


def serve(listener: socket.socket) -> None:
    """One web process: serves until SIGTERM or SIGINT, then finishes the requests it
    has read (for up to DRAIN_SECONDS) and exits."""
    from django.conf import settings
    from waitress import wasyncore
    from waitress.server import create_server

    from pyvision.wsgi import application

    sockets = {}
    server = create_server(logged(application), map=sockets, sockets=[listener], **options(settings))
    server.channel_class = json_error_channel()
    stopping = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda signum, frame: stopping.append(signum))
    while not stopping:
        wasyncore.loop(timeout=1, map=sockets, use_poll=True, count=1)
    # No new connection: another process takes it, or, the last one gone, it is refused.
    wasyncore.dispatcher.close(server)  # waitress's own close() would close the trigger the threads still pull
    deadline = time.monotonic() + DRAIN_SECONDS
    while busy(server) and time.monotonic() < deadline:
        wasyncore.loop(timeout=0.1, map=sockets, use_poll=True, count=1)
    server.task_dispatcher.shutdown()
    wasyncore.close_all(sockets)


def busy(server) -> bool:
    """A request read and not answered yet, or an answer not sent yet; a request still
    arriving does not count. (waitress's channel attributes, the same since 1.x; the
    dependency is pinned below 4.)"""
    return any(channel.requests or channel.total_outbufs_len for channel in server.active_channels.values())


def logged(application):
    """One line per request, as an access log: address, method, path, status, milliseconds."""

    def logging_application(environ, start_response):
        started = time.perf_counter()

        def logging_start_response(status, headers, exc_info=None):
            log.info("%s %s %s %s %.0f ms", environ.get("REMOTE_ADDR", "-"), environ["REQUEST_METHOD"],
                     environ.get("PATH_INFO", ""), status.split(" ", 1)[0], (time.perf_counter() - started) * 1000)
            return start_response(status, headers, exc_info)

        return application(environ, logging_start_response)

    return logging_application


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
