import numpy as np
import pytest
import torch

from albumgan.training.augment import cutout, diff_augment, parse_policy, translation
from albumgan.training.data.format import ShardedDataset
from albumgan.training.data.loader import BatchLoader, EpochSampler


def test_sampler_walks_permutations_and_resumes_exactly():
    sampler = EpochSampler(10, 4, seed=3)
    first_epoch = np.concatenate([sampler.next()[0] for _ in range(2)] + [sampler.next()[0][:2]])
    assert sorted(first_epoch) == list(range(10))  # 12 draws: one whole epoch, then the next
    state = sampler.state_dict()
    expected = [sampler.next() for _ in range(5)]
    again = EpochSampler(10, 4, seed=3)
    again.load_state_dict(state)
    for (i1, f1), (i2, f2) in zip(expected, [again.next() for _ in range(5)], strict=True):
        assert np.array_equal(i1, i2) and np.array_equal(f1, f2)
    with pytest.raises(ValueError, match="different dataset"):
        EpochSampler(11, 4, seed=3).load_state_dict(state)


def test_ranks_take_disjoint_slices_of_the_global_batch():
    whole = EpochSampler(12, 6, seed=1).next()[0]
    parts = [EpochSampler(12, 6, seed=1, rank=r, world_size=3).next()[0] for r in range(3)]
    assert np.array_equal(np.concatenate(parts), whole)
    with pytest.raises(ValueError, match="not divisible"):
        EpochSampler(12, 5, seed=1, world_size=2)


@pytest.mark.parametrize("resident_mb, channels_last", [(1024, False), (0, True)])
def test_loader_batches_match_the_dataset_with_flips(synthetic_dataset, resident_mb, channels_last):
    dataset = ShardedDataset(synthetic_dataset, 16)
    loader = BatchLoader(
        dataset, 8, torch.device("cpu"), seed=2, cache_on_device_mb=resident_mb, channels_last=channels_last
    )
    reference = EpochSampler(len(dataset), 8, seed=2)
    for _ in range(3):
        images, labels, mask = loader.next()
        indices, flips = reference.next()
        assert images.shape == (8, 3, 16, 16) and images.dtype == torch.float32
        assert images.min() >= -1 and images.max() <= 1
        layout = torch.channels_last if channels_last else torch.contiguous_format
        assert images.is_contiguous(memory_format=layout)
        expected = dataset.batch(indices).astype(np.float32) / 127.5 - 1
        expected[flips] = expected[flips][:, :, ::-1]
        assert np.allclose(images.permute(0, 2, 3, 1).numpy(), expected, atol=1e-6)
        assert np.array_equal(labels.numpy(), dataset.labels[indices])
        assert np.array_equal(mask.numpy(), dataset.mask[indices])
    assert flips.any() or reference.next()[1].any()


def test_fake_conditions_are_real_rows_with_dropout(synthetic_dataset):
    dataset = ShardedDataset(synthetic_dataset, 16)
    loader = BatchLoader(dataset, 8, torch.device("cpu"))
    labels, mask = loader.sample_conditions(200)
    rows = {tuple(r) for r in np.concatenate([dataset.labels, dataset.mask], 1).round(6).tolist()}
    assert all(tuple(r) in rows for r in torch.cat([labels, mask], 1).numpy().round(6).tolist())
    _, dropped = loader.sample_conditions(2000, feature_dropout=0.5)
    present = dataset.mask.mean() * 10
    assert 0.35 < dropped.sum(1).mean().item() / present < 0.65


def test_diff_augment_keeps_shape_and_gradients():
    x = (torch.rand(4, 3, 16, 16) * 2 - 1).requires_grad_(True)
    y = diff_augment(x, parse_policy("color,translation,cutout"))
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert diff_augment(x, parse_policy("")) is x
    with pytest.raises(ValueError, match="unknown augmentation 'blur'"):
        parse_policy("color,blur")


def test_translation_shifts_and_cutout_blanks_a_half_side_square():
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, 8, 8] = 1.0
    moved = translation(x)
    positions = moved.flatten(1).argmax(1)
    assert len(set(positions.tolist())) > 5  # images moved by different amounts
    assert (moved.flatten(1).max(1).values == 1).all()  # a 2 px shift keeps the centre dot
    blanked = cutout(torch.ones(32, 3, 16, 16))
    zeros = (blanked == 0).all(1).flatten(1).sum(1)
    assert zeros.max() == 64 and zeros.min() > 0  # an 8x8 square, clipped at the border
