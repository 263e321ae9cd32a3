"""The pipeline behind `pyvision classify` and `tag`: outcomes in the items' order, a
file that fails alone, and batches that run side by side when asked to."""

import threading

from pyvision.engine import errors
from pyvision.engine.errors import ImageError
from pyvision.engine.pipeline import Failure, pipelined


def prepare(item: int) -> int:
    if item % 7 == 3:
        raise ImageError(errors.CORRUPT_IMAGE, f"item {item} is broken")
    return item * 10


def test_outcomes_come_in_order_and_a_bad_item_fails_alone_with_two_batches_at_once():
    outcomes = list(pipelined(range(50), prepare, lambda batch: [value + 1 for value in batch],
                              jobs=3, batch_size=4, batches_at_once=2))

    assert [item for item, _ in outcomes] == list(range(50))
    for item, outcome in outcomes:
        if item % 7 == 3:
            assert outcome == Failure(errors.CORRUPT_IMAGE, f"item {item} is broken")
        else:
            assert outcome == item * 10 + 1


def test_two_batches_are_processed_at_the_same_time():
    # Each of the first two batches waits for the other inside ``process``: with one batch
    # at a time the barrier would break after its timeout.
    together = threading.Barrier(2, timeout=10)
    met = []

    def process(batch: list[int]) -> list[int]:
        if batch[0] < 20:
            together.wait()
            met.append(batch[0])
        return batch

    outcomes = list(pipelined(range(40), lambda item: item, process, jobs=2, batch_size=10, batches_at_once=2))

    assert sorted(met) == [0, 10]
    assert [outcome for _, outcome in outcomes] == list(range(40))


def test_while_the_caller_works_on_one_batch_the_model_runs_as_many_more():
    # `tag` writes a sidecar for each outcome it gets: meanwhile the next two batches
    # must both be in ``process``. The caller holds the first batch's outcomes until they
    # meet; if its batch still counted against the two, the barrier would break.
    together = threading.Barrier(3, timeout=10)
    met = []

    def process(batch: list[int]) -> list[int]:
        if batch[0] in (10, 20):
            together.wait()
            met.append(batch[0])
        return batch

    outcomes = []
    for item, outcome in pipelined(range(40), lambda item: item, process, jobs=2, batch_size=10, batches_at_once=2):
        if item == 0:
            together.wait()
        outcomes.append(outcome)

    assert sorted(met) == [10, 20]
    assert outcomes == list(range(40))
