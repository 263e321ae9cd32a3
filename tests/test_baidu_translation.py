"""Missing label names filled by Baidu Fanyi's general text translation API, against a
local server that implements its documented protocol: the MD5 sign, the error codes,
one query a second, several texts a query one a line. No network call."""

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from pyvision import cli
from pyvision.custom_models.models import Label

from .colour_model import write_model

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media", "static_from_apps")]

APPID, SECRET = "20261129000001", "s3cretKEY0123456789"
DICTIONARY = {"zh": {"red": "红色", "green": "绿色", "blue": "蓝色"},
              "cht": {"red": "紅色", "green": "綠色", "blue": "藍色"}}


class FakeBaidu(BaseHTTPRequestHandler):
    """https://fanyi-api.baidu.com/api/trans/vip/translate, as its documentation says it answers."""

    def do_POST(self):
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
        server = self.server
        now = time.monotonic()
        if form.get("appid") != APPID:
            code = "52003"
        elif hashlib.md5((form["appid"] + form["q"] + form["salt"] + SECRET).encode()).hexdigest() != form["sign"]:
            code = "54001"
        elif now - server.last_query < 1.0:  # the free tier: one query a second
            code = "54003"
        else:
            code = "52000"
            server.last_query = now
        server.queries.append((form, code))
        if code != "52000":
            return self.answer({"error_code": code, "error_msg": "refused"})
        lines = form["q"].split("\n")
        self.answer({"from": form["from"], "to": form["to"],
                     "trans_result": [{"src": line, "dst": DICTIONARY[form["to"]][line]} for line in lines]})

    def answer(self, body: dict):
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def baidu(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeBaidu)
    server.queries, server.last_query = [], float("-inf")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.TRANSLATOR, settings.BAIDU_APPID, settings.BAIDU_SECRET = "baidu", APPID, SECRET
    settings.BAIDU_URL = f"http://127.0.0.1:{server.server_port}/api/trans/vip/translate"
    yield server
    server.shutdown()
    server.server_close()


def add_english_only(tmp_path, *extra) -> None:
    onnx_file, _ = write_model(tmp_path)
    labels = tmp_path / "colours.txt"
    labels.write_text("red\ngreen\nblue\n")
    assert cli.main(["models", "add", "colours", "--onnx", str(onnx_file), "--labels", str(labels), "--size", "32",
                     *extra]) == 0


def names(language: str) -> dict[str, str]:
    return {label.key: label.names.get(language) for label in Label.objects.all()}


def test_models_add_fills_both_chinese_names_in_signed_batched_queries_a_second_apart(tmp_path, baidu):
    add_english_only(tmp_path)
    assert names("zh-hans") == {"red": "红色", "green": "绿色", "blue": "蓝色"}
    assert names("zh-hant") == {"red": "紅色", "green": "綠色", "blue": "藍色"}
    assert all(label.machine_translated == ["zh-hans", "zh-hant"] for label in Label.objects.all())
    # One query per language, the three labels in it one a line, each accepted: correctly
    # signed, and the second sent once the first one's second was over.
    assert [(form["q"], form["from"], form["to"], code) for form, code in baidu.queries] == [
        ("red\ngreen\nblue", "en", "zh", "52000"), ("red\ngreen\nblue", "en", "cht", "52000")]


def test_a_name_a_person_entered_is_kept_and_not_marked(tmp_path, baidu):
    add_english_only(tmp_path, "--no-translate")
    green = Label.objects.get(key="green")
    green.names = {**green.names, "zh-hant": "青綠"}
    green.save()
    assert cli.main(["models", "translate", "colours", "--to", "zh-hant"]) == 0
    assert names("zh-hant") == {"red": "紅色", "green": "青綠", "blue": "藍色"}
    assert Label.objects.get(key="green").machine_translated == []
    assert baidu.queries[0][0]["q"] == "red\nblue"


def test_a_wrong_secret_is_reported_with_baidus_code_and_what_to_check(tmp_path, baidu, settings):
    add_english_only(tmp_path, "--no-translate")
    settings.BAIDU_SECRET = "not the secret"
    with pytest.raises(SystemExit) as exited:
        cli.main(["models", "translate", "colours", "--to", "zh-hans"])
    assert str(exited.value.code) == ("pyvision models translate: Baidu translation failed with error 54001: "
                                      "invalid sign: check PYVISION_BAIDU_SECRET.")
    assert names("zh-hans") == {"red": None, "green": None, "blue": None}


def test_an_unknown_app_id_is_reported_as_unauthorised(tmp_path, baidu, settings):
    add_english_only(tmp_path, "--no-translate")
    settings.BAIDU_APPID = "20260000000000"
    with pytest.raises(SystemExit) as exited:
        cli.main(["models", "translate", "colours", "--to", "zh-hans"])
    assert "error 52003: unauthorised: check PYVISION_BAIDU_APPID" in str(exited.value.code)


def test_a_query_refused_for_frequency_is_sent_again_after_a_pause(tmp_path, baidu, settings):
    settings.BAIDU_QUERIES_PER_SECOND = 100  # more than the account allows
    add_english_only(tmp_path)
    assert [code for _, code in baidu.queries] == ["52000", "54003", "52000"]
    assert names("zh-hant")["blue"] == "藍色"


def test_machine_translations_are_marked_and_editable_in_the_admin(tmp_path, baidu):
    add_english_only(tmp_path)
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "a long passphrase 9"))
    red = Label.objects.get(key="red")
    page = admin.get(f"/admin/custom_models/label/{red.pk}/change/").content.decode()
    assert "紅色" in page and "[&quot;zh-hans&quot;, &quot;zh-hant&quot;]" in page

    edited = {**red.names, "zh-hant": "朱紅"}
    response = admin.post(f"/admin/custom_models/label/{red.pk}/change/", {"names": json.dumps(edited, ensure_ascii=False)})
    assert response.status_code == 302, response.content[:500]
    red.refresh_from_db()
    assert red.names["zh-hant"] == "朱紅" and red.machine_translated == ["zh-hans"]
