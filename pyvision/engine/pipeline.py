"""Many files through one model: read and decode in parallel, infer in batches.

While batches run (through the local model, or a server), a pool of threads prepares
the next ones: Pillow and onnxruntime release the GIL, so decoding and inference overlap
on every core. Results come back in the order of the items.
"""

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from .errors import ImageError

Item = TypeVar("Item")
Prepared = TypeVar("Prepared")
Outcome = TypeVar("Outcome")

UNREADABLE_FILE = "unreadable_file"
BATCH_SIZE = 16
# The model on this machine runs two batches at once, sharing onnxruntime's threads: the
# threads of one batch wait for each other after every layer, and the other batch fills
# those waits. An image costs the model as much in a batch of 8 as in one of 16, and
# smaller batches keep every core busy sooner at the start and longer at the end.
LOCAL_BATCH_SIZE = 8
LOCAL_BATCHES_AT_ONCE = 2


@dataclass(frozen=True)
class Failure:
    """An item that could not be prepared or classified: the others go on."""

    code: str
    message: str


def pipelined(items: Iterable[Item], prepare: Callable[[Item], Prepared],
              process: Callable[[list[Prepared]], list[Outcome | Failure]], *,
              jobs: int | None = None, batch_size: int = BATCH_SIZE,
              batches_at_once: int = 1) -> Iterator[tuple[Item, Outcome | Failure]]:
    """Yields ``(item, outcome)`` for each item, in order.

    ``prepare`` runs on ``jobs`` threads and may raise ImageError or OSError (that item
    fails alone); ``process`` gets up to ``batch_size`` prepared items at a time, on
    ``batches_at_once`` threads of its own, and returns one outcome for each.
    """
    jobs = jobs or os.cpu_count() or 1
    # Enough work in flight for the pool to stay busy while batches are processed, and
    # no more: a library of 30,000 photos is never held in memory at once.
    window = (batches_at_once + 1) * batch_size + jobs
    pending: deque[tuple[Item, Future]] = deque()
    remaining = iter(items)
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="prepare") as pool, \
            ThreadPoolExecutor(max_workers=batches_at_once, thread_name_prefix="process") as processing:
        def refill() -> None:
            while len(pending) < window:
                item = next(remaining, pending)  # the deque itself marks the end
                if item is pending:
                    return
                pending.append((item, pool.submit(attempt, prepare, item)))

        def start_batch() -> tuple[list[tuple[Item, Prepared | Failure]], Future | None]:
            batch = []
            while pending and len(batch) < batch_size:
                item, future = pending.popleft()
                batch.append((item, future.result()))
                refill()
            ready = [prepared for _, prepared in batch if not isinstance(prepared, Failure)]
            return batch, processing.submit(process, ready) if ready else None

        def start_batches() -> None:
            while pending and len(started) < batches_at_once:
                started.append(start_batch())

        started: deque[tuple[list, Future | None]] = deque()
        refill()
        start_batches()
        while started:
            batch, processed = started.popleft()
            outcomes = iter(processed.result() if processed else [])
            # The next batch goes to the model before these go to the caller: what the
            # caller does with each (`tag` writes its sidecar) must not leave a batch's
            # turn unused.
            start_batches()
            for item, prepared in batch:
                yield item, prepared if isinstance(prepared, Failure) else next(outcomes)


def attempt(prepare: Callable[[Item], Prepared], item: Item) -> Prepared | Failure:
    """``prepare(item)``, or the Failure it raised as ImageError or OSError."""
    try:
        return prepare(item)
    except ImageError as exc:
        return Failure(exc.code, exc.message)
    except OSError as exc:
        return Failure(UNREADABLE_FILE, exc.strerror or str(exc))
