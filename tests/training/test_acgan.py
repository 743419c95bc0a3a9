import json

from albumgan.training.cli import main


def test_auxiliary_loss_falls_when_features_determine_the_image(tmp_path, synthetic_dataset, tiny_config):
    """valence sets the hue of the synthetic covers: the critic learns to read it off reals,
    and the generator learns to paint what it is asked for."""
    run = tmp_path / "run"
    code = main(
        [
            "--config",
            str(tiny_config(kind="acgan", loss="hinge", n_critic=1, logan=False)),
            "--data",
            str(synthetic_dataset),
            "--out",
            str(run),
            "--steps",
            "60",
            "--batch-size",
            "16",
            "--set",
            "optim.d_lr=1e-3",
            "--set",
            "optim.g_lr=1e-3",
            "--set",
            "train.checkpoint_every=1000",
            "--set",
            "augment.policy='translation,cutout'",
            "--progress",
            "off",
        ]
    )
    assert code == 0
    lines = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    d_aux = [line["D/aux"] for line in lines]
    g_aux = [line["G/aux"] for line in lines]
    first, last = sum(d_aux[:10]) / 10, sum(d_aux[-10:]) / 10
    assert last < 0.5 * first, (first, last)
    assert sum(g_aux[-10:]) / 10 < 0.5 * sum(g_aux[:10]) / 10
