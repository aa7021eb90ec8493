"""Score torchvision networks with ``nr.score`` (untrained: ``weights=None``, nothing is downloaded).

    python examples/score_torchvision.py [--images 32] [--side 64]

Every network is scored as given, on a copy, with the same batch of random images. Networks whose
activations are not rectifiers (EfficientNet's SiLU, vision transformers' GELU) get no NASWOT value: they
are refused with one line, and the metrics that do not need rectifiers still score them.
"""

from __future__ import annotations

import argparse

import torch
import torchvision

import naswot_ray as nr

MODELS = ("resnet18", "mobilenet_v3_small", "squeezenet1_1", "efficientnet_b0")
METRICS = ("naswot", "synflow", "params")


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32, help="batch size")
    parser.add_argument("--side", type=int, default=64, help="image side in pixels")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated torchvision model names")
    args = parser.parse_args(argv)
    images = torch.randn(args.images, 3, args.side, args.side, generator=torch.Generator().manual_seed(0))
    results: dict[str, dict[str, float]] = {}
    print(f"{'model':<20} {'naswot':>10} {'synflow':>10} {'params':>12}")
    for name in args.models.split(","):
        torch.manual_seed(0)
        model = getattr(torchvision.models, name)(weights=None)
        try:
            values = nr.score(model, images, metrics=METRICS)
        except nr.InputError as refused:  # no rectifiers: NASWOT says so in one line
            print(f"{name:<20} naswot refused: {str(refused)[:90]}...")
            values = nr.score(model, images, metrics=("synflow", "params"))
        results[name] = values
        naswot = f"{values['naswot']:10.2f}" if "naswot" in values else f"{'-':>10}"
        print(f"{name:<20} {naswot} {values['synflow']:10.2f} {values['params']:12,.0f}")
    return results


if __name__ == "__main__":
    main()
