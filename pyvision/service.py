"""Starting the service: the web server, the recognition worker, Django's commands."""

import logging
import os
import signal
import subprocess
import sys
import time

from pyvision import webserver

log = logging.getLogger("pyvision.service")

# A worker that dies is started again, but not in a tight loop if it dies at once.
RESTART_DELAY_SECONDS = 1.0


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pyvision.settings")
    import django

    django.setup()


def manage(arguments: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pyvision.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["pyvision manage", *arguments])
    return 0


def prepare() -> int:
    """Bring a new or old data folder up to date: schema, synsets, static files; and
    check the default model on this CPU before a worker starts (recognition/worker.py)."""
    setup_django()
    from django.conf import settings
    from django.core.management import call_command

    from pyvision.recognition import worker
    from pyvision.synsets.models import Synset

    compile_messages()
    call_command("migrate", interactive=False, verbosity=0)
    if Synset.objects.count() != 1000:
        call_command("load_synsets")
    call_command("collectstatic", interactive=False, verbosity=0)
    if settings.S3_BUCKET:
        create_bucket(settings.S3_BUCKET)
    try:
        worker.check_ahead()
    except Exception:  # the service starts all the same: its worker checks the model itself
        log.warning("the default model could not be checked ahead of the workers", exc_info=True)
    return 0


def create_bucket(name: str) -> None:
    """AWS and MinIO refuse uploads to a bucket that does not exist, and SeaweedFS makes it
    only on the first upload: until then /readyz would say the storage is unreachable."""
    from botocore.exceptions import ClientError
    from django.core.files.storage import default_storage

    client = default_storage.connection.meta.client
    try:
        client.head_bucket(Bucket=name)
        return
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
            raise
    region = client.meta.region_name
    if region and region != "us-east-1":  # S3's default region takes no location
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    else:
        client.create_bucket(Bucket=name)
    log.info("created the bucket %s", name)


def compile_messages() -> None:
    """Build the .mo files from the committed .po catalogues where they are out of date.

    polib writes them, so running the site needs no GNU gettext installed.
    """
    import polib
    from django.conf import settings

    for catalogue in settings.BASE_DIR.glob("locale/*/LC_MESSAGES/*.po"):
        compiled = catalogue.with_suffix(".mo")
        if not compiled.exists() or compiled.stat().st_mtime < catalogue.stat().st_mtime:
            polib.pofile(str(catalogue)).save_as_mofile(str(compiled))


def run_worker(concurrency: int | None = None) -> int:
    """The worker until it stops; its exit status is Celery's.

    Through Celery's own command line, called so that it returns the status:
    ``app.start`` and ``app.worker_main`` drop it, and a worker whose consumer failed as
    the broker went away ("Unrecoverable error") exited 0, which a supervisor that
    restarts only failures takes for a clean stop.
    """
    setup_django()
    from celery.bin.celery import celery as celery_command
    from click.exceptions import Abort
    from django.conf import settings

    try:
        return celery_command.main(args=[
            "--app", "pyvision.celery:app",
            "worker",
            "--pool", settings.WORKER_POOL,
            "--concurrency", str(concurrency or settings.WORKER_CONCURRENCY),
            "--without-mingle", "--without-gossip",
            # Unique per process: several workers may run on one host.
            "--hostname", f"pyvision-{os.getpid()}@%h",
            "--loglevel", settings.LOG_LEVEL,
        ], prog_name="pyvision worker", standalone_mode=False) or 0
    except Abort:
        # click's word for a Ctrl-C that came before the worker had its own handler: said
        # as any other command's interruption is (cli.main), not as a traceback.
        raise KeyboardInterrupt from None


def run_all() -> int:
    """``make run``: the web server and one worker, until Ctrl-C or SIGTERM.

    This process only supervises: the setup runs in a child process so that the
    supervisor does not keep Django and its imports in memory.
    """
    subprocess.run([sys.executable, "-m", "pyvision", "setup"], check=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pyvision.settings")
    few_malloc_arenas()
    from django.conf import settings  # the settings alone: no app is loaded here

    host, port = web_address()
    web = start_web(webserver.listen(host, port), settings.WEB_PROCESSES)
    worker = start_worker()
    print(f"pyvision is serving on http://{host}:{port}/ (Ctrl-C stops it)", flush=True)

    def restart_worker():
        nonlocal worker
        if worker.poll() is not None:
            log.warning("the worker exited with %s; starting it again", worker.returncode)
            time.sleep(RESTART_DELAY_SECONDS)
            worker = start_worker()

    stopped = supervise(web, restart_worker)
    stop_all([*web, worker])
    return 0 if stopped else web_exit_status(web)


def run_web() -> int:
    """Distributed mode: the web server alone, in the foreground.

    The schema is migrated once per release with ``pyvision setup``, not by every web
    process; each web host only collects its static files.
    """
    subprocess.run([sys.executable, "-m", "pyvision", "manage", "collectstatic", "--noinput", "-v", "0"], check=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pyvision.settings")
    few_malloc_arenas()
    from django.conf import settings

    web = start_web(webserver.listen(*web_address()), settings.WEB_PROCESSES)
    stopped = supervise(web)
    stop_all(web)
    return 0 if stopped else web_exit_status(web)


def start_web(listener, processes: int) -> list[subprocess.Popen]:
    """The web processes, all accepting on ``listener`` (see pyvision.webserver)."""
    fd = listener.fileno()
    return [subprocess.Popen([sys.executable, "-m", "pyvision.webserver", str(fd)], pass_fds=[fd])
            for _ in range(processes)]


def supervise(web: list[subprocess.Popen], each_turn=lambda: None) -> bool:
    """Until SIGINT or SIGTERM (True), or until a web process exits (False)."""
    stopping = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda signum, frame: stopping.append(signum))
    while not stopping and all(process.poll() is None for process in web):
        each_turn()
        time.sleep(0.2)
    return bool(stopping)


def stop_all(processes: list[subprocess.Popen]) -> None:
    """SIGTERM, so that each finishes what it is doing; SIGKILL for one that takes too long."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def web_exit_status(web: list[subprocess.Popen]) -> int:
    return next((process.returncode for process in web if process.returncode), 1)


def few_malloc_arenas() -> None:
    """For the processes started from here: glibc gives each thread that allocates its own
    memory arena, and with a dozen threads (web requests, decoding, onnxruntime) the
    fragments add up. Two arenas took 40 MB off the embedded stack under load, at no
    measured cost in speed. A value set by the operator wins."""
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")


def web_address() -> tuple[str, int]:
    return os.environ.get("PYVISION_BIND", "127.0.0.1"), int(os.environ.get("PORT", "8000"))


def start_worker() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pyvision", "worker"])
