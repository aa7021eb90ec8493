"""Mini-batch sources: seeded, un-augmented, normalised draws with provenance; clear errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from naswot_ray.data import BatchSpec, check_batch_spec, draw_batch, tensor_sha256
from naswot_ray.data.normalization import get_normalization, normalize_uint8_nhwc
from naswot_ray.errors import InputError


def _write_npz(path, n=40, key="x", labels=True, dtype=np.uint8):
    rng = np.random.default_rng(0)
    arrays = {key: rng.integers(0, 256, size=(n, 32, 32, 3)).astype(dtype)}
    if labels:
        arrays["y" if key == "x" else "y_train"] = rng.integers(0, 10, size=n)
    np.savez(path, **arrays)
    return path


def test_normalisation_matches_totensor_then_normalize() -> None:
    img = np.arange(2 * 2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 2, 3)
    norm = get_normalization("cifar10")
    out = normalize_uint8_nhwc(img, norm)
    expected = (img[1, 0, 1, 2] / 255.0 - norm.mean[2]) / norm.std[2]
    assert out.shape == (2, 3, 2, 2)
    assert out[1, 2, 0, 1].item() == pytest.approx(expected, rel=1e-6)


def test_npz_draw_is_seeded_and_carries_provenance(tmp_path) -> None:
    path = _write_npz(tmp_path / "a.npz")
    a = draw_batch(BatchSpec(f"npz:{path}", batch_size=16, seed=5))
    b = draw_batch(BatchSpec(f"npz:{path}", batch_size=16, seed=5))
    c = draw_batch(BatchSpec(f"npz:{path}", batch_size=16, seed=6))
    assert torch.equal(a.x, b.x) and a.provenance == b.provenance
    assert not torch.equal(a.x, c.x)
    assert a.provenance.sha256 == tensor_sha256(a.x)
    assert len(set(a.provenance.indices)) == 16
    raw = np.load(path)
    first = a.provenance.indices[0]
    assert torch.allclose(a.x[0], normalize_uint8_nhwc(raw["x"][first:first + 1], get_normalization("cifar10"))[0])
    assert torch.equal(a.y, torch.as_tensor(raw["y"][list(a.provenance.indices)]))


def test_npz_x_train_key_and_other_norm(tmp_path) -> None:
    path = _write_npz(tmp_path / "b.npz", key="x_train")
    batch = draw_batch(BatchSpec(f"npz:{path}", batch_size=8, norm="cifar100"))
    assert batch.provenance.norm == "cifar100" and batch.y is not None


@pytest.mark.parametrize("kind", ["missing", "not_npz", "wrong_dtype", "no_key"])
def test_bad_npz_is_a_one_line_error(tmp_path, kind) -> None:
    path = tmp_path / "bad.npz"
    if kind == "not_npz":
        path.write_text("not a zip")
    elif kind == "wrong_dtype":
        _write_npz(path, dtype=np.float32)
    elif kind == "no_key":
        np.savez(path, images=np.zeros((4, 32, 32, 3), np.uint8))
    with pytest.raises(InputError) as err:
        check_batch_spec(BatchSpec(f"npz:{path}"))
    assert "\n" not in str(err.value) and "bad.npz" in str(err.value)


def test_random_batch_shape_and_labels() -> None:
    batch = draw_batch(BatchSpec("random", batch_size=12, seed=2, image_size=16, num_classes=7))
    assert batch.x.shape == (12, 3, 16, 16)
    assert int(batch.y.max()) < 7
    assert batch.provenance.dataset == "random"


def test_unknown_dataset_and_missing_root(tmp_path) -> None:
    with pytest.raises(InputError, match="unknown dataset 'mnist'.*cifar10"):
        check_batch_spec(BatchSpec("mnist"))
    with pytest.raises(InputError, match="does not exist"):
        check_batch_spec(BatchSpec("cifar10", data_root=str(tmp_path / "nope")))
    with pytest.raises(InputError, match="cifar10 not found"):
        draw_batch(BatchSpec("cifar10", data_root=str(tmp_path), download=False))


def test_imagenet16_official_pickles(tmp_path) -> None:
    """Ten train_data_batch_N pickles, 1-based labels; only classes 1..120 are kept (as 0..119)."""
    rng = np.random.default_rng(1)
    root = tmp_path / "ImageNet16"
    root.mkdir()
    for i in range(1, 11):
        labels = rng.integers(1, 1001, size=60).tolist()
        labels[:20] = rng.integers(1, 121, size=20).tolist()
        data = rng.integers(0, 256, size=(60, 3 * 16 * 16), dtype=np.uint8)
        with open(root / f"train_data_batch_{i}", "wb") as fh:
            pickle.dump({"data": data, "labels": labels}, fh)
    batch = draw_batch(BatchSpec("imagenet16-120", data_root=str(tmp_path), batch_size=32, seed=1))
    assert batch.x.shape == (32, 3, 16, 16)
    assert int(batch.y.min()) >= 0 and int(batch.y.max()) <= 119
    assert batch.provenance.num_classes == 120
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="ImageNet16-120 not found"):
        check_batch_spec(BatchSpec("imagenet16-120", data_root=str(empty), batch_size=4))


def test_npz_labels_must_match_the_images_one_to_one(tmp_path) -> None:
    """A label count that differs from the image count used to drop the labels silently (random ones were used)."""
    path = tmp_path / "short.npz"
    np.savez(path, x=np.zeros((10, 32, 32, 3), np.uint8), y=np.arange(9))
    with pytest.raises(InputError, match=r"has 10 images under 'x' but 9 labels under 'y'; expected one label per image"):
        check_batch_spec(BatchSpec(f"npz:{path}", batch_size=4))
    with pytest.raises(InputError, match="9 labels"):
        draw_batch(BatchSpec(f"npz:{path}", batch_size=4))
    np.savez(path, x=np.zeros((10, 32, 32, 3), np.uint8), y=np.zeros(10, np.float32))
    with pytest.raises(InputError, match="labels 'y' must be a 1-D integer array, got float32"):
        check_batch_spec(BatchSpec(f"npz:{path}", batch_size=4))


def test_npz_with_fewer_images_than_the_batch_is_rejected_before_drawing(tmp_path) -> None:
    path = _write_npz(tmp_path / "few.npz", n=5)
    with pytest.raises(InputError, match="has 5 images, fewer than batch size 8"):
        check_batch_spec(BatchSpec(f"npz:{path}", batch_size=8))


def test_labels_outside_the_head_are_rejected_when_a_metric_reads_them(tmp_path) -> None:
    path = tmp_path / "twelve.npz"
    labels = np.arange(40) % 13  # 0..12
    np.savez(path, x=np.zeros((40, 32, 32, 3), np.uint8), y=labels)
    spec = BatchSpec(f"npz:{path}", batch_size=8)
    check_batch_spec(spec)  # no metric reads labels: fine
    check_batch_spec(spec, head_classes=13)
    with pytest.raises(InputError) as err:
        check_batch_spec(spec, head_classes=10)
    assert "has labels 0..12 but the network head has 10 classes" in str(err.value)
    assert "--num-classes 13" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(InputError, match=r"dataset 'cifar100' has labels 0\.\.99 but the network head has 10 classes"):
        check_batch_spec(BatchSpec("cifar100"), head_classes=10)
    check_batch_spec(BatchSpec("random", num_classes=7), head_classes=7)
    np.savez(path, x=np.zeros((40, 32, 32, 3), np.uint8), y=labels - 1)
    with pytest.raises(InputError, match=r"has labels -1\.\.11; labels must be class indices >= 0"):
        check_batch_spec(spec, head_classes=100)
