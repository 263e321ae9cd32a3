"""Thumbnails are made by the worker from its own decode, never in a web request; until
one exists, a card shows a quiet placeholder, not a broken image with its alt text."""

import re

from pyvision.recognition import worker
from pyvision.recognition.models import Image


def test_a_queued_card_shows_a_placeholder_then_the_workers_thumbnail(make_user, upload):
    _, client = make_user()
    recognition = upload(client, recognise=False)
    card = client.get(f"/r/{recognition.pk}/card").content.decode()
    assert "no-thumbnail" in card and "/thumbnail" not in card
    assert client.get(f"/images/{recognition.image_id}/thumbnail").status_code == 404
    worker.run(str(recognition.pk))
    assert Image.objects.get(pk=recognition.image_id).thumbnail  # made by the worker, before anyone asked
    card = client.get(f"/r/{recognition.pk}/card").content.decode()
    assert re.search(rf'<img src="/images/{recognition.image_id}/thumbnail"', card)
    assert client.get(f"/images/{recognition.image_id}/thumbnail")["Content-Type"] == "image/jpeg"


def test_an_image_that_cannot_be_decoded_has_no_thumbnail_and_is_never_decoded_again(make_user, upload, photo):
    _, client = make_user()
    recognition = upload(client, "broken.png", photo("chelsea.png")[:2000])
    assert recognition.status == "failed"
    for _ in range(3):
        assert client.get(f"/images/{recognition.image_id}/thumbnail").status_code == 404
    assert "No preview" in client.get("/images/").content.decode()
