"""Where a NASWOT cell's time goes on CPU: build, plain forward, forward with NASWOT's hooks and K.

The plain forward is the floor of any exhaustive run (it is the metric's irreducible work), so
``floor = cells x forward / cores`` bounds what the engine can reach on a machine. One torch thread,
channels_last (the CPU default), B=128 random images, seeded random NB201 cells.

Usage: python benchmarks/forward_floor.py [--cells 8] [--batch-size 128]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naswot_ray.metrics import naswot  # noqa: E402
from naswot_ray.spaces import get_space  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(1)
    space = get_space("nb201")
    cells = np.random.default_rng(0).choice(space.size, args.cells, replace=False)
    x = torch.randn(args.batch_size, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    build = forward = hooked = 0.0
    for index in cells:
        t0 = time.perf_counter()
        torch.manual_seed(int(index))
        model = space.build(space.arch(int(index)), 10).to(memory_format=torch.channels_last).train()
        t1 = time.perf_counter()
        with torch.inference_mode():
            model(x)
        t2 = time.perf_counter()
        hooks = naswot._Hooks(model, "reference")
        with torch.inference_mode():
            model(x)
        hooks.finish()
        t3 = time.perf_counter()
        build, forward, hooked = build + t1 - t0, forward + t2 - t1, hooked + t3 - t2
    n = len(cells)
    print(f"{n} cells, one thread, B={args.batch_size}: build {build / n:.3f} s, plain forward {forward / n:.3f} s, "
          f"forward with NASWOT hooks and K {hooked / n:.3f} s per cell")
    print(f"forward floor for all {space.size:,} NB201 cells on 2 cores: {space.size * forward / n / 2 / 60:.0f} min")


if __name__ == "__main__":
    main()
