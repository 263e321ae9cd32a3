"""The site in a real browser (Debian's Chromium driven by Playwright) against
`pyvision run` with its real worker: register, upload by file picker and by drag and
drop, results without reload, Chinese, delete. Screenshots go to test-output/screenshots/."""

import base64
import re

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import REPO
from tests.live_service import LiveService

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = REPO / "test-output" / "screenshots"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}

DROP = """([name, data]) => {
  const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, {type: "image/jpeg"}));
  const zone = document.querySelector("[data-drop-zone]");
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
  }
}"""


@pytest.fixture
def service(tmp_path):
    running = LiveService(tmp_path / "data")
    yield running
    assert running.stop() == 0


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_register_upload_see_results_switch_to_chinese_and_delete(service, browser, photo, tmp_path):
    page = browser.new_page(viewport=DESKTOP, locale="en-US")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(service.url + "/account/register/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill("a long and unusual passphrase 42")
    page.get_by_label("Password confirmation").fill("a long and unusual passphrase 42")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text("Welcome, ada")).to_be_visible()

    page.goto(service.url + "/")
    page.evaluate("window.notReloaded = true")
    for name in ("chelsea.png", "coffee.png"):
        (tmp_path / name).write_bytes(photo(name))
    page.get_by_label("Photos (up to 20 MB each)").set_input_files([tmp_path / "chelsea.png", tmp_path / "coffee.png"])
    page.evaluate(DROP, ["rocket.jpg", base64.b64encode(photo("rocket.jpg")).decode()])
    expect(page.locator("#results .card.status-done")).to_have_count(3, timeout=60_000)
    assert page.evaluate("window.notReloaded") is True
    expect(page.locator("#results")).to_contain_text("espresso")
    expect(page.locator("#results .timing").first).to_contain_text("recognised in")

    page.get_by_label("Language").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#results")).to_contain_text("意大利浓咖啡")

    page.locator("#results .card", has_text="意大利浓咖啡").get_by_role("link").first.click()
    expect(page.locator(".predictions .label").first).to_have_text("意大利浓咖啡")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "result-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=SCREENSHOTS / "result-phone.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling

    page.get_by_role("button", name="删除这张照片").click()
    expect(page).to_have_url(re.compile(r"/images/$"))
    expect(page.locator(".tile")).to_have_count(2)
    expect(page.locator(".grid")).not_to_contain_text("意大利浓咖啡")


DROP_MANY = """([names, data]) => {
  const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
  const transfer = new DataTransfer();
  for (const name of names) transfer.items.add(new File([bytes], name, {type: "image/jpeg"}));
  const zone = document.querySelector("[data-drop-zone]");
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
  }
}"""


def test_a_new_visitor_who_drops_ten_photos_at_once_keeps_all_ten(service, browser, photo):
    page = browser.new_context(viewport=DESKTOP, locale="en-US").new_page()
    page.goto(service.url + "/")
    names = [f"photo{n}.jpg" for n in range(10)]
    page.evaluate(DROP_MANY, [names, base64.b64encode(photo("rocket.jpg")).decode()])
    expect(page.locator("#results .card")).to_have_count(10, timeout=60_000)
    page.goto(service.url + "/images/")
    expect(page.locator(".tile")).to_have_count(10)
