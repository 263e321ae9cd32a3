"""What depends on who asks (a user's or a browser session's photos, their account, a
new API key) is kept by no cache, the browser's included: after logging out on a shared
computer, Back or the history shows nothing of it."""

import re

import pytest

NO_STORE = "no-store"


def cache_control(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get("Cache-Control", "")


@pytest.mark.parametrize("path", ["/images/", "/images/{image}/", "/r/{recognition}/", "/r/{recognition}/card",
                                  "/account/profile/", "/account/tokens/", "/api/v1/recognitions"])
def test_a_users_pages_are_not_stored(make_user, upload, path):
    _, client = make_user()
    recognition = upload(client)
    response = client.get(path.format(image=recognition.image_id, recognition=recognition.pk))
    assert NO_STORE in cache_control(response)


def test_the_page_that_shows_a_new_api_key_is_not_stored(make_user):
    _, client = make_user()
    response = client.post("/account/tokens/", {"name": "backup"})
    assert re.search(r'<code class="token-key">', response.content.decode())
    assert NO_STORE in cache_control(response)


def test_an_anonymous_browsers_photos_are_not_stored(db, client, upload):
    recognition = upload(client)
    for path in ("/images/", f"/images/{recognition.image_id}/"):
        assert NO_STORE in cache_control(client.get(path))

