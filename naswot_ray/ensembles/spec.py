"""Ensembles by name: the ``ensemble:...`` grammar, the published aggregates as presets, and evaluation.

An ensemble combines the *stored scores* of several metrics into one training-free score (no trained
accuracy ever enters it). ``analyze`` reports ensembles like any metric, ``search`` uses them as its
score; both name them the same way:

* ``ensemble:az_nas``: AZ-NAS (CVPR 2024): sum of ln(rank/N) over expressivity, progressivity,
  trainability and complexity (proxies-sota-spec section 1);
* ``ensemble:vkdnw_single``: VKDNW_single (CVPR 2025): dense rank of (number of parameter tensors,
  VKDNW entropy) in lexicographic order (spec section 6);
* ``ensemble:vkdnw_agg``: VKDNW_agg: ln dense_rank(aleph, VKDNW) + ln rank(E) + ln rank(T) +
  ln rank(FLOPs) + ln rank(jacov) (spec section 6; progressivity not used);
* ``ensemble:te_nas``: TE-NAS's plain rank sum of the NTK condition number and the linear regions;
* ``ensemble:a+b+c``: the plain rank sum of the named metrics (``ensemble:ranksum:a+b+c`` alike);
* ``ensemble:logrank:a+b+c``: the sum of ln(rank/N), i.e. a log-rank product;
* ``ensemble:lex:a+b``: lexicographic dense rank (a first, ties broken by b);
* a weight multiplies a member's term: ``ensemble:logrank:2*az_trainability+flops``;
* a member may be a preset (``ensemble:logrank:vkdnw_single+zico``) or alternatives tried in order
  (``flops|az_complexity``: the first one stored).

Members are the analysis's variant names: a metric (``naswot``), or a stored variant of it
(``naswot[clean]``) where a metric has several. Which variant a bare name means is the caller's job
(:class:`Lookup`): ``analyze`` matches the head to the dataset (a 100-class head for CIFAR-100).

Labels are canonical: members of a symmetric aggregation (rank sum, log-rank) are sorted, weights of 1
are omitted, so ``ensemble:b+a`` and ``ensemble:a+b`` are one ensemble with one label.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from naswot_ray.ensembles.rank import KINDS, SYMMETRIC, combine_ranks, dense_lex_ranks, oriented, oriented_ranks
from naswot_ray.errors import InputError

T = TypeVar("T")
PREFIX = "ensemble:"
DEFAULT_KIND = "ranksum"
_NUMBER = re.compile(r"^[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?$")


@dataclass(frozen=True)
class Term:
    """One member of an ensemble: a stored metric (``ref`` a name, ``|``-separated alternatives) or a
    nested ensemble, with its weight."""

    ref: str | Spec
    weight: float = 1.0

    def text(self) -> str:
        inner = self.ref.short() if isinstance(self.ref, Spec) else self.ref
        return inner if self.weight == 1 else f"{self.weight:g}*{inner}"


@dataclass(frozen=True)
class Spec:
    """An aggregation (``kind``, one of :data:`KINDS`) of terms; ``preset`` names a published one."""

    kind: str
    terms: tuple[Term, ...]
    preset: str | None = None

    def short(self) -> str:
        """The label without the ``ensemble:`` prefix (a preset's name, or kind and terms)."""
        if self.preset:
            return self.preset
        body = "+".join(t.text() for t in self.terms)
        return body if self.kind == DEFAULT_KIND else f"{self.kind}:{body}"

    @property
    def label(self) -> str:
        return PREFIX + self.short()

    def leaves(self) -> list[str]:
        """Every stored-metric reference (alternatives split), depth first, without repeats."""
        out: list[str] = []
        for term in self.terms:
            if isinstance(term.ref, Spec):
                out.extend(term.ref.leaves())
            else:
                out.extend(term.ref.split("|"))
        return list(dict.fromkeys(out))

    def member_refs(self) -> list[str]:
        """The stored-metric terms as written (alternatives kept together), depth first, without repeats."""
        out: list[str] = []
        for term in self.terms:
            out.extend(term.ref.member_refs() if isinstance(term.ref, Spec) else [term.ref])
        return list(dict.fromkeys(out))


def _spec(kind: str, *refs: str | Spec | Term) -> Spec:
    return Spec(kind, tuple(r if isinstance(r, Term) else Term(r) for r in refs))


def _named(name: str, spec: Spec) -> Spec:
    return Spec(spec.kind, spec.terms, preset=name)


#: metric names the presets read, as the proxies' modules register them
AZ_E, AZ_P, AZ_T, AZ_C = "az_expressivity", "az_progressivity", "az_trainability", "az_complexity"
VKDNW, ALEPH, VKDNW_JACOV = "vkdnw", "vkdnw_aleph", "vkdnw_jacov"

_VKDNW_SINGLE = _named("vkdnw_single", _spec("lex", ALEPH, VKDNW))
#: the published aggregates, by the names users give them
PRESETS: dict[str, Spec] = {
    "az_nas": _named("az_nas", _spec("logrank", AZ_E, AZ_P, AZ_T, AZ_C)),
    "vkdnw_single": _VKDNW_SINGLE,
    "vkdnw_agg": _named("vkdnw_agg", _spec("logrank", _VKDNW_SINGLE, AZ_E, AZ_T, f"flops|{AZ_C}", VKDNW_JACOV)),
    "te_nas": _named("te_nas", _spec("ranksum", "ntk_cond", "linear_regions")),
}


def is_ensemble(name: str) -> bool:
    return name.startswith(PREFIX)


def _syntax_error(text: str, detail: str) -> InputError:
    return InputError(f"malformed ensemble {text!r}: {detail}; expected ensemble:<preset> "
                      f"({', '.join(PRESETS)}) or ensemble:[<kind>:]<metric>+<metric>[+...] with kind one of "
                      f"{', '.join(KINDS)} (default {DEFAULT_KIND}) and optional weights (2*<metric>), e.g. "
                      "ensemble:naswot+synflow or ensemble:logrank:az_trainability+flops")


def parse_spec(text: str, canonical: Callable[[str], str] | None = None) -> Spec:
    """``ensemble:...`` (the prefix is optional) -> a :class:`Spec`; InputError naming what is wrong.

    ``canonical`` maps a member's metric name to its registered name (aliases resolved); names it does
    not know are kept, so rows of metrics registered elsewhere (plugins) can be combined.
    """
    body = text[len(PREFIX):] if is_ensemble(text) else text
    body = body.strip()
    if body in PRESETS:
        return PRESETS[body]
    kind, sep, rest = body.partition(":")
    if sep and kind in KINDS:
        body = rest
    elif sep and "[" not in kind:
        raise _syntax_error(text, f"unknown kind {kind!r}")
    else:
        kind = DEFAULT_KIND
    terms = [_parse_term(part.strip(), text, canonical) for part in _split_terms(body)]
    if len(terms) < 2:
        raise _syntax_error(text, "an ensemble needs at least two members")
    if kind == "lex" and any(t.weight != 1 for t in terms):
        raise _syntax_error(text, "a lexicographic ranking takes no weights")
    keys = [t.ref.short() if isinstance(t.ref, Spec) else t.ref for t in terms]
    if len(set(keys)) != len(keys):
        raise InputError(f"ensemble {text!r} names a member twice; give it a weight instead (2*<metric>)")
    if kind in SYMMETRIC:
        terms.sort(key=lambda t: t.ref.short() if isinstance(t.ref, Spec) else t.ref)
    return Spec(kind, tuple(terms))


def _split_terms(body: str) -> list[str]:
    """Split on ``+`` outside brackets (a variant label such as ``naswot[seed=2]`` stays whole)."""
    parts, depth, current = [], 0, ""
    for char in body:
        depth += (char == "[") - (char == "]")
        if char == "+" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _parse_term(part: str, text: str, canonical: Callable[[str], str] | None) -> Term:
    weight = 1.0
    head, star, tail = part.partition("*")
    if star:
        if not _NUMBER.match(head.strip()):
            raise _syntax_error(text, f"weight {head!r} is not a positive number")
        weight = float(head)
        if not (math.isfinite(weight) and weight > 0):
            raise _syntax_error(text, f"weight {head!r} is not a positive number")
        part = tail.strip()
    if not part:
        raise _syntax_error(text, "an empty member")
    if part in PRESETS:
        return Term(PRESETS[part], weight)
    alternatives = []
    for alt in part.split("|"):
        alt = alt.strip()
        base, bracket, rest = alt.partition("[")
        if not base or (bracket and not rest.endswith("]")):
            raise _syntax_error(text, f"member {alt!r} is not a metric name or name[variant]")
        if canonical is not None:
            base = canonical(base.strip())
        alternatives.append(base.strip() + (bracket + rest if bracket else ""))
    return Term("|".join(alternatives), weight)


# -- evaluation ---------------------------------------------------------------------------------------
@dataclass
class Member:
    """One stored metric's values over the pool (legal non-finite values included) and its direction."""

    values: np.ndarray
    higher_is_better: bool


#: resolves a member reference (one alternative) to what the caller stores for it; None when not stored
Lookup = Callable[[str], "T | None"]


class NotStored(InputError):
    """An ensemble term none of whose alternatives is stored (where the ensemble is asked for)."""


def resolve(spec: Spec, lookup: Callable[[str], T | None]) -> dict[str, T]:
    """Each stored-metric term of ``spec`` (as written, alternatives together) -> ``lookup`` of its first
    stored alternative; :class:`NotStored` naming the term none of whose alternatives is stored."""
    out: dict[str, T] = {}
    for ref in spec.member_refs():
        for alternative in ref.split("|"):
            found = lookup(alternative)
            if found is not None:
                out[ref] = found
                break
        else:
            raise NotStored(f"{spec.label} needs {ref.replace('|', ' or ')}, which is not stored")
    return out


def evaluate(spec: Spec, members: dict[str, Member]) -> np.ndarray:
    """The ensemble's value (higher is better) for every position of the pool the members share.

    ``members`` comes from :func:`resolve` on arrays aligned to one pool, each usable everywhere
    (errors already removed by the caller: only legal non-finite values remain).
    """
    if spec.kind == "lex":
        return dense_lex_ranks([_oriented_term(t, members) for t in spec.terms])
    ranks = [_term_ranks(t, members) for t in spec.terms]
    return combine_ranks(spec.kind, ranks, [t.weight for t in spec.terms])


def _term_ranks(term: Term, members: dict[str, Member]) -> np.ndarray:
    if isinstance(term.ref, Spec):
        value = evaluate(term.ref, members)
        return value if term.ref.kind == "lex" else oriented_ranks(value, True)  # lex already gives dense ranks
    member = members[term.ref]
    return oriented_ranks(member.values, member.higher_is_better)


def _oriented_term(term: Term, members: dict[str, Member]) -> np.ndarray:
    if isinstance(term.ref, Spec):
        return evaluate(term.ref, members)
    member = members[term.ref]
    return oriented(member.values, member.higher_is_better)


__all__ = ["DEFAULT_KIND", "Lookup", "Member", "NotStored", "PREFIX", "PRESETS", "Spec", "Term", "evaluate", "is_ensemble",
           "parse_spec", "resolve"]
