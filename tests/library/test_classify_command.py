"""`pyvision classify`: every file of the folders, in order, through the pipelined path;
on a terminal its lines go above the progress bar, never into it."""

import fcntl
import json
import os
import pty
import shutil
import struct
import subprocess
import sys
import termios

from pyvision import cli
from tests.bad_images import damaged_avif
from tests.conftest import SKIMAGE_DATA
from tests.library.conftest import CATS


def test_results_come_in_order_and_bad_files_fail_alone(library, capsys):
    (library / "notes.jpg").write_text("not a photo")
    (library / "damaged.avif").write_bytes(damaged_avif())
    assert cli.main(["classify", "--json", "--top", "3", str(library)]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [os.path.basename(line["path"]) for line in lines] == ["chelsea.png", "coffee.png", "damaged.avif", "notes.jpg"]
    assert lines[0]["predictions"][0]["label"] in CATS and len(lines[0]["predictions"]) == 3
    assert lines[1]["predictions"][0]["label"] == "espresso"
    assert lines[2]["error"]["code"] == "corrupt_image"
    assert lines[3]["error"]["code"] == "not_an_image"


def test_on_a_terminal_result_lines_are_never_mixed_with_the_bar(tmp_path):
    for i in range(40):
        shutil.copy(SKIMAGE_DATA / "coffee.png", tmp_path / f"IMG_{i:02}.png")
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 160, 0, 0))  # a terminal 160 columns wide
    run = subprocess.Popen([sys.executable, "-m", "pyvision", "classify", "--json", "--top", "1", str(tmp_path)],
                           stdout=follower, stderr=follower, stdin=subprocess.DEVNULL)
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the program ended and closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    assert run.wait(timeout=60) == 0
    # What the terminal shows on each line: the text after its last carriage return
    # (the terminal itself ends each line with one).
    shown = [line.removesuffix("\r").rsplit("\r", 1)[-1] for line in screen.decode().split("\n")]
    results = [line for line in screen.decode().split("\n") if "espresso" in line]
    assert len(results) == 40
    assert sum(line.startswith('{"path": ') and line.endswith("}") for line in shown) == 40
    assert "100%" in screen.decode()  # the bar was there


def test_a_file_it_cannot_read_is_said_and_fails_the_run(library, capsys):
    (library / "gone.jpg").symlink_to(library / "nowhere.jpg")
    assert cli.main(["classify", str(library)]) == 1
    assert "gone.jpg: error unreadable_file: a symbolic link to nothing" in capsys.readouterr().err


def test_a_reader_that_stops_early_ends_the_run_quietly(tmp_path):
    for i in range(60):
        shutil.copy(SKIMAGE_DATA / "coffee.png", tmp_path / f"{i:02}.png")
    # `pyvision classify DIR | head -1`: after the first line, each write meets a closed pipe.
    run = subprocess.run(["bash", "-o", "pipefail", "-c", f'"{sys.executable}" -m pyvision classify "{tmp_path}" | head -1'],
                         capture_output=True, text=True, timeout=300)
    assert run.stdout.startswith(str(tmp_path / "00.png")) and "Traceback" not in run.stderr
    assert run.returncode == 141  # as a writer that SIGPIPE ended
