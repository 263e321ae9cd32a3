"""How a request waiting for a recognition (``?wait``) learns that it is finished.

The worker announces each finished recognition; every web process listens, and wakes
the requests waiting for it, instead of each asking the database every few milliseconds.
The channel is whatever the deployment already runs:

- embedded mode: a datagram socket per web process in ``DATA_DIR/run/`` (web and worker
  share the machine);
- a Redis broker: a pub/sub channel;
- anything else: the database is asked, less often as time goes by.

An announcement can be lost (a web process restarting, Redis reconnecting): a waiting
request still looks at the database every LOOK_AGAIN_SECONDS, so it is late, never stuck.
"""

import logging
import os
import socket
import threading
import time
import uuid
from pathlib import Path

from django.conf import settings

from .models import Recognition

log = logging.getLogger(__name__)

LOOK_AGAIN_SECONDS = 0.25
# Without a channel: often at first (a recognition takes milliseconds), less often later.
FIRST_POLL_SECONDS = 0.001
LONGEST_POLL_SECONDS = 0.01
REDIS_CHANNEL = "pyvision:finished"


def wait_for(recognition_id, seconds: float) -> None:
    """Return once the recognition is done or failed, or after ``seconds``."""
    deadline = time.monotonic() + seconds
    listener = _listener()
    unfinished = Recognition.objects.filter(pk=recognition_id, status__in=[Recognition.Status.QUEUED, Recognition.Status.RUNNING])
    if listener is None:
        pause = FIRST_POLL_SECONDS
        while unfinished.exists() and (remaining := deadline - time.monotonic()) > 0:
            time.sleep(min(pause, remaining))
            pause = min(pause * 1.5, LONGEST_POLL_SECONDS)
        return
    announced = listener.expect(str(recognition_id))
    try:
        while unfinished.exists() and (remaining := deadline - time.monotonic()) > 0:
            announced.wait(min(LOOK_AGAIN_SECONDS, remaining))
    finally:
        listener.forget(str(recognition_id))


def announce(recognition_id) -> None:
    """Tell the web processes a recognition is finished (after its result is committed)."""
    try:
        if settings.EMBEDDED_BROKER:
            _announce_by_socket(str(recognition_id))
        elif settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
            _redis().publish(REDIS_CHANNEL, str(recognition_id))
    except Exception:  # the waiting request looks at the database anyway
        log.warning("recognition %s: could not announce its result", recognition_id, exc_info=True)


class Listener:
    """One per web process: a thread that receives announcements and wakes the waiters."""

    def __init__(self, receive):
        self._waiting: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._receive = receive
        threading.Thread(target=self._run, name="finished-listener", daemon=True).start()

    def expect(self, recognition_id: str) -> threading.Event:
        with self._lock:
            return self._waiting.setdefault(recognition_id, threading.Event())

    def forget(self, recognition_id: str) -> None:
        with self._lock:
            self._waiting.pop(recognition_id, None)

    def _run(self) -> None:
        while True:
            try:
                for recognition_id in self._receive():
                    with self._lock:
                        event = self._waiting.get(recognition_id)
                    if event:
                        event.set()
            except Exception:  # e.g. Redis restarting: listen again shortly; waiters poll meanwhile
                log.warning("listening for finished recognitions failed; listening again", exc_info=True)
                time.sleep(1)


_listener_instance: Listener | None = None
_listener_lock = threading.Lock()


def _listener() -> Listener | None:
    global _listener_instance
    with _listener_lock:
        if _listener_instance is None:
            if settings.EMBEDDED_BROKER and hasattr(socket, "AF_UNIX"):
                _listener_instance = Listener(_socket_receiver())
            elif settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
                _listener_instance = Listener(_redis_receiver)
        return _listener_instance


# --- Embedded mode: datagram sockets ------------------------------------------------------

def _socket_dir() -> Path:
    return Path(settings.DATA_DIR) / "run"


def _socket_receiver():
    folder = _socket_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"finished-{os.getpid()}-{uuid.uuid4().hex[:8]}.sock"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(path))

    def receive():
        while True:
            yield receiver.recv(64).decode()

    return receive


def _announce_by_socket(recognition_id: str) -> None:
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sender.setblocking(False)
    with sender:
        for path in _socket_dir().glob("finished-*.sock"):
            try:
                sender.sendto(recognition_id.encode(), str(path))
            except (ConnectionRefusedError, FileNotFoundError):
                path.unlink(missing_ok=True)  # its web process is gone
            except BlockingIOError:
                pass  # that process is not reading: its waiters will look at the database


# --- Redis: publish and subscribe ---------------------------------------------------------

_redis_client = None


def _redis():
    global _redis_client
    if _redis_client is None:
        import redis

        _redis_client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return _redis_client


def _redis_receiver():
    subscription = _redis().pubsub(ignore_subscribe_messages=True)
    subscription.subscribe(REDIS_CHANNEL)
    for message in subscription.listen():
        yield message["data"].decode()
