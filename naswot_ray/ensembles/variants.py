"""How stored score variants are named, and which one an ensemble member means (analyze and search alike).

A *score variant* is everything in a score's identity except the architecture (metric, mode, version,
options, space options, BN mode, head size, batch and labels, seed, device class, memory format). Its
label is the metric name plus, in brackets, whatever tells it apart from the metric's other variants in
the same space (``naswot[clean]``, ``naswot[v0]``, ``zico[num_classes=100]``). Variants that differ only
in the head size form one *family*, labelled without it (``zico``): an ensemble member naming a family
reads, for each dataset, the variant whose head matches the dataset's class count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import pandas as pd

from naswot_ray.errors import InputError

V = TypeVar("V")

#: fields shown in a variant label when they differ, in this order (the head early, so variants that differ
#: in it carry ``num_classes=K`` and their family is the label without it)
LABEL_FIELDS = ("mode", "num_classes", "metric_version", "metric_options", "space_options", "dataset", "batch_size",
                "batch_sha256", "labels_sha256", "seed", "bn_mode", "device_class", "memory_format")
#: class count of each benchmark dataset, for pairing a head size with a dataset
DATASET_CLASSES = {"cifar10": 10, "cifar10-valid": 10, "cifar100": 100, "ImageNet16-120": 120, "imagenet": 1000,
                   "imagenette": 10}


def variant_labels(variants: pd.DataFrame) -> list[str]:
    """Per row of ``variants`` (columns space, metric and LABEL_FIELDS): the metric name plus, in
    LABEL_FIELDS order, the fields that differ among that metric's variants in the same space, until the
    labels tell them apart."""
    variants = variants.reset_index(drop=True)
    labels = [str(m) for m in variants["metric"]]
    for _, group in variants.groupby(["space", "metric"], dropna=False):
        if len(group) == 1:
            continue
        parts: dict[int, list[str]] = {i: [] for i in group.index}
        for field in LABEL_FIELDS:
            if group[field].nunique(dropna=False) <= 1:
                continue
            for i, value in group[field].items():
                parts[i].append(_label_part(field, value))
            if len({tuple(p) for p in parts.values()}) == len(group):
                break
        for i in group.index:
            labels[i] = f"{group.at[i, 'metric']}[{','.join(parts[i])}]"
    return labels


def _label_part(field: str, value: object) -> str:
    if field in ("batch_sha256", "labels_sha256"):
        value = str(value)[:8]
    if field == "mode":
        return str(value)
    if field == "metric_version":
        return f"v{value}"
    return f"{field}={value}"


def variant_parts(variants: pd.DataFrame) -> list[str]:
    """Per row of ``variants``: every LABEL_FIELDS value as a label part, joined by ``|`` (what a bracketed
    member such as ``naswot[dataset=random]`` is matched against, whichever parts its label shows)."""
    return ["|".join(_label_part(field, row[field]) for field in LABEL_FIELDS)
            for _, row in variants[list(LABEL_FIELDS)].iterrows()]


def label_rows(frame: pd.DataFrame, space: str) -> pd.DataFrame:
    """``frame`` (score rows of one space: VARIANT_FIELDS, dataset, batch_size, ...) with ``label`` (each row's
    variant named as ``analyze`` does, over the variants present in ``frame``) and ``parts`` columns."""
    from naswot_ray.store import VARIANT_FIELDS

    fields = list(VARIANT_FIELDS)
    variants = (frame[[*fields, "dataset", "batch_size"]].drop_duplicates(fields)
                .sort_values(fields, kind="mergesort", na_position="first").reset_index(drop=True))
    variants["space"] = space
    variants["label"] = variant_labels(variants)
    variants["parts"] = variant_parts(variants)
    return frame.merge(variants[[*fields, "label", "parts"]], on=fields, how="left")  # pandas matches null keys


def family(label: str) -> str:
    """The variant label without its head size: ``zico[num_classes=100]`` -> ``zico``."""
    base, bracket, rest = label.partition("[")
    if not bracket:
        return label
    parts = [p for p in rest[:-1].split(",") if not p.startswith("num_classes=")]
    return f"{base}[{','.join(parts)}]" if parts else base


@dataclass
class Named(Generic[V]):
    """One stored variant as a resolver sees it, carrying the caller's data (its scores)."""

    label: str
    metric: str
    num_classes: int | None
    data: V
    parts: str = ""  # every field as a label part, "|"-joined (variant_parts)

    @property
    def family(self) -> str:
        return family(self.label)


def find_variant(variants: Sequence[Named[V]], ref: str, classes: int | None, where: str = "") -> Named[V] | None:
    """The variant ``ref`` names for a dataset of ``classes`` classes; None when not stored or no head fits.

    ``ref`` is an exact label; a family (its head matched to ``classes``; with one head, that one); a
    bracketed selection (``naswot[dataset=random]``: the variants whose fields have every part, whether or
    not their labels show it, again head-matched); or a bare metric name with a single family. A name that
    fits several variants and no head decides is an InputError listing them.
    """
    for variant in variants:
        if variant.label == ref:
            return variant
    members = [v for v in variants if v.family == ref]
    base, bracket, rest = ref.partition("[")
    if not members and bracket:
        wanted = {part.strip() for part in rest.rstrip("]").split(",") if part.strip()}
        members = [v for v in variants if v.metric == base and wanted <= set(v.parts.split("|"))]
        if len({v.family for v in members}) > 1 and not any(v.num_classes == classes for v in members):
            _ambiguous(ref, sorted({v.label for v in members}), where)
    if not members and not bracket:
        families = sorted({v.family for v in variants if v.metric == ref})
        if len(families) > 1:
            _ambiguous(ref, families, where)
        members = [v for v in variants if families and v.family == families[0]]
    if len(members) == 1:
        return members[0]
    matching = [v for v in members if v.num_classes == classes]
    if len(matching) > 1:
        _ambiguous(ref, sorted(v.label for v in matching), where)
    return matching[0] if len(matching) == 1 else None


def _ambiguous(ref: str, labels: Sequence[str], where: str) -> None:
    raise InputError(f"{ref!r} matches {len(labels)} stored variants{where}: {', '.join(labels)}; name one, "
                     f"e.g. {labels[0]}")


__all__ = ["DATASET_CLASSES", "LABEL_FIELDS", "Named", "family", "find_variant", "label_rows", "variant_labels",
           "variant_parts"]
