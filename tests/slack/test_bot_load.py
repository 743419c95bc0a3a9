"""The load benchmark's Slack driver, run small: it must keep measuring what it claims to."""

from __future__ import annotations

from benchmarks import bot_load


async def test_bot_load_over_slack_answers_every_command_kind(tmp_path, tiny_models):
    for kind, path in tiny_models.items():  # under the names the benchmark looks for
        (tmp_path / f"{kind}-64.onnx").symlink_to(path)
    args = bot_load.parse_args(
        [
            "--frontend",
            "slack",
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
    assert "frontend=slack requests=9" in text, text
    assert "lost: 0  error answers: 0" in text, text
    assert "ack p50:" in text, text  # every command was acked on the socket
