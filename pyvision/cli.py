"""The ``pyvision`` command.

Engine commands (classify, eval, bench) never import Django; service commands (run,
worker, manage) do.
"""

import argparse
import contextlib
import csv
import dataclasses
import errno
import itertools
import json
import os
import signal
import stat
import sys
from functools import partial
from pathlib import Path
from typing import NoReturn

from tqdm import tqdm


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyvision", description="Self-hosted image recognition.")
    commands = parser.add_subparsers(dest="command", required=True)

    classify = commands.add_parser("classify", help="recognise image files or folders")
    classify.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    add_model_arguments(classify, pipelined=True)
    classify.add_argument("--top", type=bounded(int, 1, 1000), default=5, help="how many classes to show, 1-1000 (default 5)")
    classify.add_argument("--json", action="store_true", help="one JSON object per line")
    add_jobs_argument(classify)
    classify.set_defaults(handler=classify_command)

    tag = commands.add_parser("tag", help="keywords for a photo library, in XMP sidecars that photo managers read")
    tag.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="photos or folders (walked recursively)")
    tag.add_argument("--server", metavar="URL", help="classify on this pyvision server (POST /api/v1/classify) instead of here")
    tag.add_argument("--token", default=os.environ.get("PYVISION_API_TOKEN", ""),
                     help="the server's API token (default PYVISION_API_TOKEN)")
    add_model_arguments(tag, pipelined=True)
    tag.add_argument("--lang", default="en", type=languages, metavar="LANG,...",
                     help=f"keyword languages, comma-separated: {', '.join(LANGUAGES)} (default en)")
    tag.add_argument("--top", type=bounded(int, 1, 1000), default=3, help="at most this many classes per photo, 1-1000 (default 3)")
    tag.add_argument("--min-score", type=bounded(float, 0, 1), default=0.2, metavar="S",
                     help="keep only classes at least this likely, 0-1 (default 0.2)")
    tag.add_argument("--hedged", action="store_true",
                     help="where the model is not sure of one class, tag the most specific kind it is sure of "
                          "(\"turtle\", \"dog\"), as the API's hedged answer, instead of the top classes "
                          "(not when it is no more telling than \"object\"); a custom model has no tree, so its "
                          "top classes stay")
    tag.add_argument("--xmp", action="store_true", help="write the keywords to an XMP sidecar beside each photo")
    tag.add_argument("--sidecar-name", choices=("filename", "basename"), default="filename",
                     help="filename: IMG_1.CR2.xmp (digiKam, darktable; default); basename: IMG_1.xmp (Lightroom)")
    tag.add_argument("--csv", type=Path, metavar="FILE", help="also write one row per photo to this CSV file")
    tag.add_argument("--json", action="store_true", help="one JSON object per photo on standard output")
    tag.add_argument("--force", action="store_true", help="tag again photos whose sidecar is up to date")
    tag.add_argument("--dry-run", action="store_true", help="classify and show the keywords, write no sidecar")
    add_jobs_argument(tag)
    tag.set_defaults(handler=tag_command)

    evaluate = commands.add_parser("eval", help="top-1 and top-5 accuracy on images named <wnid>_*.<ext>")
    evaluate.add_argument("folder", type=Path, metavar="DIR")
    add_model_arguments(evaluate)
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--confidence", type=float, help="the hedged answers' target (default: the service's, 0.95)")
    evaluate.set_defaults(handler=eval_command)

    bench = commands.add_parser("bench", help="engine latency, throughput and memory")
    add_model_arguments(bench)
    bench.add_argument("--image", type=Path, help="a JPEG to time decoding with (default: a generated 1.6 MP photo)")
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(handler=bench_command)

    doctor = commands.add_parser("doctor", help="check that this CPU gives each model's expected answers, "
                                                "and that each enabled custom model loads and answers")
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(handler=doctor_command)

    setup = commands.add_parser("setup", help="compile the translations, apply migrations, load the synsets if missing, collect static files")
    setup.set_defaults(handler=lambda args: service().prepare())

    run = commands.add_parser("run", help="setup, then the web server and a recognition worker (embedded mode)")
    run.set_defaults(handler=lambda args: service().run_all())

    web = commands.add_parser("web", help="the web server alone (distributed mode)")
    web.set_defaults(handler=lambda args: service().run_web())

    worker = commands.add_parser("worker", help="a recognition worker")
    worker.add_argument("--concurrency", type=int, help="recognitions at once (default PYVISION_WORKER_CONCURRENCY)")
    worker.set_defaults(handler=lambda args: service().run_worker(args.concurrency))

    status = commands.add_parser("status", help="the queue, the live workers and the last hour's failures")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=status_command)

    backup = commands.add_parser("backup", help="embedded mode: the database and the uploaded files into one archive")
    backup.add_argument("archive", type=Path)
    backup.set_defaults(handler=archive_command, action="backup")

    restore = commands.add_parser("restore", help="embedded mode: an archive of `backup` into an empty data folder")
    restore.add_argument("archive", type=Path)
    restore.set_defaults(handler=archive_command, action="restore")

    loadtest = commands.add_parser("loadtest", help="post real JPEGs to a running service's API and measure it")
    loadtest.add_argument("--url", required=True, help="the service's address, e.g. http://127.0.0.1:8000")
    loadtest.add_argument("--images", required=True, type=Path, metavar="DIR",
                          help="JPEGs to post; a file named <wnid>_*.JPEG is also checked against its class")
    loadtest.add_argument("--concurrency", type=int, default=1, help="clients posting at once (default 1)")
    loadtest.add_argument("--requests", type=int, default=100, help="uploads in all (default 100)")
    loadtest.add_argument("--mode", choices=("sync", "async", "classify"), default="sync",
                          help="sync: wait for the result in the upload request; async: upload, then poll; "
                               "classify: the stateless POST /api/v1/classify")
    loadtest.add_argument("--via", choices=("api", "site"), default="api",
                          help="api: POST /api/v1/recognitions (default); site: the upload form, then the result card")
    loadtest.add_argument("--token", default=os.environ.get("PYVISION_API_TOKEN", ""),
                          help="API token (default PYVISION_API_TOKEN)")
    loadtest.add_argument("--wait", type=float, default=30, help="seconds a sync request may wait (default 30)")
    loadtest.add_argument("--json", action="store_true")
    loadtest.set_defaults(handler=loadtest_command)

    from pyvision.custom_models.commands import add_parser as add_models_parser

    add_models_parser(commands)

    manage = commands.add_parser("manage", help="Django's management commands", add_help=False)
    manage.add_argument("arguments", nargs=argparse.REMAINDER)
    manage.set_defaults(handler=lambda args: service().manage(args.arguments))

    args = parser.parse_args(argv)
    try:
        status = args.handler(args) or 0
        sys.stdout.flush()  # here, where a reader that went away is caught, not at exit
        return status
    except BrokenPipeError:
        # The reader went away (`pyvision classify DIR | head`): stop without a traceback,
        # with the status of a writer that SIGPIPE ended.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except KeyboardInterrupt as exc:  # while a model loads, or a server is first reached
        print(f"pyvision {args.command}: interrupted", file=sys.stderr)
        return interrupted_status(exc)


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, `timeout`, a shutdown) or SIGHUP (the terminal gone), raised where
    Ctrl-C raises KeyboardInterrupt: the run stops as it does then, each sidecar whole and
    no temporary file left behind, and says what it did."""

    def __init__(self, signum: int):
        super().__init__()
        self.signum = signum


STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def terminated_as_interrupted():
    """While the block runs, Ctrl-C, SIGTERM and SIGHUP stop it, once: after the first,
    the others are ignored, as a second one (`kill` twice, Ctrl-C pressed again, systemd's
    stop) would cut the first one's cleanup short and leave a temporary sidecar. The
    handlers are put back after the block, unless one came: the program is then ending."""
    before = {signum: signal.getsignal(signum) for signum in STOPPING_SIGNALS}
    came = []

    def stopped(signum, frame):
        for each in before:
            signal.signal(each, signal.SIG_IGN)
        came.append(signum)
        raise KeyboardInterrupt if signum == signal.SIGINT else Terminated(signum)

    for signum, handler in before.items():
        # Not one a parent chose to ignore (Ctrl-C in a background job, nohup's SIGHUP).
        if handler in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(signum, stopped)
    try:
        yield
    finally:
        if not came:
            for signum, handler in before.items():
                signal.signal(signum, handler)


def interrupted_status(exc: KeyboardInterrupt) -> int:
    """The exit status of a program that the signal ended, as a shell reports it."""
    return 128 + (exc.signum if isinstance(exc, Terminated) else signal.SIGINT)


def bounded(kind: type, low: float, high: float):
    """An argparse type: a number of ``kind`` from ``low`` to ``high``; a wrong one is a
    usage error (status 2), as argparse's own are."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not low <= value <= high:  # NaN is in no range
            raise argparse.ArgumentTypeError(f"{text} is not between {low:g} and {high:g}")
        return value

    return parse


def service():
    from pyvision import service

    return service


# Threads a command may start: more would only take memory and time to start.
MAX_THREADS = 256


def add_model_arguments(parser: argparse.ArgumentParser, *, pipelined: bool = False) -> None:
    from pyvision.engine.pipeline import LOCAL_BATCHES_AT_ONCE
    from pyvision.engine.registry import DEFAULT_MODEL, MODELS, REFERENCE_MODEL

    parser.add_argument("--model", default=DEFAULT_MODEL, metavar="|".join([*sorted(MODELS), REFERENCE_MODEL.name, "CUSTOM"]),
                        help=f"default {DEFAULT_MODEL}; {REFERENCE_MODEL.name} is the float model lite0 was quantised from; "
                             "CUSTOM: a model added with `pyvision models add`")
    cores = os.cpu_count() or 1
    if pipelined:
        default = max(1, cores - LOCAL_BATCHES_AT_ONCE + 1)
        parser.add_argument("--threads", type=bounded(int, 1, MAX_THREADS), default=default,
                            help=f"onnxruntime threads: {LOCAL_BATCHES_AT_ONCE} batches run at once, each on its own "
                                 f"thread and a pool of THREADS - 1 that they share (default {default}: every core busy)")
    else:
        parser.add_argument("--threads", type=bounded(int, 1, MAX_THREADS), default=cores,
                            help="onnxruntime threads per inference (default: one per core)")


def add_jobs_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=bounded(int, 0, MAX_THREADS), default=os.cpu_count() or 1,
                        help="files read and decoded at once (default, or 0: one per core)")


def load_classifier(args, *, pipelined: bool = False):
    from pyvision.engine.classifier import Classifier
    from pyvision.engine.registry import MODELS, REFERENCE_MODEL

    if args.model in MODELS or args.model == REFERENCE_MODEL.name:
        return Classifier(args.model, threads=args.threads, spin=not pipelined)
    # A custom model: its file and labels are the service's, in its storage and database.
    service().setup_django()
    from django.db import DatabaseError

    from pyvision.custom_models import catalog

    try:
        return catalog.classifier(args.model, threads=args.threads, spin=not pipelined)
    except (catalog.UnknownModel, DatabaseError) as exc:
        unreadable = f" (the service's database, where custom models are, could not be read: {exc})" \
            if isinstance(exc, DatabaseError) else ""
        print(f"pyvision {args.command}: no model is named {args.model!r}{unreadable}; choose one of "
              f"{', '.join([*MODELS, REFERENCE_MODEL.name])} or a custom model (`pyvision models list`)", file=sys.stderr)
        return sys.exit(2)  # argparse's status for a wrong argument


def progress(total: int):
    """A bar on standard error, for a terminal only; lines go above it through say()."""
    return tqdm(total=total, unit="img", file=sys.stderr, disable=None if total > 1 else True, dynamic_ncols=True)


def say(line: str, file=None) -> None:
    """A line above the progress bar. What it holds may come from file names or from a
    server: anything a terminal would act on is escaped."""
    tqdm.write(printable(line), file=file or sys.stdout)


def json_line(value) -> str:
    # ensure_ascii: a JSON string may hold DEL, C1 controls and bidi overrides as they are.
    return json.dumps(value, ensure_ascii=True)


def classify_command(args) -> int:
    from pyvision.engine.pipeline import LOCAL_BATCH_SIZE, LOCAL_BATCHES_AT_ONCE, Failure, pipelined
    from pyvision.library.photos import photos, pixels_for

    classifier = load_classifier(args, pipelined=True)
    unreadable = []
    files = list(photos(args.paths, unreadable))
    for problem in unreadable:
        report_failure(args, problem.path, problem.code, problem.message)
    failures = len(unreadable)
    with progress(len(files)) as bar:
        for path, outcome in pipelined(files, pixels_for(classifier), lambda batch: classifier.classify_batch(batch, args.top),
                                       jobs=args.jobs, batch_size=LOCAL_BATCH_SIZE,
                                       batches_at_once=LOCAL_BATCHES_AT_ONCE):
            bar.update()
            if isinstance(outcome, Failure):
                failures += 1
                report_failure(args, path, outcome.code, outcome.message)
            elif args.json:
                say(json_line({"path": str(path), "predictions": [
                    {"rank": p.rank, "wnid": p.wnid, "label": p.label, "score": round(p.score, 6)} for p in outcome
                ]}))
            else:
                say(f"{path}: " + ", ".join(f"{p.label} {p.score:.1%}" for p in outcome))
    return 1 if failures else 0


def report_failure(args, path: Path, code: str, message: str) -> None:
    if args.json:
        say(json_line({"path": str(path), "error": {"code": code, "message": message}}))
    else:
        say(f"{path}: error {code}: {message}", file=sys.stderr)


def printable(text: str) -> str:
    """Text as a terminal may show it: control and format characters (an escape sequence
    would retitle or clear the terminal, a newline split the line, U+202E reverse it)
    written as Python escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode() for c in text)


LANGUAGES = ("en", "zh-hans", "zh-hant", "ar", "es", "fr", "he", "ru")


def languages(value: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip()))
    unknown = [v for v in chosen if v not in LANGUAGES]
    if not chosen or unknown:
        raise argparse.ArgumentTypeError(f"choose among {', '.join(LANGUAGES)}")
    return chosen


TABLE_COLUMNS = ["path", "status", "model", "wnids", "labels", "scores", "keywords", "hedged_wnid", "hedged",
                 "hedged_score", "error"]


def tag_command(args) -> int:
    with terminated_as_interrupted():
        return tag_library(args)


def tag_library(args) -> int:
    from collections import Counter

    from pyvision.engine.pipeline import Failure
    from pyvision.library import tagging
    from pyvision.library.photos import photos

    options = tagging.Options(languages=args.lang, top=args.top, min_score=args.min_score, xmp=args.xmp,
                              basename=args.sidecar_name == "basename", force=args.force, dry_run=args.dry_run,
                              hedged=args.hedged)
    try:
        table = Table(args.csv, open_table(args.csv)) if args.csv else None
    except OSError as exc:
        reason = "a symbolic link: name the file itself" if exc.errno == errno.ELOOP else exc.strerror or exc
        wrong_argument("tag", f"--csv {args.csv}: {reason}")
    backend = server_backend(args) if args.server else local_backend(args)
    unreadable = []
    writes = args.xmp and not args.dry_run
    found = {}
    files = list(photos(args.paths, unreadable, root_only=writes and os.geteuid() == 0, found=found))
    counts, failures = Counter(), Counter()
    try:
        if table:
            table.write(TABLE_COLUMNS)
        with progress(len(unreadable) + len(files)) as bar:
            not_walked = [tagging.Row(problem.path, tagging.FAILED, error=Failure(problem.code, problem.message))
                          for problem in unreadable]
            for row in itertools.chain(not_walked, tagging.tag(files, options, backend, found)):
                bar.update()
                counts[row.status] += 1
                if row.error:
                    failures[row.error.code] += 1
                show_row(args, row)
                if table:
                    table.write([
                        row.path, row.status, args.model, " ".join(p.wnid for p in row.predictions),
                        "; ".join(p.label for p in row.predictions), " ".join(f"{p.score:.4f}" for p in row.predictions),
                        "; ".join(row.keywords), *hedged_columns(row.hedged), row.error.code if row.error else ""])
        if table:
            table.close()  # here, where its last rows going nowhere (a full disk) is said
    except (tagging.BackendRefused, TableUnwritable) as exc:
        say(f"pyvision tag: {exc}; so far {tagging.summary(counts, failures, args.dry_run)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        say(f"pyvision tag: interrupted: {tagging.summary(counts, failures, args.dry_run)}", file=sys.stderr)
        return interrupted_status(exc)
    finally:
        if table:
            # After a failure or an interrupt, said already: the rows so far are kept if they can be.
            with contextlib.suppress(TableUnwritable):
                table.close()
    say(tagging.summary(counts, failures, args.dry_run), file=sys.stderr)
    return 1 if counts[tagging.FAILED] else 0


class TableUnwritable(Exception):
    """The --csv file could not be written (a full disk): the run stops, as every row
    after would be lost too."""


class Table:
    """The --csv file's rows, each cell as a spreadsheet shows it; a write that fails
    raises TableUnwritable."""

    def __init__(self, path: Path, file):
        self.path, self.file, self.rows = path, file, csv.writer(file)

    def write(self, cells: list) -> None:
        with self._said():
            self.rows.writerow(map(spreadsheet_cell, cells))

    def close(self) -> None:
        with self._said():
            self.file.close()

    @contextlib.contextmanager
    def _said(self):
        try:
            yield
        except OSError as exc:
            raise TableUnwritable(f"--csv {self.path} could not be written: {exc.strerror or exc}") from None


def open_table(path: str):
    """The --csv file, for writing, made private: it lists what the photos show. Not
    through a link, symbolic or hard, nor a FIFO (opening it would wait for a reader),
    nor a file of someone else's: in a folder others may write in, theirs would have the
    run overwrite what the link points to, hang, or write the library's keywords where
    they may read them. Nor a file that is not one of its tables: ``--csv *.JPG`` has the
    shell name a photo. surrogateescape: a file name that is not UTF-8 is written as its
    own bytes."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
    refused = not_a_table(os.fstat(fd)) or not_pyvisions(fd)
    if refused:
        os.close(fd)
        raise OSError(errno.EINVAL, refused)
    # One of the runner's, kept from an earlier run, may be readable by others.
    os.fchmod(fd, 0o600)
    os.ftruncate(fd, 0)
    return open(fd, "w", newline="", encoding="utf-8", errors="surrogateescape")


def not_a_table(info: os.stat_result) -> str | None:
    """Why an opened --csv file is not to be written, if it is not."""
    from pyvision.library.folders import user_name

    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_uid != os.geteuid():
        return f"a file of {user_name(info.st_uid)}'s: name a new file or one of yours"
    if info.st_nlink > 1:
        return "a file with other names (a hard link): name a new file"
    return None


# How every table pyvision wrote begins, whatever columns later versions added after these.
TABLE_BEGINS = ",".join(TABLE_COLUMNS[:4]).encode()


def not_pyvisions(fd: int) -> str | None:
    """Why an opened --csv file that holds something is not to be overwritten: it is no
    table of pyvision's, but may be a photo or a document."""
    start = os.pread(fd, len(TABLE_BEGINS), 0)
    if start and start != TABLE_BEGINS:
        return "a file that holds something other than a table of pyvision's: name a new file (e.g. --csv tags.csv)"
    return None


def local_backend(args):
    from pyvision.engine.pipeline import LOCAL_BATCH_SIZE, LOCAL_BATCHES_AT_ONCE
    from pyvision.library.keywords import CustomKeywords, ImageNetKeywords
    from pyvision.library.photos import pixels_for
    from pyvision.library.tagging import Backend, engine_answers

    classifier = load_classifier(args, pipelined=True)
    spec = classifier.spec
    # The hedged answer is shown as keywords (--hedged), or in the CSV and JSON rows.
    answers = engine_answers(classifier, args.top, hedged=bool(args.hedged or args.csv or args.json))
    backend = partial(Backend, pixels_for(classifier), answers, args.jobs, batch_size=LOCAL_BATCH_SIZE,
                      batches_at_once=LOCAL_BATCHES_AT_ONCE)
    if spec.is_custom:
        return backend(version=f"{spec.name}@{spec.sha256}",
                       names=CustomKeywords(spec.name, {label.id: label.names for label in spec.labels}))
    return backend(version=spec.name, names=ImageNetKeywords())


def server_backend(args):
    from pyvision.engine.registry import MODELS, REFERENCE_MODEL
    from pyvision.library.keywords import CustomKeywords, ImageNetKeywords
    from pyvision.library.photos import send, upload
    from pyvision.library.remote import MAX_TOP_K, Server, check_address, stop_on_ctrl_c
    from pyvision.library.tagging import Backend, BackendRefused

    try:
        check_address(args.server)
    except BackendRefused as exc:
        wrong_argument("tag", str(exc))
    if args.model == REFERENCE_MODEL.name:
        wrong_argument("tag", f"a server runs {', '.join(MODELS)} and its custom models, not {args.model}")
    if args.top > MAX_TOP_K:
        wrong_argument("tag", f"--top must be between 1 and {MAX_TOP_K} with --server")
    server = Server(args.server, token=args.token, model=args.model, top=args.top)
    stop_on_ctrl_c(server)
    try:
        model = server.describe_model()
    except BackendRefused as exc:
        sys.exit(printable(f"pyvision tag: {exc}"))
    backend = partial(Backend, upload, partial(send, classify=server.classify), args.jobs)
    if model["custom"]:
        # Named as the server names it, and keyed on its file there: replaced there, re-tagged here.
        return backend(version=f"{args.model}@{model['sha256']}", names=CustomKeywords(args.model, server.label_names))
    return backend(version=args.model, names=ImageNetKeywords())


def show_row(args, row) -> None:
    from pyvision.library.keywords import node_label

    if args.json:
        say(json_line({
            "path": str(row.path), "status": row.status,
            "predictions": [{"rank": p.rank, "wnid": p.wnid, "label": p.label, "score": round(p.score, 6)}
                            for p in row.predictions],
            "keywords": row.keywords,
            "hedged": {"wnid": row.hedged.wnid, "label": node_label(row.hedged.wnid, "en"),
                       "score": round(row.hedged.score, 6)} if row.hedged else None,
            "error": {"code": row.error.code, "message": row.error.message} if row.error else None,
            "note": row.note or None,
        }))
    elif row.error:
        say(f"{row.path}: error {row.error.code}: {row.error.message}", file=sys.stderr)
    elif row.note:
        say(f"{row.path}: {row.status}: {row.note}", file=sys.stderr)
    elif row.status != "skipped":
        say(f"{row.path}: " + (", ".join(row.keywords) or f"no class above {args.min_score:.0%}"))


def spreadsheet_cell(value) -> str:
    """A spreadsheet runs a cell that starts with = + - @ as a formula, and a file may be
    named so: such a cell is written as text."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def wrong_argument(command: str, message: str) -> NoReturn:
    print(f"pyvision {command}: {message}", file=sys.stderr)
    sys.exit(2)  # argparse's status for a wrong argument


def hedged_columns(hedged) -> list:
    """hedged_wnid, hedged, hedged_score: empty for a model without a tree."""
    from pyvision.library.keywords import node_label

    return [hedged.wnid, node_label(hedged.wnid, "en"), f"{hedged.score:.4f}"] if hedged else ["", "", ""]


def eval_command(args) -> int:
    from pyvision.engine.evaluate import evaluate, label_ids, labelled_images
    from pyvision.engine.hedging import DEFAULT_CONFIDENCE

    if not args.folder.is_dir():
        sys.exit(f"pyvision eval: {args.folder} is not a folder")
    classifier = load_classifier(args)
    with tqdm(total=len(labelled_images(args.folder, label_ids(classifier))), unit="img", file=sys.stderr,
              disable=args.json) as bar:
        result = evaluate(classifier, args.folder, confidence=args.confidence or DEFAULT_CONFIDENCE, progress=bar.update)
    if args.json:
        print(json.dumps({"model": result.model, "n": result.n, "top1": result.top1, "top5": result.top5,
                          "hedged": result.hedged, "hedged_depth": result.hedged_depth}))
    else:
        print(f"{result.model}: top-1 {result.top1:.1%}, top-5 {result.top5:.1%}, n={result.n}"
              + (f" ({result.failed} could not be read)" if result.failed else ""))
        if result.hedged is not None:
            print(f"  hedged at {args.confidence or DEFAULT_CONFIDENCE:.0%}: right {result.hedged:.1%}, mean WordNet depth "
                  f"{result.hedged_depth:.2f} (entity = 0)")
    return 0


def bench_command(args) -> int:
    from pyvision.engine import benchmark

    result = benchmark.run(load_classifier(args), jpeg=args.image.read_bytes() if args.image else None)
    if args.json:
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in dataclasses.asdict(result).items()}))
    else:
        print(f"model {result.model} ({result.threads} thread{'s' if result.threads > 1 else ''})\n"
              f"  single image    p50 {result.single_ms_p50:.2f} ms, p95 {result.single_ms_p95:.2f} ms\n"
              f"  batch of {result.batch_size}     {result.batch_img_per_s:.0f} img/s\n"
              f"  decode+prep     p50 {result.decode_ms_p50:.2f} ms ({result.decode_megapixels} MP JPEG)\n"
              f"  whole image     p50 {result.recognize_ms_p50:.2f} ms\n"
              f"  peak RSS        {result.peak_rss_mb:.0f} MB")
    return 0


def doctor_command(args) -> int:
    from pyvision.engine import selfcheck
    from pyvision.engine.classifier import Classifier

    cpu, runtime = selfcheck.cpu(), selfcheck.runtime()
    checks = [selfcheck.check(Classifier(model)) for model in selfcheck.checked_models()]
    custom, unreadable = custom_model_checks()
    if args.json:
        print(json.dumps({"cpu": cpu, "runtime": runtime, "models": [dataclasses.asdict(c) for c in checks],
                          "custom_models": [dataclasses.asdict(c) for c in custom],
                          "custom_models_unreadable": unreadable}))
    else:
        features = ", ".join(f"{name} {'yes' if present else 'no'}" for name, present in cpu["features"].items())
        print(f"CPU           {cpu['model'] or 'unknown'} ({cpu['machine']}): {features}\n"
              f"onnxruntime   {runtime['onnxruntime']}, providers {', '.join(runtime['providers'])}")
        for c in checks:
            print(f"{'ok  ' if c.agrees else 'FAIL'}          {c.summary}")
        for c in custom:
            print(f"{'ok  ' if c.ok else 'FAIL'}          {c.summary}")
        if unreadable:
            print(f"custom models not checked: {unreadable}")
    return 0 if all(c.agrees for c in checks) and all(c.ok for c in custom) else 1


def custom_model_checks():
    """The enabled custom models' checks, and why there are none where the service's
    database cannot be read: doctor also runs where only the engine is set up."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError

    try:
        service().setup_django()
        from pyvision.custom_models import catalog

        return catalog.check_enabled(), ""
    except (ImproperlyConfigured, DatabaseError) as exc:
        return [], f"the service's database, where they are, could not be read ({exc})"


def status_command(args) -> int:
    """Exit status 0 when ready, 1 when degraded: usable as a check in a script."""
    service().setup_django()
    from pyvision.ops import status

    queue, workers, failures = status.queue(), status.workers(), status.recent_failures()
    problems = status.problems(queue, workers)
    if args.json:
        print(json.dumps({"queue": queue, "workers": workers, "failures_last_hour": failures, "problems": problems}))
        return 1 if problems else 0
    oldest = f"{queue['oldest_seconds']:.0f} s" if queue["oldest_seconds"] is not None else "-"
    print(f"queue         {queue['depth']} of {queue['limit']} queued, the oldest waiting {oldest}; "
          f"{queue['running']} running")
    print(f"workers       {len(workers)} live")
    for worker in workers:
        print(f"  {worker['name']}   last heartbeat {worker['last_beat_seconds']:.0f} s ago")
    print(f"last hour     {sum(failures.values())} failed" +
          "".join(f"\n  {code or '-'}   {count}" for code, count in failures.items()))
    for problem in problems:
        print(f"PROBLEM       {problem}")
    return 1 if problems else 0


def archive_command(args) -> int:
    """``backup`` and ``restore``: the same checks, the same errors."""
    service().setup_django()
    from pyvision.ops import backup

    try:
        if args.action == "backup":
            files = backup.backup(args.archive)
            print(f"{args.archive}: the database and {files} files")
        else:
            files = backup.restore(args.archive)
            print(f"restored the database and {files} files from {args.archive};"
                  " `pyvision run` brings the schema up to date")
    except backup.BackupError as exc:
        sys.exit(f"pyvision {args.action}: {exc}")
    return 0


def loadtest_command(args) -> int:
    from pyvision import loadtest

    if args.concurrency < 1 or args.requests < 1:
        sys.exit("pyvision loadtest: --concurrency and --requests must be at least 1")
    if args.mode == "classify" and args.via == "site":
        sys.exit("pyvision loadtest: --mode classify is an API call; the site has no classify form")
    if not args.images.is_dir():
        sys.exit(f"pyvision loadtest: {args.images} is not a folder")
    images = loadtest.jpegs(args.images)
    if not images:
        sys.exit(f"pyvision loadtest: no JPEG in {args.images}")
    report = loadtest.run(args.url, images, concurrency=args.concurrency, requests=args.requests,
                          mode=args.mode, token=args.token, wait=args.wait, via=args.via)
    print(json.dumps(dataclasses.asdict(report)) if args.json else report.summary())
    return 1 if report.errors == report.requests else 0


if __name__ == "__main__":
    sys.exit(main())
