"""The load benchmark's driver, run small: it must keep measuring what it claims to."""

from __future__ import annotations

from benchmarks import bot_load


async def test_bot_load_drives_every_command_kind_to_an_answer(tmp_path, tiny_models):
    for kind, path in tiny_models.items():  # under the names the benchmark looks for
        (tmp_path / f"{kind}-64.onnx").symlink_to(path)
    args = bot_load.parse_args(
        [
            "--requests",
            "9",
            "--warmup",
            "3",
            "--concurrency",
            "4",
            "--mix",
            "random=1,cover=1,album=1",
            "--models",
            str(tmp_path),
            "--timeout",
            "30",
        ]
    )
    text = await bot_load.run(args)
    assert "requests=9" in text and "unconditional-64.onnx; acgan-64.onnx" in text
    assert "lost: 0  error answers: 0" in text, text
