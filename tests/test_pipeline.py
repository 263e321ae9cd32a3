"""Upload -> recognition -> result, in-process: what is stored, claimed and written."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from pyvision.engine.classifier import Classifier
from pyvision.recognition import pipeline, worker
from pyvision.recognition.models import Recognition
from tests import bad_images

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def submit(data: bytes, name="photo.png", **kwargs) -> Recognition:
    return pipeline.submit(ContentFile(data, name=name), session_key="s" * 32, **kwargs)


def test_an_upload_is_stored_under_a_name_of_ours_and_enqueued_on_commit(photo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        recognition = submit(photo("chelsea.png"), name="../../etc/" + "x" * 5000 + ".png")
    assert recognition.status == "queued"
    assert len(callbacks) == 1
    stored = recognition.image.file.name
    assert stored.startswith("images/") and ".." not in stored and "x" * 10 not in stored
    assert recognition.image.file.read() == photo("chelsea.png")
    assert recognition.image.original_name.endswith(".png") and len(recognition.image.original_name) == 255


def test_a_recognition_ends_done_with_ranked_predictions_and_timings(photo):
    recognition = submit(photo("coffee.png"))
    worker.run(recognition.pk)
    recognition.refresh_from_db()
    assert recognition.status == "done"
    assert recognition.attempts == 1
    predictions = list(recognition.predictions.select_related("synset"))
    assert [p.rank for p in predictions] == [1, 2, 3, 4, 5]
    assert predictions[0].synset.wnid == "n07920052"  # espresso
    assert predictions[0].synset.label("zh-hans") == "意大利浓咖啡"
    assert all(value > 0 for value in (recognition.decode_ms, recognition.inference_ms, recognition.total_ms))
    assert recognition.queue_ms >= 0
    assert recognition.finished_at >= recognition.started_at >= recognition.created_at


def test_the_chosen_model_and_top_k_are_used(photo):
    recognition = submit(photo("chelsea.png"), model="lite2", top_k=3)
    worker.run(recognition.pk)
    recognition.refresh_from_db()
    assert recognition.model == "lite2"
    assert recognition.predictions.count() == 3


def test_running_a_finished_recognition_again_changes_nothing(photo):
    recognition = submit(photo("chelsea.png"))
    worker.run(recognition.pk)
    first = Recognition.objects.get(pk=recognition.pk)
    worker.run(recognition.pk)
    again = Recognition.objects.get(pk=recognition.pk)
    assert (again.attempts, again.finished_at, again.predictions.count()) == (1, first.finished_at, 5)


@pytest.mark.parametrize("name", ["notes.txt", "empty.jpg", "truncated.jpg", "bomb.png", "needle.png"])
def test_bad_input_fails_with_a_code_and_a_message(photo, name):
    data, code = bad_images.bad_files(photo("coffee.png"))[name]
    recognition = submit(data, name=name)
    worker.run(recognition.pk)
    recognition.refresh_from_db()
    assert (recognition.status, recognition.error_code) == ("failed", code)
    assert len(recognition.error_message) > 10
    assert recognition.predictions.count() == 0


def test_a_file_gone_from_storage_fails_clearly(photo):
    recognition = submit(photo("chelsea.png"))
    recognition.image.file.delete(save=False)
    worker.run(recognition.pk)
    recognition.refresh_from_db()
    assert (recognition.status, recognition.error_code) == ("failed", "file_missing")


def test_an_interrupted_recognition_is_queued_and_sent_again(photo, django_capture_on_commit_callbacks):
    recognition = submit(photo("chelsea.png"))
    five_minutes_ago = timezone.now() - timedelta(minutes=5)
    Recognition.objects.filter(pk=recognition.pk).update(
        status="running", attempts=1, created_at=five_minutes_ago, started_at=five_minutes_ago)
    fresh = submit(photo("coffee.png"))
    with django_capture_on_commit_callbacks() as callbacks:
        requeued = pipeline.requeue_unfinished(timedelta(minutes=1))
    assert requeued == 1 and len(callbacks) == 1
    assert Recognition.objects.get(pk=recognition.pk).status == "queued"
    assert Recognition.objects.get(pk=fresh.pk).status == "queued"
    worker.run(recognition.pk)
    finished = Recognition.objects.get(pk=recognition.pk)
    assert (finished.status, finished.attempts) == ("done", 2)


def test_an_attempt_presumed_lost_cannot_overwrite_the_newer_one(photo):
    recognition = submit(photo("chelsea.png"))
    Recognition.objects.filter(pk=recognition.pk).update(status="running", attempts=1, started_at=timezone.now())
    lost_attempt = Recognition.objects.get(pk=recognition.pk)
    pipeline.requeue_unfinished(timedelta(0))
    worker.run(recognition.pk)
    late_result = Classifier("lite0").recognize(photo("coffee.png"))
    worker.finish(lost_attempt, late_result)
    recognition.refresh_from_db()
    assert recognition.attempts == 2
    assert recognition.predictions.count() == 5
    assert recognition.predictions.get(rank=1).synset.wnid != "n07920052"


def test_storage_that_fails_for_a_moment_gives_the_recognition_back(photo, media):
    recognition = submit(photo("coffee.png"))
    images = media / "images"
    # A real OSError from the storage: the folder of the stored file is not a folder.
    images.rename(media / "away")
    images.write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        worker.run(recognition.pk)
    assert Recognition.objects.get(pk=recognition.pk).status == "queued"
    images.unlink()
    (media / "away").rename(images)
    worker.run(recognition.pk)
    done = Recognition.objects.get(pk=recognition.pk)
    assert (done.status, done.attempts) == ("done", 2)


def test_storage_that_keeps_failing_ends_in_a_clear_failure(photo, media, settings):
    settings.RECOGNITION_MAX_ATTEMPTS = 2
    recognition = submit(photo("coffee.png"))
    (media / "images").rename(media / "away")
    (media / "images").write_bytes(b"")
    for _ in range(2):
        with pytest.raises(NotADirectoryError):
            worker.run(recognition.pk)
    failed = Recognition.objects.get(pk=recognition.pk)
    assert (failed.status, failed.error_code, failed.attempts) == ("failed", "storage_unavailable", 2)
