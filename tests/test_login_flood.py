"""A flood of wrong passwords against the real `pyvision run`: refused guesses are
answered before any password is hashed, so they cost the site no more than its
cheapest request and a bystander's page stays fast.

On a 2-core machine, with the flooding client on the same cores, any flood of 8 threads
(even of `/healthz`) slows one web process's other requests 2-3x; the yardstick is
therefore the same flood of health checks, not the idle site."""

import statistics
import subprocess
import sys
import time

import pytest
import requests

from tests.live_service import LiveService

THREADS = 8
SAMPLES = 21

# The flooding threads run in a process of their own, so they do not slow the
# bystander's own client (one interpreter lock). Each prints every answer's status.
FLOOD = """
import sys, threading, time, requests
url, kind, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])

def flood():
    session = requests.Session()
    session.get(url + "/account/login/", timeout=30)
    while True:
        if kind == "login":
            response = session.post(url + "/account/login/", timeout=60, data={
                "username": "ada", "password": "wrong guess", "csrfmiddlewaretoken": session.cookies["csrftoken"]})
        else:
            response = session.get(url + "/healthz", timeout=60)
        with said:  # one whole line at a time: print() writes the number and the newline apart
            sys.stdout.write(f"{response.status_code}\\n")
            sys.stdout.flush()

said = threading.Lock()

for _ in range(threads):
    threading.Thread(target=flood, daemon=True).start()
time.sleep(600)
"""


@pytest.fixture
def service(tmp_path):
    running = LiveService(tmp_path / "data")
    yield running
    assert running.stop() == 0


def page_time(url: str) -> float:
    started = time.perf_counter()
    assert requests.get(url, timeout=60).status_code == 200
    return time.perf_counter() - started


def median_page_time_during(service, kind: str) -> tuple[float, list[int]]:
    """The bystander's median GET / while THREADS threads send `kind` requests, and
    the statuses those got."""
    flood = subprocess.Popen([sys.executable, "-c", FLOOD, service.url, kind, str(THREADS)],
                             stdout=subprocess.PIPE, text=True)
    try:
        # Past the login limits: from here on every wrong guess is refused.
        for _ in range(60):
            flood.stdout.readline()
        median = statistics.median(page_time(service.url + "/") for _ in range(SAMPLES))
    finally:
        flood.kill()
        statuses = [int(line) for line in flood.communicate()[0].split()]
    return median, statuses


def test_eight_threads_of_wrong_logins_cost_the_site_no_more_than_health_checks(service):
    service.create_token("ada")
    idle = statistics.median(page_time(service.url + "/") for _ in range(SAMPLES))
    health_checks, _ = median_page_time_during(service, "health")
    guesses, statuses = median_page_time_during(service, "login")
    print(f"GET / median: idle {idle * 1000:.1f} ms, during {THREADS} threads of /healthz {health_checks * 1000:.1f} ms,"
          f" of wrong logins {guesses * 1000:.1f} ms ({len(statuses)} guesses answered while measuring,"
          f" {statuses.count(429)} refused)")
    assert statuses.count(429) >= len(statuses) - THREADS > 0  # a few were in flight when the limit was reached
    # A refused guess reads its form and two counters, and its page is made once: 0.34 ms
    # in one process, a health check 0.20 ms. The two floods' medians came 0.8-2.0x apart
    # on a shared 2-core machine; a guess that hashed a password made it 15x or more.
    assert guesses <= 3 * health_checks
    # A refusal is the limit at work, not an error: no log line per guess (a flood would
    # fill the disk).
    assert "Too Many Requests" not in service.logs_tail(lines=10_000)
