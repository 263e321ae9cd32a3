"""Latency of `POST /api/v1/recognitions?wait=N` against a running service, one client.

    pyvision run &                      # or make run
    .venv/bin/python tools/bench_api.py --url http://127.0.0.1:8000 --image photo.jpg -n 50
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import requests
import urllib3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--image", type=Path, required=True)
    parser.add_argument("-n", type=int, default=50, help="requests to time (after 3 not timed)")
    parser.add_argument("--wait", type=float, default=5)
    parser.add_argument("--token", help="an API token; anonymous otherwise")
    args = parser.parse_args()

    # Encoded once: the client's own multipart encoding is not what is measured.
    body, content_type = urllib3.encode_multipart_formdata({"image": (args.image.name, args.image.read_bytes())})
    session = requests.Session()
    if args.token:
        session.headers["Authorization"] = f"Token {args.token}"
    endpoint = f"{args.url}/api/v1/recognitions?wait={args.wait:g}"
    times, statuses = [], {}
    for i in range(args.n + 3):
        started = time.perf_counter()
        response = session.post(endpoint, data=body, headers={"Content-Type": content_type}, timeout=args.wait + 30)
        elapsed = (time.perf_counter() - started) * 1000
        if i >= 3:  # the first requests warm up connections and the model
            times.append(elapsed)
            answer = response.json()
            key = f"{response.status_code} {answer.get('status') or answer['error']['code']}"
            statuses[key] = statuses.get(key, 0) + 1
    times.sort()
    print(json.dumps({
        "requests": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        "statuses": statuses,
    }))


if __name__ == "__main__":
    main()
