"""`albumgan ... -o PATH` (issue #14): a device or a FIFO at PATH is written into, never renamed
over (as root, `-o /dev/null` used to turn /dev/null into a PNG); a PATH that cannot be written
is one line and exit 2, not an internal error."""

from __future__ import annotations

import io
import os
import stat
import threading

import pytest
from PIL import Image

from tests.faults.programs import bot_toml, run
from tests.stub_service import pixels

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def config_file(tmp_path, tiny_models):
    return bot_toml(tmp_path, tiny_models)


def random_cover(config_file, output):
    # from the config's folder: a relative (or, unfixed, blank) name lands there, not in the repo
    return run("bot.cli", "--config", config_file, "random", "--seed", "1", "-o", output, cwd=config_file.parent)


def test_a_fifo_gets_the_png_and_stays_a_fifo(config_file, tmp_path):
    fifo = tmp_path / "cover.fifo"
    os.mkfifo(fifo)
    received = bytearray()
    reader = threading.Thread(target=lambda: received.extend(fifo.read_bytes()), daemon=True)
    reader.start()
    proc = random_cover(config_file, fifo)
    reader.join(30)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert Image.open(io.BytesIO(bytes(received))).format == "PNG"
    assert not [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name]
    regular = tmp_path / "cover.png"
    assert random_cover(config_file, regular).returncode == 0
    assert pixels(regular.read_bytes()) == pixels(bytes(received))  # the same cover, streamed whole (another id)


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_a_device_gets_written_into_and_stays_a_device(config_file, tmp_path):
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a /dev/null of our own
    proc = random_cover(config_file, null)
    assert proc.returncode == 0, proc.stderr
    mode = null.lstat()
    assert stat.S_ISCHR(mode.st_mode) and mode.st_rdev == os.makedev(1, 3)


@pytest.mark.parametrize(
    ("make_output", "says"),
    [
        (lambda tmp: tmp / "a-folder", "a-folder: it is a folder; name a file in it"),
        (lambda tmp: tmp / "a-file" / "cover.png", "a-file is not a folder"),
        (lambda tmp: "", "the file name is empty"),
        (lambda tmp: "   ", "the file name is empty"),
    ],
    ids=["directory", "parent-is-a-file", "empty", "blank"],
)
def test_an_output_that_cannot_be_written_is_one_line_and_exit_2(config_file, tmp_path, make_output, says):
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-folder" / "keep.txt").write_text("mine")
    (tmp_path / "a-file").write_text("mine")
    proc = random_cover(config_file, make_output(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert says in proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert (tmp_path / "a-folder" / "keep.txt").read_text() == "mine" and (tmp_path / "a-file").read_text() == "mine"
    assert not [p for p in tmp_path.rglob("*") if ".tmp-" in p.name]
