#!/usr/bin/env python3
"""Write the site's Traditional Chinese catalogue (zh_Hant) from the Simplified one.

OpenCC converts each translation with Taiwan's words (s2twp: 登录 -> 登入, 服务器 ->
伺服器); REVIEWED then replaces what OpenCC leaves in mainland usage or reads as
programming terms. Each replacement must still apply, so a change in OpenCC or in the
catalogue that makes one useless fails loudly. Run after adding strings to zh_Hans:

    make zh-hant && .venv/bin/pyvision setup
"""

import importlib.metadata
from pathlib import Path

import opencc
import polib

ROOT = Path(__file__).resolve().parent.parent
SIMPLIFIED = ROOT / "pyvision" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
TRADITIONAL = ROOT / "pyvision" / "locale" / "zh_Hant" / "LC_MESSAGES" / "django.po"
OPENCC_VERSION = "1.4.2"

# OpenCC's output -> the word used in Taiwan for what the site means.
REVIEWED = {
    "賬戶": "帳號",  # a sign-in account
    "引數": "參數",  # a request's parameters, not a function's arguments
    "令牌": "權杖",  # an API token
    "的埠": "的連接埠",  # a network port
    "響應": "回應",
    "返回了": "傳回了",
    "會話": "工作階段",  # a browser session
    "跟蹤": "追蹤",
    "通過本站": "透過本站",
    "生成": "產生",
    "發送": "傳送",
}


def traditional(text: str, converter, used: set) -> str:
    text = converter.convert(text)
    for found, replacement in REVIEWED.items():
        if found in text:
            used.add(found)
            text = text.replace(found, replacement)
    return text


def main() -> None:
    installed = importlib.metadata.version("opencc")
    assert installed == OPENCC_VERSION, f"OpenCC {installed} installed"
    converter, used = opencc.OpenCC("s2twp"), set()
    catalogue = polib.pofile(str(SIMPLIFIED))
    catalogue.metadata["Language"] = "zh_Hant"
    catalogue.metadata["Language-Team"] = "Chinese (Traditional, Taiwan)"
    catalogue.header = (f"Traditional Chinese (Taiwan), written by tools/build_zh_hant.py from the zh_Hans "
                        f"catalogue with OpenCC {OPENCC_VERSION} (s2twp) and reviewed terms.")
    for entry in catalogue:
        entry.msgstr = traditional(entry.msgstr, converter, used)
        entry.msgstr_plural = {n: traditional(s, converter, used) for n, s in entry.msgstr_plural.items()}
    unused = sorted(set(REVIEWED) - used)
    assert not unused, f"reviewed terms that no longer occur: {unused}"
    TRADITIONAL.parent.mkdir(parents=True, exist_ok=True)
    catalogue.save(str(TRADITIONAL))
    print(f"wrote {TRADITIONAL}: {len(catalogue)} entries")


if __name__ == "__main__":
    main()
