"""The documented NDS records (NNI's BenchmarksExample outputs, spaces-spec 4.7 and 4.8) shared by the NDS tests.

Only ``net``, ``params`` and ``flops`` are real; the training curves are short stand-ins so the files
the tests write look like NDS sweep files.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

AMOEBA_NET = {
    "aux": False,
    "depth": 12,
    "drop_prob": 0.0,
    "width": 32,
    "genotype": {
        "normal": [["avg_pool_3x3", 0], ["conv_7x1_1x7", 1], ["sep_conv_3x3", 2], ["sep_conv_5x5", 0],
                   ["dil_sep_conv_3x3", 2], ["dil_sep_conv_3x3", 2], ["skip_connect", 4], ["dil_sep_conv_3x3", 4],
                   ["conv_7x1_1x7", 2], ["sep_conv_3x3", 4]],
        "normal_concat": [3, 5, 6],
        "reduce": [["avg_pool_3x3", 0], ["dil_sep_conv_3x3", 1], ["sep_conv_3x3", 0], ["sep_conv_3x3", 0],
                   ["skip_connect", 2], ["sep_conv_7x7", 0], ["conv_7x1_1x7", 4], ["skip_connect", 4],
                   ["conv_7x1_1x7", 0], ["conv_7x1_1x7", 5]],
        "reduce_concat": [3, 6],
    },
}
AMOEBA_PARAMS = 4_190_314

RESNEXT_A_NET = {"block_type": "res_bottleneck_block", "ds": [1, 16, 1, 4], "ws": [16, 64, 128, 16],
                 "ss": [1, 1, 2, 2], "bot_muls": [0.0, 0.25, 0.25, 0.25], "num_gs": [1, 2, 1, 2]}
RESNET_NET = {"block_type": "res_basic_block", "ds": [1, 12, 12, 12], "ws": [16, 24, 24, 40],
              "ss": [1, 1, 2, 2], "bot_muls": [], "num_gs": []}
VANILLA_NET = {"block_type": "double_plain_block", "ds": [1, 12, 12, 12], "ws": [16, 24, 32, 40],
               "ss": [1, 1, 2, 2], "bot_muls": None, "num_gs": None}

#: space name -> (net, params, flops) of the documented AnyNet records
ANYNET_RECORDS = {
    "nds_resnext-a": (RESNEXT_A_NET, 83_002, 69_890_986),
    "nds_resnet": (RESNET_NET, 594_138, 184_519_578),
    "nds_vanilla": (VANILLA_NET, 689_770, 208_363_930),
}


def record(net: dict, params: int | None = None, flops: int | None = None) -> dict:
    """An NDS-shaped record around ``net`` (curves are stand-ins, 3 epochs)."""
    return {
        "net": copy.deepcopy(net),
        "optim": {"base_lr": 0.1, "wd": 5e-4, "max_ep": 3},
        "params": params,
        "flops": flops,
        "test_ep_top1": [50.0, 30.0, 20.0],
        "train_ep_top1": [60.0, 35.0, 25.0],
        "rng_seed": 1,
    }


def write_json(path: Path, payload: object) -> Path:
    path.write_text(json.dumps(payload))
    return path
