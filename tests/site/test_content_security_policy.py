"""Every page carries a Content-Security-Policy that lets only the site's own files run
or style it, and the pages need nothing more: no inline script, style or handler, so a
script injected into one would not run, and nothing the site does is refused."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect, sync_playwright

from tests.live_service import LiveService
from tests.site.test_browser import CHROMIUM, CHROMIUM_ARGS

INLINE = re.compile(r"<script(?![^>]*\b(src|type=\"application/json\")=?)[^>]*>|<style|\sstyle=|\son[a-z]+=", re.I)


def assert_strict_policy(response):
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


def test_every_page_has_the_policy_and_nothing_inline(make_user, upload):
    user, client = make_user()
    recognition = upload(client)
    paths = ["/", "/images/", f"/images/{recognition.image_id}/", f"/r/{recognition.pk}/", f"/r/{recognition.pk}/card",
             "/objects/", "/about/", "/account/profile/", "/account/tokens/", "/api/docs/"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict_policy(response)
        assert not INLINE.search(response.content.decode()), (path, INLINE.search(response.content.decode()))
    get_user_model().objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    for path in ("/admin/", "/admin/recognition/recognition/", f"/admin/recognition/recognition/{recognition.pk}/change/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict_policy(response)


@pytest.fixture
def service(tmp_path):
    running = LiveService(tmp_path / "data")
    yield running
    assert running.stop() == 0


def test_in_a_browser_the_site_works_under_its_policy(service, photo, tmp_path):
    refused = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="en-US")
            page.on("console", lambda message: refused.append(message.text)
                    if "Content Security Policy" in message.text else None)
            response = page.goto(service.url + "/")
            assert "default-src 'self'" in response.headers["content-security-policy"]
            (tmp_path / "coffee.png").write_bytes(photo("coffee.png"))
            page.get_by_label("Photos (up to 20 MB each)").set_input_files([tmp_path / "coffee.png"])
            expect(page.locator("#results .card.status-done")).to_have_count(1, timeout=60_000)
            # The confidence bars are drawn: the first one's filled part has a width.
            assert page.locator("#results .bar rect").first.bounding_box()["width"] > 0
            page.goto(service.url + "/api/docs/")
            expect(page.locator(".swagger-ui .info .title")).to_contain_text("pyvision API", timeout=30_000)
        finally:
            browser.close()
    assert refused == []
