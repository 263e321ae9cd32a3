"""Names for a custom model's labels in the site's languages, from a translation service.

A provider is anything with ``translate(texts, source, target) -> list[str]``; Baidu
Fanyi's general text translation API is the one built in (PYVISION_TRANSLATOR=baidu).
Machine translations are marked on each label (``machine_translated``) and only ever
fill a missing name: a name a person wrote is never replaced.
"""

import hashlib
import secrets
import threading
import time
from contextlib import contextmanager
from typing import Protocol

import requests
from django.conf import settings
from django.db import transaction

from .models import CustomModel, Label

# The site's languages, as Baidu spells them.
BAIDU_LANGUAGES = {"en": "en", "zh-hans": "zh", "zh-hant": "cht"}
# Baidu reads several texts in one query, one a line; it asks for queries under 6000
# bytes, and answers long ones slowly.
MAX_QUERY_BYTES = 2000
TIMEOUT_SECONDS = 10
# Baidu's documented error codes, said in words an operator can act on.
BAIDU_ERRORS = {
    "52001": "the request timed out at Baidu; try again",
    "52002": "Baidu's system failed; try again",
    "52003": "unauthorised: check PYVISION_BAIDU_APPID, and that the general text translation service is enabled",
    "54000": "a required parameter is missing",
    "54001": "invalid sign: check PYVISION_BAIDU_SECRET",
    "54003": "access frequency limited: more queries a second than the account allows (PYVISION_BAIDU_QPS)",
    "54004": "the account's balance is insufficient",
    "54005": "long queries too frequent; wait 3 seconds",
    "58000": "this host's IP address is not allowed for the app id",
    "58001": "this translation direction is not supported",
    "58002": "the service is switched off for this app id",
    "90107": "the app id's verification failed or is not in effect",
}
# Retried after a pause: the query was fine, its time was not.
BAIDU_RETRIED = {"52001", "52002", "54003"}
RETRIES = 3
# Baidu counts queries a second: a refused query is sent again once that second is over.
RETRY_PAUSE_SECONDS = 1.0


class TranslationError(RuntimeError):
    """The service refused or failed; the message says why and what to check."""


class Translator(Protocol):
    def translate(self, texts: list[str], source: str, target: str) -> list[str]:
        """Each text in ``target``, in order; languages as the site names them (en, zh-hans, ...)."""


class BaiduTranslator:
    """https://fanyi-api.baidu.com/doc/21: sign = MD5(appid + q + salt + secret)."""

    def __init__(self, appid: str, secret: str, *, url: str, queries_per_second: float = 1.0):
        if not appid or not secret:
            raise TranslationError("Baidu translation needs PYVISION_BAIDU_APPID and PYVISION_BAIDU_SECRET.")
        self.appid, self.secret, self.url = appid, secret, url
        self.interval = 1 / queries_per_second
        self._last_query = float("-inf")
        self._lock = threading.Lock()
        self._session = requests.Session()

    def translate(self, texts: list[str], source: str, target: str) -> list[str]:
        for language in (source, target):
            if language not in BAIDU_LANGUAGES:
                raise TranslationError(f"Baidu translation: no language code for {language!r}; "
                                       f"known: {', '.join(BAIDU_LANGUAGES)}.")
        translated = []
        for batch in batches([" ".join(text.split()) for text in texts]):
            translated += self._query(batch, BAIDU_LANGUAGES[source], BAIDU_LANGUAGES[target])
        return translated

    def _query(self, texts: list[str], source: str, target: str) -> list[str]:
        q = "\n".join(texts)
        for attempt in range(1, RETRIES + 1):
            salt = str(secrets.randbelow(10**9))
            sign = hashlib.md5((self.appid + q + salt + self.secret).encode()).hexdigest()
            try:
                with self._turn():
                    response = self._session.post(self.url, timeout=TIMEOUT_SECONDS, data={
                        "q": q, "from": source, "to": target, "appid": self.appid, "salt": salt, "sign": sign})
                response.raise_for_status()
                answer = response.json()
            except (requests.RequestException, ValueError) as exc:
                raise TranslationError(f"Baidu translation: no answer from {self.url} ({exc}).") from None
            code = str(answer.get("error_code", "52000"))
            if code == "52000":
                results = answer.get("trans_result") or []
                if len(results) != len(texts):
                    raise TranslationError(f"Baidu translation: {len(texts)} texts sent, {len(results)} answered.")
                return [result["dst"] for result in results]
            if code not in BAIDU_RETRIED or attempt == RETRIES:
                meaning = BAIDU_ERRORS.get(code, answer.get("error_msg", "unknown error"))
                raise TranslationError(f"Baidu translation failed with error {code}: {meaning}.")
            time.sleep(RETRY_PAUSE_SECONDS)
        raise AssertionError("unreachable: the last attempt returns or raises")

    @contextmanager
    def _turn(self):
        """At most ``queries_per_second`` queries, from every thread of this process. Counted
        from the end of the last answer: Baidu counts arrivals, and a query that took long
        to arrive must not bring the next one within its second."""
        with self._lock:
            wait = self._last_query + self.interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                yield
            finally:
                self._last_query = time.monotonic()


def batches(texts: list[str]) -> list[list[str]]:
    """Consecutive texts, as many a query as fit under MAX_QUERY_BYTES."""
    grouped, current, size = [], [], 0
    for text in texts:
        length = len(text.encode()) + 1
        if current and size + length > MAX_QUERY_BYTES:
            grouped.append(current)
            current, size = [], 0
        current.append(text)
        size += length
    return grouped + [current] if current else grouped


def configured() -> Translator | None:
    """The provider PYVISION_TRANSLATOR names, or None when none is set."""
    if not settings.TRANSLATOR:
        return None
    if settings.TRANSLATOR == "baidu":
        return BaiduTranslator(settings.BAIDU_APPID, settings.BAIDU_SECRET, url=settings.BAIDU_URL,
                               queries_per_second=settings.BAIDU_QUERIES_PER_SECOND)
    raise TranslationError(f"PYVISION_TRANSLATOR={settings.TRANSLATOR!r}: the providers are: baidu.")


def fill_missing_names(model: CustomModel, target: str, translator: Translator) -> int:
    """Translate the English name of each label without a ``target`` name; returns how many."""
    missing = [label for label in model.labels.all() if not label.names.get(target)]
    if not missing:
        return 0
    names = translator.translate([label.names["en"] for label in missing], "en", target)
    with transaction.atomic():
        for label, name in zip(missing, names):
            # Read again under the lock: a name a person wrote meanwhile wins.
            current = Label.objects.select_for_update().get(pk=label.pk)
            if current.names.get(target):
                continue
            current.names = {**current.names, target: name.strip()}
            current.machine_translated = sorted({*current.machine_translated, target})
            current.save(update_fields=["names", "machine_translated"])
    return len(missing)
