"""Adaptive batching: concurrent callers share batches and get exactly their own answers;
the queue is bounded; a failing batch fails its callers, not the batcher."""

import threading
import time

import numpy as np
import pytest

from pyvision.engine.batcher import Batcher, QueueFull
from pyvision.engine.classifier import Classifier

PHOTOS = ["chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png"]


@pytest.fixture(scope="module")
def classifier():
    return Classifier("lite0")


@pytest.fixture
def recorded(classifier, monkeypatch):
    """The real model, with each batch's size written down, and a gate to hold it."""
    sizes, gate = [], threading.Event()
    gate.set()
    real = classifier.infer

    def infer(batch):
        gate.wait()
        sizes.append(len(batch))
        return real(batch)

    monkeypatch.setattr(classifier, "infer", infer)
    return sizes, gate, real


def hold_the_model(batcher: Batcher, pixels: np.ndarray) -> dict:
    """Submit ``pixels`` from a thread of its own: with the model idle it runs them itself,
    and waits at the closed gate. Returns once the model is held; ["future"] is its answer."""
    held: dict = {}
    threading.Thread(target=lambda: held.update(future=batcher.submit(pixels)), daemon=True).start()
    while not batcher._running.locked():
        threading.Event().wait(0.001)
    return held


def wait_until_taken(batcher: Batcher) -> None:
    while batcher._waiting.qsize():
        threading.Event().wait(0.001)


def test_callers_waiting_together_share_a_batch_and_get_their_own_answers(classifier, recorded, photo):
    sizes, gate, real = recorded
    inputs = [classifier.prepare(photo(name)) for name in PHOTOS] * 3
    expected = [[output[0] for output in real(x[np.newaxis])] for x in inputs]
    batcher = Batcher(classifier, max_batch=8)
    gate.clear()  # the first caller holds the model while the others queue up behind it
    held = hold_the_model(batcher, inputs[0])
    futures = [batcher.submit(x) for x in inputs[1:]]
    gate.set()
    while "future" not in held:
        threading.Event().wait(0.001)
    for future, (probabilities, embedding) in zip([held["future"], *futures], expected):
        got = future.result(timeout=30)
        np.testing.assert_allclose(got[0], probabilities, atol=1e-4)
        np.testing.assert_allclose(got[1], embedding, atol=1e-3)
    assert sum(sizes) == len(inputs) and max(sizes) == 8 and len(sizes) <= 3


def test_a_lone_caller_does_not_wait_for_company_and_runs_the_model_itself(classifier, recorded, photo, monkeypatch):
    sizes, _gate, _real = recorded
    batcher = Batcher(classifier, max_batch=16)
    ran_in = []
    infer = classifier.infer
    monkeypatch.setattr(classifier, "infer", lambda batch: ran_in.append(threading.current_thread()) or infer(batch))
    for _ in range(3):
        batcher.submit(classifier.prepare(photo("coffee.png"))).result(timeout=30)
    assert sizes == [1, 1, 1] and ran_in == [threading.current_thread()] * 3


def test_a_full_queue_is_refused_at_once(classifier, recorded, photo):
    _sizes, gate, _real = recorded
    pixels = classifier.prepare(photo("coffee.png"))
    batcher = Batcher(classifier, max_batch=1, queue_limit=2)
    gate.clear()
    held = hold_the_model(batcher, pixels)
    taken = batcher.submit(pixels)  # taken by the model's thread, which waits for the model
    wait_until_taken(batcher)
    queued = [batcher.submit(pixels), batcher.submit(pixels)]
    with pytest.raises(QueueFull):
        batcher.submit(pixels)
    gate.set()
    while "future" not in held:
        threading.Event().wait(0.001)
    assert all(f.result(timeout=30)[0].argmax() == 967 for f in [held["future"], taken, *queued])  # espresso


def test_a_failing_batch_fails_its_callers_and_the_next_one_runs(classifier, photo):
    batcher = Batcher(classifier)
    with pytest.raises(Exception):
        batcher.submit(np.zeros((3, 5, 5), np.float32)).result(timeout=30)  # the wrong shape for the model
    assert batcher.submit(classifier.prepare(photo("coffee.png"))).result(timeout=30)[0].argmax() == 967


def test_what_is_done_with_the_decoded_picture_counts_as_neither_decoding_nor_inference(classifier, photo):
    # A worker makes the thumbnail there: a slow storage must not show as a slow model.
    batcher = Batcher(classifier)
    result = batcher.recognize(photo("rocket.jpg"), decoded_to=lambda picture: time.sleep(1))
    assert result.predictions and 0 < result.decode_ms < 1000 and 0 < result.inference_ms < 1000
