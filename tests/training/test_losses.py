import pytest
import torch

from albumgan.training.config import Config, LoganConfig, LossConfig, ModelConfig
from albumgan.training.losses import GANLoss, LeCam, masked_mse, mode_seeking
from albumgan.training.networks import Critic, Generator


def make(loss="wgan-gp", c_dim=0, logan=False, prior="normal", policy="", **loss_kw):
    torch.manual_seed(1)
    G = Generator(z_dim=8, resolution=16, width=8, c_dim=c_dim)
    D = Critic(resolution=16, width=8, c_dim=c_dim)
    config = Config(
        model=ModelConfig(latent_prior=prior),
        loss=LossConfig(kind=loss, **loss_kw),
        logan=LoganConfig(enabled=logan, alpha=0.9, beta=5.0),
    )
    config.augment.policy = policy
    return G, D, GANLoss(G, D, config)


def smooth_reals(n=8):
    """Structured images: horizontal colour ramps."""
    ramp = torch.linspace(-1, 1, 16).view(1, 1, 1, 16)
    colour = torch.rand(n, 3, 1, 1) * 2 - 1
    return (ramp * colour).expand(n, 3, 16, 16).contiguous()


def critic_loss(loss, real, z):
    torch.manual_seed(5)  # same interpolation points before and after the step
    value, stats = loss.phase_loss("Dboth", real=real, z=z)
    return value, stats


def test_one_wgan_gp_step_lowers_the_critic_loss_on_a_fixed_batch():
    G, D, loss = make("wgan-gp")
    real, z = smooth_reals(), torch.randn(8, 8)
    opt = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.0, 0.99))
    before, stats = critic_loss(loss, real, z)
    assert set(stats) >= {"D/adv", "D/gp", "D/real", "D/fake"}
    opt.zero_grad()
    before.backward()
    assert all(p.grad is None for p in G.parameters())  # the fake is detached in the critic step
    opt.step()
    after, _ = critic_loss(loss, real, z)
    assert after.item() < before.item()


def test_logan_step_moves_z_up_the_critic_score():
    G, D, loss = make("wgan-gp", logan=True, prior="normal")
    z = torch.randn(16, 8)
    z_new, dz = loss.latent_step(z, None, None, create_graph=False)
    with torch.no_grad():
        before, after = D(G(z))[0], D(G(z_new))[0]
    assert torch.all(after > before)
    # Natural-gradient step: |dz| = alpha |g| / (beta + |g|^2) <= alpha / (2 sqrt(beta)).
    assert torch.all(dz.norm(dim=1) <= 0.9 / (2 * 5.0**0.5) + 1e-6)


def test_logan_with_uniform_prior_stays_in_the_box_and_backpropagates_through_dz():
    G, D, loss = make("wgan-gp", logan=True, prior="uniform")
    loss.logan.alpha = 50.0  # a big step, so that clipping matters
    z = torch.rand(8, 8) * 2 - 1
    z_new, dz = loss.latent_step(z, None, None, create_graph=True)
    assert z_new.min() >= -1 and z_new.max() <= 1 and (z_new.abs() == 1).any()
    grads = torch.autograd.grad(dz.pow(2).sum(), list(G.parameters()), allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


def test_generator_phase_with_logan_reports_dz_and_trains_g_only():
    G, D, loss = make("hinge", logan=True)
    D.requires_grad_(False)
    value, stats = loss.phase_loss("G", z=torch.randn(8, 8))
    value.backward()
    assert "G/dz" in stats and stats["G/dz"] > 0
    assert all(p.grad is not None for p in G.parameters())
    assert all(p.grad is None for p in D.parameters())


@pytest.mark.parametrize("kind, reg", [("wgan-gp", "D/gp"), ("nsgan-r1", "D/r1")])
def test_regularisers(kind, reg):
    _, _, loss = make(kind, policy="color,translation,cutout")
    value, stats = loss.phase_loss("Dboth", real=smooth_reals(), z=torch.randn(8, 8), gain=4)
    assert torch.isfinite(value) and reg in stats
    _, stats = loss.phase_loss("D", real=smooth_reals(), z=torch.randn(8, 8))
    assert reg not in stats


def test_hinge_has_no_regulariser_and_wgan_clip_clips():
    _, _, hinge = make("hinge")
    assert hinge.regulariser_interval == 0
    with pytest.raises(ValueError, match="no critic regulariser"):
        hinge.phase_loss("Dreg", real=smooth_reals(), z=torch.randn(8, 8))
    _, D, clip = make("wgan-clip")
    assert max(p.abs().max() for p in D.parameters()) > 0.01
    clip.clip_critic()
    assert max(p.abs().max() for p in D.parameters()) <= 0.01


def test_acgan_aux_terms_use_present_features_only():
    pred = torch.tensor([[1.0, 5.0], [0.0, 0.0]])
    target = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    mask = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    assert masked_mse(pred, target, mask).item() == 1.0
    assert masked_mse(pred, target, torch.zeros_like(mask)).item() == 0.0
    _, _, loss = make("hinge", c_dim=10)
    labels, m = torch.rand(8, 10) * 2 - 1, (torch.rand(8, 10) > 0.3).float()
    _, d_stats = loss.phase_loss(
        "D", real=smooth_reals(), labels=labels, mask=m, z=torch.randn(8, 8), gen_labels=labels * m, gen_mask=m
    )
    _, g_stats = loss.phase_loss("G", z=torch.randn(8, 8), gen_labels=labels * m, gen_mask=m)
    assert "D/aux" in d_stats and "G/aux" in g_stats


def test_lecam_penalises_scores_past_the_other_sides_moving_average():
    lecam = LeCam(decay=0.5)
    # First call: the averages start at this batch's means (real 1, fake -1).
    penalty = lecam(torch.tensor([2.0, 0.0]), torch.tensor([-2.0, 0.0]))
    # real scores above the fake average -1: (3, 1); fake scores below the real average 1: (3, 1)
    assert penalty.item() == pytest.approx((9 + 1) / 2 + (9 + 1) / 2)
    # Then moving averages: real 0.5 * 1 + 0.5 * 0 = 0.5, fake 0.5 * -1 + 0.5 * 0 = -0.5; scores
    # inside the band between them cost nothing.
    assert lecam(torch.tensor([0.0]), torch.tensor([0.0])).item() == pytest.approx(0.5**2 + 0.5**2)
    assert lecam.state_dict() == {"real_average": 0.5, "fake_average": -0.5}
    assert lecam(torch.tensor([-0.6]), torch.tensor([0.6])).item() == 0.0


def test_lecam_weight_adds_to_the_critic_loss_only_when_on():
    real, z = smooth_reals(), torch.randn(8, 8)
    _, _, plain = make("hinge")
    _, _, regularised = make("hinge", lecam_weight=0.3)
    base, stats = plain.phase_loss("D", real=real, z=z)
    total, lecam_stats = regularised.phase_loss("D", real=real, z=z)
    assert "D/lecam" not in stats and plain.state_dict() == {}
    assert total.item() == pytest.approx(base.item() + 0.3 * lecam_stats["D/lecam"].item(), rel=1e-5)
    assert regularised.state_dict()["lecam"]["real_average"] == pytest.approx(lecam_stats["D/real"].item())


def test_mode_seeking_costs_more_when_the_latent_changes_the_image_less():
    z_a, z_b = torch.zeros(4, 8), torch.ones(4, 8)
    far, near = torch.zeros(4, 3, 2, 2), torch.full((4, 3, 2, 2), 0.5)
    assert mode_seeking(far, far + 1.0, z_a, z_b).item() == pytest.approx(1.0, rel=1e-4)
    assert mode_seeking(near, near + 0.1, z_a, z_b).item() == pytest.approx(10.0, rel=1e-3)
    assert mode_seeking(far, far, z_a, z_b).item() > 1e4  # G ignores z: the term explodes


def test_mode_seeking_pairs_two_latents_with_one_condition_and_trains_g_through_it():
    G, _, loss = make("hinge", c_dim=10, mode_seeking=1.0)
    seen = {}
    forward = G.forward

    def spy(z, labels=None, mask=None):
        seen["labels"], seen["mask"] = labels, mask
        return forward(z, labels, mask)

    G.forward = spy
    labels, m = torch.rand(9, 10) * 2 - 1, (torch.rand(9, 10) > 0.3).float()
    total, stats = loss.phase_loss("G", z=torch.randn(9, 8), gen_labels=labels * m, gen_mask=m)
    # Rows 4-7 repeat rows 0-3's conditions; the odd row out keeps its own.
    assert torch.equal(seen["labels"][4:8], (labels * m)[:4]) and torch.equal(seen["mask"][8], m[8])
    assert total.item() == pytest.approx((stats["G/adv"] + stats["G/aux"] + stats["G/ms"]).item(), rel=1e-5)
    total.backward()
    assert all(p.grad is not None for p in G.parameters() if p.requires_grad)
    _, _, plain = make("hinge", c_dim=10)
    assert "G/ms" not in plain.phase_loss("G", z=torch.randn(8, 8), gen_labels=labels[:8], gen_mask=m[:8])[1]
