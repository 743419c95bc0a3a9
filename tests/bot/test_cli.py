"""The `albumgan` command: offline demo without torch, covers to files, exit codes."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from PIL import Image

from albumgan.bot.cli import main
from tests.service_fixtures import REPO
from tests.stub_service import pixels

NO_TORCH_RUNNER = """
import sys
sys.modules["torch"] = None  # any `import torch` now fails, as with only the bot extra
from albumgan.bot.cli import main
code = main(sys.argv[1:])
assert "torch" not in sys.modules or sys.modules["torch"] is None
sys.exit(code)
"""


@pytest.fixture
def config_file(tmp_path, tiny_models):
    path = tmp_path / "bot.toml"
    path.write_text(
        f"""
[models]
unconditional = "{tiny_models["unconditional"]}"
acgan = "{tiny_models["acgan"]}"
[features]
local_path = "{REPO / "models" / "demo-tracks.csv"}"
[database]
path = "state/bot.sqlite3"
""",
        encoding="utf-8",
    )
    return path


def is_png(path) -> bool:
    return Image.open(io.BytesIO(path.read_bytes())).format == "PNG"


def test_demo_runs_offline_without_torch(config_file, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-c", NO_TORCH_RUNNER, "--config", str(config_file), "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "offline, local demo data (made-up tracks)" in text
    assert "Random cover — seed 7" in text
    assert "Neon Overpass — Demo Artist A (made-up)" in text
    assert "danceability" in text and "local" in text and "BPM" in text
    assert "model unconditional-16" in text and "model acgan-16" in text
    for name in ("random-seed7.png", "demo-track-seed7.png", "demo-track-seed7-features.png"):
        assert is_png(out / name) and str(out / name) in text
    assert not (out / "random-seed7-features.png").exists()  # no features, no card
    assert (tmp_path / "state" / "bot.sqlite3").exists()  # relative to the config file
    assert "Traceback" not in proc.stderr


def test_cover_album_random_to_files(config_file, tmp_path, capsys):
    cover = tmp_path / "c.png"
    assert (
        main(
            [
                "--config",
                str(config_file),
                "cover",
                "<https://open.spotify.com/track/0DemoTrack000000000005?si=x>",
                "--seed",
                "3",
                "-o",
                str(cover),
            ]
        )
        == 0
    )
    assert is_png(cover) and is_png(tmp_path / "c-features.png")
    album = tmp_path / "a.png"
    assert main(["--config", str(config_file), "album", "spotify:album:0DemoAlbum000000000001", "-o", str(album)]) == 0
    first = tmp_path / "r1.png"
    second = tmp_path / "r2.png"
    for path in (first, second):
        assert main(["--config", str(config_file), "random", "--seed", "42", "-o", str(path)]) == 0
    assert pixels(first.read_bytes()) == pixels(second.read_bytes())  # the same cover (its PNG names its own id)
    out = capsys.readouterr().out
    assert "Moss and Rain" in out and "Demo Album: Night Drive" in out
    assert "averaged over 4 of 4 tracks" in out and "seed 42" in out


def test_about(config_file, capsys):
    assert main(["--config", str(config_file), "about"]) == 0
    out = capsys.readouterr().out
    assert "acgan-16" in out and "unconditional-16" in out and "credentials" in out


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["cover", "https://open.spotify.com/artist/37i9dQZF1DXcBWIGoYBM5M"], 2, "That's an artist link"),
        (["album", "hello"], 2, "couldn't find a Spotify link"),
        (["random", "--seed", "-5"], 2, "whole number from 0 to 4294967295"),
        (["random", "--seed", "seven"], 2, "'seven' is not a whole number"),
        (["cover", "spotify:track:6rqhFgbbKwnb9MLmUQDhG6"], 3, "no Spotify credentials"),
        (["serve"], 2, "choose a frontend"),
        (["serve", "--discord"], 2, "DISCORD_TOKEN is not set"),
    ],
)
def test_errors_are_one_friendly_line(config_file, capsys, argv, code, says):
    assert _exit_code(["--config", str(config_file), *argv]) == code
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_bad_config_and_missing_models(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[limits]\nqueue_sise = 3\n", encoding="utf-8")
    assert main(["--config", str(bad), "random"]) == 2
    assert "unknown key 'queue_sise' in [limits]" in capsys.readouterr().err
    empty = tmp_path / "empty.toml"
    empty.write_text("[database]\npath = 'x.db'\n", encoding="utf-8")
    assert main(["--config", str(empty), "random"]) == 3
    err = capsys.readouterr().err
    assert "models/unconditional-64.onnx: no such model file" in err and "albumgan-export" in err
    assert main(["--config", str(tmp_path / "nope.toml"), "about"]) == 2
    assert "config file not found" in capsys.readouterr().err


def _exit_code(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse reports its own errors this way
        return exc.code
