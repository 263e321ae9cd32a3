"""Real servers for the distributed tests: PostgreSQL, MariaDB, Redis, RabbitMQ and an
S3-compatible store (SeaweedFS), each started on a free loopback port in a temporary
folder, once per test session, and always stopped.

Commands as in design.md. A server that cannot start fails the tests that use it, with
its log: nothing is skipped.
"""

import os
import shutil
import signal
import socket
import sys
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import pytest

from tests.live_service import free_port

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
S3_KEY, S3_SECRET = "pyvision-test", "pyvision-test-secret"


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{process.args[0]} did not listen on {port} within {timeout} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen, stop_signal: int = signal.SIGTERM, timeout: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(stop_signal)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def as_user(user: str) -> dict:
    """Database servers refuse to run as root: run them as their Debian system user."""
    return {"user": user, "group": user, "extra_groups": []} if os.geteuid() == 0 else {}


class Server:
    """One server process that can be stopped and started again on the same port and data."""

    stop_signal = signal.SIGTERM

    def __init__(self, name: str, folder: Path, port: int, command: list[str], env: dict | None = None,
                 user: str | None = None):
        self.name, self.folder, self.port, self.command = name, folder, port, command
        self.env = {**os.environ, **(env or {})}
        self.user = as_user(user) if user else {}
        self.log = folder / f"{name}.log"
        self.process = None
        self.start()

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                            cwd=self.folder, start_new_session=True, **self.user)
        wait_for_port(self.port, self.process, self.log)

    def stop(self) -> None:
        stop(self.process, self.stop_signal)


def owned_folder(tmp: Path, name: str, user: str) -> Path:
    folder = tmp / name
    folder.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, user, user)
    return folder


class Postgres(Server):
    stop_signal = signal.SIGINT  # "fast" shutdown: does not wait for the clients to leave

    def __init__(self, tmp: Path):
        data = owned_folder(tmp, "postgres", "postgres")
        subprocess.run([str(POSTGRES_BIN / "initdb"), "-D", str(data / "db"), "-U", "postgres", "--auth=trust",
                        "-E", "UTF8"], check=True, capture_output=True, cwd=data, **as_user("postgres"))
        port = free_port()
        super().__init__("postgres", data, port, [
            str(POSTGRES_BIN / "postgres"), "-D", str(data / "db"), "-h", "127.0.0.1", "-p", str(port),
            "-k", str(data), "-c", "fsync=off", "-c", "max_connections=200"], user="postgres")

    def new_database(self) -> str:
        """A database of its own for one test; its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"


class MariaDB(Server):
    def __init__(self, tmp: Path):
        data = owned_folder(tmp, "mariadb", "mysql")
        subprocess.run(["mariadb-install-db", "--user=mysql", f"--datadir={data / 'db'}", "--skip-test-db",
                        "--auth-root-authentication-method=normal"], check=True, capture_output=True)
        port = free_port()
        super().__init__("mariadb", data, port, [
            "mariadbd", "--no-defaults", "--user=mysql", f"--datadir={data / 'db'}", f"--socket={data / 's.sock'}",
            "--bind-address=127.0.0.1", f"--port={port}", "--skip-name-resolve", "--innodb-flush-log-at-trx-commit=0",
            f"--pid-file={data / 'mariadb.pid'}"])

    def new_database(self) -> str:
        import MySQLdb

        name = f"t_{uuid.uuid4().hex[:12]}"
        db = MySQLdb.connect(host="127.0.0.1", port=self.port, user="root")
        try:
            db.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        finally:
            db.close()
        return f"mysql://root@127.0.0.1:{self.port}/{name}"


class Redis(Server):
    def __init__(self, tmp: Path):
        folder = tmp / "redis"
        folder.mkdir()
        port = free_port()
        super().__init__("redis", folder, port, [
            "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class RabbitMQ(Server):
    def __init__(self, tmp: Path):
        folder = owned_folder(tmp, "rabbitmq", "rabbitmq")
        port, dist_port, epmd_port = free_port(), free_port(), free_port()
        node = f"pyvision{port}@localhost"
        env = {
            "RABBITMQ_NODENAME": node, "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": str(port),
            "RABBITMQ_DIST_PORT": str(dist_port), "ERL_EPMD_ADDRESS": "127.0.0.1", "ERL_EPMD_PORT": str(epmd_port),
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"), "RABBITMQ_LOG_BASE": str(folder / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq"), "HOME": str(folder),
        }
        (folder / "enabled_plugins").write_text("[].\n")
        (folder / "rabbitmq.conf").write_text("loopback_users = none\n")
        if os.geteuid() == 0:
            for path in folder.iterdir():
                shutil.chown(path, "rabbitmq", "rabbitmq")
        self.epmd_port = epmd_port
        super().__init__("rabbitmq", folder, port, ["/usr/lib/rabbitmq/bin/rabbitmq-server"], env, user="rabbitmq")

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def stop(self) -> None:
        super().stop()
        # rabbitmq-server starts epmd, which outlives it: stop the one of this node.
        subprocess.run(["epmd", "-port", str(self.epmd_port), "-kill"], env=self.env, capture_output=True)


class SeaweedS3(Server):
    def __init__(self, tmp: Path):
        folder = tmp / "seaweedfs"
        folder.mkdir()
        weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
        port, master, volume, filer = free_port(), free_port(), free_port(), free_port()
        self.client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=S3_KEY,
                                   aws_secret_access_key=S3_SECRET, region_name="us-east-1")
        super().__init__("seaweedfs", folder, port, [
            weed, "mini", f"-dir={folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
            "-admin.ui=false", f"-s3.port={port}", f"-master.port={master}", f"-volume.port={volume}",
            f"-filer.port={filer}",
            # Its Iceberg and Lance catalogues listen on fixed ports: two test sessions at once collide there.
            "-s3.port.iceberg=0", "-s3.port.lance=0"], {"AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET})

    def start(self) -> None:
        super().start()
        self._wait_until_serving()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_until_serving(self, timeout: float = 60) -> None:
        # The S3 port opens before the filer behind it is ready.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client.list_buckets()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def new_bucket(self) -> str:
        """A name no bucket has yet: `pyvision setup` makes it."""
        return f"t-{uuid.uuid4().hex[:12]}"

    def environment(self, bucket: str) -> dict[str, str]:
        return {
            "PYVISION_S3_BUCKET": bucket, "PYVISION_S3_ENDPOINT_URL": self.endpoint, "PYVISION_S3_REGION": "us-east-1",
            "PYVISION_S3_PATH_STYLE": "true", "AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        }


def session_server(cls):
    @pytest.fixture(scope="session")
    def fixture():
        # Not pytest's tmp_path: its folders are private to root, and the database
        # servers run as their own users.
        folder = Path(tempfile.mkdtemp(prefix=f"pyvision-{cls.__name__.lower()}-"))
        folder.chmod(0o755)
        server = cls(folder)
        try:
            yield server
        finally:
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)

    return fixture


postgres = session_server(Postgres)
mariadb = session_server(MariaDB)
redis = session_server(Redis)
rabbitmq = session_server(RabbitMQ)
s3 = session_server(SeaweedS3)

