"""The embedded broker never hands a worker a message that is still being written."""

import threading

from kombu import Connection
from kombu.transport import filesystem

from pyvision import broker


def pump(channel_transport, folder, messages: int) -> list[Exception]:
    """One thread sends, another takes as fast as it can; returns what the taker hit."""
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "polling_interval": 0}
    problems, received = [], []
    with Connection("filesystem://", transport=channel_transport, transport_options=options) as sender, \
            Connection("filesystem://", transport=channel_transport, transport_options=options) as taker:
        send, take = sender.default_channel, taker.default_channel
        done = threading.Event()

        def taking():
            while True:
                try:
                    received.append(take._get("jobs"))
                except filesystem.Empty:
                    if done.is_set() and len(received) + len(problems) >= messages:
                        return
                except Exception as exc:  # what a worker would die of
                    problems.append(exc)

        thread = threading.Thread(target=taking)
        thread.start()
        payload = {"body": "x" * 20_000, "headers": {}}
        for _ in range(messages):
            send._put("jobs", payload)
        done.set()
        thread.join(timeout=60)
    assert all(message == payload for message in received)
    return problems


def test_a_message_is_taken_whole_or_not_at_all(tmp_path):
    assert pump(broker.Transport, tmp_path, 1500) == []
    assert not list(tmp_path.iterdir())  # nothing half-written left behind
