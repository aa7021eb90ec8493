"""What a proxy may ask of a built network: feature taps, pre-pooling features, activation sites.

Why part of the space contract: AZ-NAS needs the stem and every cell's output in order, Zen the last
feature map before global pooling, SWAP and NASWOT the rectifiers. A generic ``nn.Module`` does not say
where its cells begin and end, so each space names those modules for the networks it builds
(:meth:`SearchSpace.network_parts`); a model from outside gets :func:`generic_parts`, a documented
fallback, and a proxy that needs something the fallback cannot give raises :class:`PartsUnavailable`
with one line saying what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

#: modules whose output is a rectified activation (NASWOT's and SWAP's sites)
RECTIFIER_TYPES: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU)


class PartsUnavailable(ValueError):
    """A proxy asked for a part (feature taps, pre-GAP features) that this network does not declare."""


@dataclass
class NetworkParts:
    """Named modules of one built network.

    - ``feature_taps``: the stem, then every cell or block, in execution order; each tap's forward
      output is an N x C x H x W tensor computed from the previous tap's (a chain). None: unknown.
    - ``pre_gap``: the module whose forward output is the last feature map before global average
      pooling (NB201: ``lastact``). With ``pre_gap_is_input`` the map is that module's *input*
      instead (the fallback hooks the pooling layer itself). None: unknown.
    - ``activation_sites``: the rectifier modules whose outputs are the network's activations.
    - ``source``: "space" when the space declared them, "generic" for the fallback.
    """

    feature_taps: list[nn.Module] | None = None
    pre_gap: nn.Module | None = None
    pre_gap_is_input: bool = False
    activation_sites: list[nn.Module] = field(default_factory=list)
    source: str = "space"

    def require_taps(self, proxy: str) -> list[nn.Module]:
        if not self.feature_taps:
            raise PartsUnavailable(f"{proxy} needs the network's feature taps (stem and cell outputs), which this "
                                   f"{'model from outside' if self.source == 'generic' else 'network'} does not declare; "
                                   "score it in a space that implements network_parts()")
        return self.feature_taps

    def require_pre_gap(self, proxy: str) -> nn.Module:
        if self.pre_gap is None:
            raise PartsUnavailable(f"{proxy} needs the feature map before global average pooling, and this network has "
                                   "no nn.AdaptiveAvgPool2d / nn.AvgPool2d to find it by")
        return self.pre_gap


def rectifier_modules(model: nn.Module) -> list[nn.Module]:
    """Every rectifier module of ``model`` in ``modules()`` order (each module once)."""
    return [m for m in model.modules() if isinstance(m, RECTIFIER_TYPES)]


def generic_parts(model: nn.Module) -> NetworkParts:
    """The fallback for networks no space describes (``nr.score`` on any ``nn.Module``):

    - activation sites: every rectifier module (a functional ``F.relu`` is invisible to hooks);
    - pre-GAP features: the input of the last ``nn.AdaptiveAvgPool2d`` (or ``nn.AvgPool2d``) module;
    - feature taps: none (cell boundaries cannot be inferred; AZ-NAS then says so in one line).
    """
    pools = [m for m in model.modules() if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AvgPool2d))]
    return NetworkParts(feature_taps=None, pre_gap=pools[-1] if pools else None, pre_gap_is_input=True,
                        activation_sites=rectifier_modules(model), source="generic")


__all__ = ["NetworkParts", "PartsUnavailable", "RECTIFIER_TYPES", "generic_parts", "rectifier_modules"]
