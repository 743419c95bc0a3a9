"""Training throughput: real images/s through the critic, this project's loop vs the
PyTorch-GAN wgan_gp reference loop on the same networks, batch and resolution, in one process.

The reference (eriklindernoren/PyTorch-GAN `implementations/wgan_gp/wgan_gp.py`) re-implemented
faithfully: per batch a G forward whose output is NOT detached, critic on real and fake,
gradient penalty on interpolates, one backward (through G as well); every n_critic-th batch a
generator step on the same z; Adam 2e-4 (0.5, 0.999); all fp32, no augmentation. For the ACGAN
the reference also feeds the conditions to G and adds the masked auxiliary MSE, so both sides do
the conditional work. "Ours" runs the real `training_loop` with a shipped recipe (data loading
included) and reads images/s from its stats.

    PYTHONPATH=. .venv/bin/python benchmarks/train_throughput.py       # 64 px, width 32, batch 32
    PYTHONPATH=. .venv/bin/python benchmarks/train_throughput.py --device cuda --width 64 --batch 64 --steps 20
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from albumgan.training.config import load_config
from albumgan.training.data.format import ShardedDataset
from albumgan.training.data.loader import BatchLoader
from albumgan.training.loop import training_loop
from albumgan.training.losses import masked_mse
from albumgan.training.networks import Critic, Generator
from fakes.synthetic_covers import make_dataset


def reference_gradient_penalty(D, real, fake):
    alpha = torch.rand(real.size(0), 1, 1, 1, device=real.device)
    interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    d_interpolates, _ = D(interpolates)
    gradients = torch.autograd.grad(
        outputs=d_interpolates,
        inputs=interpolates,
        grad_outputs=torch.ones_like(d_interpolates),
        create_graph=True,
        retain_graph=True,
        only_inputs=True,
    )[0]
    gradients = gradients.view(gradients.size(0), -1)
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean()


def reference_loop(G, D, loader, *, g_steps, warmup, n_critic, device, conditional) -> float:
    """PyTorch-GAN wgan_gp's loop; returns real images/s after `warmup` generator steps."""
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    done, i, images, start = 0, 0, 0, None
    while done < warmup + g_steps:
        real, labels, mask = loader.next()
        gen_labels, gen_mask = loader.sample_conditions(len(real)) if conditional else (None, None)
        # Train the critic.
        opt_D.zero_grad()
        z = torch.randn(real.shape[0], G.z_dim, device=device)
        fake_imgs = G(z, gen_labels, gen_mask)
        real_validity, real_aux = D(real)
        fake_validity, _ = D(fake_imgs)
        gradient_penalty = reference_gradient_penalty(D, real.data, fake_imgs.data)
        d_loss = -torch.mean(real_validity) + torch.mean(fake_validity) + 10 * gradient_penalty
        if conditional:
            d_loss = d_loss + masked_mse(real_aux, labels, mask)
        d_loss.backward()
        opt_D.step()
        opt_G.zero_grad()
        # Train the generator every n_critic steps.
        if i % n_critic == 0:
            fake_imgs = G(z, gen_labels, gen_mask)
            fake_validity, fake_aux = D(fake_imgs)
            g_loss = -torch.mean(fake_validity)
            if conditional:
                g_loss = g_loss + masked_mse(fake_aux, gen_labels, gen_mask)
            g_loss.backward()
            opt_G.step()
            done += 1
            if done == warmup:
                sync(device)
                start, images = time.perf_counter(), -len(real)  # this batch ran before the clock
        i += 1
        images += len(real)
    sync(device)
    return images / (time.perf_counter() - start)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


REFERENCE = "reference wgan_gp loop (n_critic 5, fake not detached, Adam 2e-4 (0.5, 0.999))"
MATCHED = {
    "loss": {"kind": "wgan-gp", "n_critic": 5, "gp_interval": 1},
    "logan": {"enabled": False},
    "augment": {"policy": ""},
    "optim": {"kind": "adam", "betas": [0.5, 0.999], "g_lr": 2e-4, "d_lr": 2e-4},
}


def variants(model: str, recipe: str) -> list[tuple[str, list[dict]]]:
    """Our loop with the reference's settings (isolates the loop), then with our recipes."""
    rows = [
        ("ours, reference's settings", [MATCHED]),
        ("ours, lazy GP every 4", [MATCHED, {"loss": {"gp_interval": 4}}]),
        (f"ours, {recipe} recipe", []),
    ]
    if model == "unconditional":
        rows.append((f"ours, {recipe} with LOGAN off", [{"logan": {"enabled": False}}]))
    return rows


def ours(recipe, data, run, args, overrides) -> tuple[float, dict]:
    base = [
        {
            "model": {"resolution": args.resolution, "g_width": args.width, "d_width": args.width},
            "train": {
                "batch_size": args.batch,
                "steps": args.warmup + args.steps,
                "log_every": 1,
                "checkpoint_every": 10**9,
                "sample_every": 10**9,
            },
            "runtime": {"device": args.device},
        }
    ]
    config = load_config(recipe, base + overrides)
    training_loop(config=config, data_dir=data, run_dir=run, progress=False)
    lines = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    measured = lines[args.warmup :]
    images = measured[-1]["images"] - lines[args.warmup - 1]["images"]
    seconds = measured[-1]["seconds"] - lines[args.warmup - 1]["seconds"]
    return images / seconds, config


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=2, help="measured generator steps per row")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeats", type=int, default=2, help="rounds; each row reports its best")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    best: dict[tuple[str, str], float] = {}  # (model, row label) -> best images/s over repeats
    critic_steps: dict[tuple[str, str], int] = {}  # critic batches per generator step
    with tempfile.TemporaryDirectory() as tmp:
        data = make_dataset(Path(tmp) / "data", n=256, resolutions=(args.resolution,))
        dataset = ShardedDataset(data, args.resolution)
        runs = 0
        # Rows alternate within each repeat, so a burst of load from elsewhere hits them all.
        for _ in range(args.repeats):
            for model, recipe, c_dim in (("unconditional", "unconditional-64", 0), ("acgan", "acgan-64", 10)):
                torch.manual_seed(0)
                G = Generator(z_dim=128, resolution=args.resolution, width=args.width, c_dim=c_dim).to(device)
                D = Critic(resolution=args.resolution, width=args.width, c_dim=c_dim).to(device)
                loader = BatchLoader(dataset, args.batch, device)
                rate = reference_loop(
                    G,
                    D,
                    loader,
                    g_steps=args.steps,
                    warmup=args.warmup,
                    n_critic=5,
                    device=device,
                    conditional=bool(c_dim),
                )
                key = (model, REFERENCE)
                best[key], critic_steps[key] = max(best.get(key, 0.0), rate), 5
                for label, overrides in variants(model, recipe):
                    runs += 1
                    rate, config = ours(recipe, data, Path(tmp) / f"run-{runs}", args, overrides)
                    detail = (
                        f"{config.loss.kind}, n_critic {config.loss.n_critic}, GP every {config.loss.gp_interval}, "
                        f"LOGAN {'on' if config.logan.enabled else 'off'}, aug '{config.augment.policy}'"
                    )
                    key = (model, f"{label} ({detail})")
                    best[key], critic_steps[key] = max(best.get(key, 0.0), rate), config.loss.n_critic
    print(
        f"\nresolution {args.resolution}, width {args.width}, batch {args.batch}, device {args.device}, "
        f"best of {args.repeats} rounds of {args.steps} generator steps after {args.warmup} warm-up, "
        f"torch threads {torch.get_num_threads()}\n"
    )
    print("| model | loop | real images/s | vs reference | generator steps/s | vs reference |")
    print("|---|---|---|---|---|---|")
    for (model, label), rate in best.items():
        ref = best[(model, REFERENCE)]
        g_rate, g_ref = rate / (critic_steps[(model, label)] * args.batch), ref / (5 * args.batch)
        print(f"| {model} | {label} | {rate:.1f} | {rate / ref:.2f}x | {g_rate:.2f} | {g_rate / g_ref:.2f}x |")


if __name__ == "__main__":
    main()
