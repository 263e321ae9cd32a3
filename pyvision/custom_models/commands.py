"""``pyvision models add|list|disable|enable|remove|translate``."""

import argparse
import sys
from pathlib import Path

from pyvision.engine.registry import OUTPUT_KINDS

# The site's languages besides English: what a translator fills on `models add`.
SITE_LANGUAGES = ("zh-hans", "zh-hant")


def add_parser(commands) -> None:
    models = commands.add_parser("models", help="custom ONNX classifiers: add, list, disable, enable, remove, translate")
    actions = models.add_subparsers(dest="action", required=True)

    add = actions.add_parser("add", help="check an ONNX classifier and its labels, then serve it")
    add.add_argument("name", help="what recognitions ask for: lowercase letters, digits, - and _")
    add.add_argument("--onnx", required=True, type=Path, metavar="FILE")
    add.add_argument("--labels", required=True, type=Path, metavar="FILE",
                     help="one English name a line; or CSV (id,en,zh-hans,...) or JSON ([{id, names}])")
    add.add_argument("--size", type=int, default=224, help="the model's input side in pixels (default 224)")
    add.add_argument("--resize-crop", type=float, default=0.875, metavar="RATIO",
                     help="the centre crop's side as a share of the shorter side (default 0.875)")
    add.add_argument("--mean", type=triple, default=(0.485, 0.456, 0.406), metavar="R,G,B",
                     help="per channel, on the 0-1 scale (default ImageNet's, as torchvision)")
    add.add_argument("--std", type=triple, default=(0.229, 0.224, 0.225), metavar="R,G,B")
    add.add_argument("--description", default="")
    add.add_argument("--output", choices=OUTPUT_KINDS,
                     help="what the model's output is: logits (softmaxed here) or probabilities (a final Softmax, used "
                          "as they are); default: found out by running sample images through it")
    add.add_argument("--no-translate", action="store_true",
                     help="leave missing names empty even when PYVISION_TRANSLATOR is set")

    actions.add_parser("list", help="the custom models")
    for action, text in (("disable", "stop offering a model (its past recognitions stay)"),
                         ("enable", "offer a disabled model again"),
                         ("remove", "delete a model and its file; past recognitions keep its labels")):
        actions.add_parser(action, help=text).add_argument("name")

    translate = actions.add_parser("translate", help="fill missing label names with PYVISION_TRANSLATOR")
    translate.add_argument("name")
    translate.add_argument("--to", required=True, choices=SITE_LANGUAGES)

    models.set_defaults(handler=models_command)


def triple(value: str) -> tuple[float, float, float]:
    try:
        numbers = tuple(float(v) for v in value.split(","))
    except ValueError:
        numbers = ()
    if len(numbers) != 3:
        raise argparse.ArgumentTypeError(f"{value!r}: expected three numbers, R,G,B")
    return numbers


def models_command(args) -> int:
    from pyvision import service

    service.setup_django()
    from pyvision.engine.custom import InvalidModel

    from . import catalog, translation
    from .models import CustomModel

    def fail(message: str) -> int:
        sys.exit(f"pyvision models {args.action}: {message}")

    if args.action == "list":
        for model in CustomModel.objects.prefetch_related("labels"):
            print(f"{model.name:<20} {'enabled ' if model.enabled else 'disabled'} {len(model.labels.all()):>5} labels "
                  f"{','.join(model.languages()):<20} {model.output:<13} {model.size / 1e6:8.1f} MB  {model.description}")
        return 0
    if args.action == "add":
        for path in (args.onnx, args.labels):
            if not path.is_file():
                return fail(f"{path}: no such file")
        try:
            model = catalog.add(args.name, args.onnx, args.labels, size=args.size, crop_ratio=args.resize_crop,
                                mean=args.mean, std=args.std, description=args.description, output=args.output)
        except InvalidModel as exc:
            return fail(f"{exc} Nothing was stored.")
        found = "as --output said" if args.output else "found out from sample images"
        print(f"{model.name}: added, {len(model.labels.all())} labels, outputs {model.output} ({found}), "
              f"sha256 {model.sha256}")
        if not args.no_translate:
            try:
                translator = translation.configured()
                for language in SITE_LANGUAGES if translator else ():
                    count = translation.fill_missing_names(model, language, translator)
                    print(f"{model.name}: {count} names translated to {language}")
            except translation.TranslationError as exc:
                # The model is usable in English; the names can be translated later.
                print(f"pyvision models add: {exc} Run `pyvision models translate {model.name} --to LANG` later.",
                      file=sys.stderr)
        return 0

    model = CustomModel.objects.filter(name=args.name).first()
    if model is None:
        return fail(f"no custom model is named {args.name!r}")
    if args.action in ("disable", "enable"):
        model.enabled = args.action == "enable"
        model.save(update_fields=["enabled"])
        print(f"{model.name}: {args.action}d")
    elif args.action == "remove":
        catalog.remove(model)
        print(f"{model.name}: removed; past recognitions keep its labels")
    elif args.action == "translate":
        try:
            translator = translation.configured()
            if translator is None:
                return fail("no translation service: set PYVISION_TRANSLATOR (baidu) and its credentials")
            count = translation.fill_missing_names(model, args.to, translator)
        except translation.TranslationError as exc:
            return fail(str(exc))
        print(f"{model.name}: {count} names translated to {args.to}, marked as machine translations")
    return 0
