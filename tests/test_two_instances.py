"""Two `pyvision run` of one user, on two ports with two data folders, are independent:
neither listens on a socket in the user's home or runtime folder (where a control socket
of one used to replace the other's, and stopping one removed it), and stopping one
leaves the other serving."""

import stat

from tests.live_service import LiveService


def sockets_under(folder):
    return [path for path in folder.rglob("*") if stat.S_ISSOCK(path.lstat().st_mode)]


def test_stopping_one_instance_leaves_the_other_serving_and_nothing_shared(tmp_path, photo):
    home = tmp_path / "home"
    runtime = home / "run"
    runtime.mkdir(parents=True)
    shared = {"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    first = LiveService(tmp_path / "first", **shared)
    try:
        second = LiveService(tmp_path / "second", **shared)
    except BaseException:
        first.stop()
        raise
    try:
        try:
            assert sockets_under(home) == []
        finally:
            assert first.stop() == 0
        assert second.http.get(second.url + "/healthz", timeout=10).text == "ok\n"
        upload = second.http.post(second.url + "/api/v1/recognitions?wait=30",
                                  files={"image": ("rocket.jpg", photo("rocket.jpg"))}, timeout=60)
        assert upload.status_code == 201 and upload.json()["status"] == "done", upload.text[:300]
    finally:
        assert second.stop() == 0
