"""Variant names: labels that tell variants apart, families across heads, and what a member name selects."""

from __future__ import annotations

import pandas as pd
import pytest

from naswot_ray.ensembles.variants import Named, family, find_variant, variant_labels, variant_parts
from naswot_ray.errors import InputError

BASE = {"space": "nb201", "metric": "naswot", "mode": "reference", "num_classes": 10, "metric_version": 1,
        "metric_options": "", "space_options": "", "dataset": "random", "batch_size": 128, "batch_sha256": "a" * 64,
        "labels_sha256": "", "seed": 1, "bn_mode": "train", "device_class": "cpu", "memory_format": "channels_last"}


def _variants(*changes: dict) -> pd.DataFrame:
    return pd.DataFrame([{**BASE, **change} for change in changes])


def test_labels_show_what_differs_and_families_drop_the_head() -> None:
    frame = _variants({}, {"dataset": "npz:images.npz", "batch_sha256": "b" * 64},
                      {"dataset": "cifar10", "mode": "clean", "seed": 2, "batch_sha256": "c" * 64},
                      {"metric": "zico", "num_classes": 10}, {"metric": "zico", "num_classes": 100})
    labels = variant_labels(frame)
    assert labels == ["naswot[reference,dataset=random]", "naswot[reference,dataset=npz:images.npz]",
                      "naswot[clean,dataset=cifar10]", "zico[num_classes=10]", "zico[num_classes=100]"]
    assert [family(label) for label in labels[3:]] == ["zico", "zico"]
    assert variant_labels(_variants({})) == ["naswot"]  # one variant: the bare name


def test_a_bracketed_name_selects_by_fields_whatever_the_label_shows() -> None:
    frame = _variants({}, {"dataset": "npz:images.npz", "batch_sha256": "b" * 64},
                      {"dataset": "cifar10", "mode": "clean", "seed": 2, "batch_sha256": "c" * 64})
    named = [Named(label, "naswot", 10, k, parts)
             for k, (label, parts) in enumerate(zip(variant_labels(frame), variant_parts(frame)))]
    assert find_variant(named, "naswot[dataset=random]", 10).data == 0  # its label is naswot[reference,dataset=random]
    assert find_variant(named, "naswot[clean]", 10).data == 2
    assert find_variant(named, "naswot[seed=2]", 10).data == 2  # seed is not in any label, and still selects
    assert find_variant(named, "naswot[dataset=imagenet]", 10) is None
    with pytest.raises(InputError, match=r"'naswot\[reference\]' matches 2 stored variants: "
                                         r"naswot\[reference,dataset=npz:images.npz\], naswot\[reference,dataset=random\]"):
        find_variant(named, "naswot[reference]", 10)
    with pytest.raises(InputError, match="'naswot' matches 3 stored variants"):
        find_variant(named, "naswot", 10)


def test_a_family_reads_the_head_of_the_dataset() -> None:
    named = [Named("zico[num_classes=10]", "zico", 10, "ten"), Named("zico[num_classes=100]", "zico", 100, "hundred")]
    assert find_variant(named, "zico", 100).data == "hundred" and find_variant(named, "zico", 10).data == "ten"
    assert find_variant(named, "zico", 120) is None  # no head of ImageNet16-120's size
    assert find_variant(named, "zico[num_classes=10]", 100).data == "ten"  # an exact label is that head everywhere
