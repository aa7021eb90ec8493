#!/usr/bin/env bash
# The issue-13 measurements: score the same 1,000 random NB201 cells (--limit 1000 --seed 1) with each
# proxy's protocol into one store. One scorer, niced: this machine is shared. Heads have the dataset's class
# count (10 / 100 / 120) where a proxy reads logits; VKDNW and its jacov at 100/120 classes run on VKDNW's
# seeded 250-cell subset (see subset250; step vkdnw-half does its first 125, subset125, alone), the NASLib
# predictors at 100/120 classes are a separate, optional step.
# Usage:
#   scripts/measure_proxies.sh STEP [STEP...]     (steps below; each is resumable: rerunning skips stored keys)
# Output: $STORE (default /work/stores/proxies), one log per step in $LOGS.
set -euo pipefail
cd "$(dirname "$0")/.."
export RAY_USAGE_STATS_ENABLED=0
STORE=${STORE:-/work/stores/proxies}
LOGS=${LOGS:-/work/stores/logs}
NPZ=${NPZ:-/work/shared/data/cifar10-convnetjs-subset/cifar10_subset_uint8_nhwc.npz}
CLI=${CLI:-.venv/bin/naswot-ray}
mkdir -p "$LOGS"

ATTEMPTS=${ATTEMPTS:-4}

score() {  # score NAME ARGS...: one score-all run, retried (it resumes) when the shared machine kills it
    local name=$1; shift
    local attempt
    for attempt in $(seq "$ATTEMPTS"); do
        echo "== $name (attempt $attempt): $(date -Is)" | tee -a "$LOGS/$name.log"
        if nice -n 10 "$CLI" score-all --space nb201 --dataset "npz:$NPZ" --seed 1 --store "$STORE" \
            --num-workers 1 --no-dashboard --no-progress "$@" >>"$LOGS/$name.log" 2>&1; then
            echo "== $name done: $(date -Is)" | tee -a "$LOGS/$name.log"
            return 0
        fi
        sleep 60
    done
    echo "== $name FAILED after $ATTEMPTS attempts: $(date -Is)" | tee -a "$LOGS/$name.log"
}

# the 1,000 cells every step scores (what score-all --space nb201 --limit 1000 --seed 1 draws)
cells1000() {
    .venv/bin/python -c "
from naswot_ray.data import BatchSpec
from naswot_ray.engine.job import ScoreJob
job = ScoreJob(space='nb201', metrics=['params'], batch=BatchSpec('random'), store='x', limit=1000, seed=1)
print(','.join(str(i) for i in job.requested_indices()))"
}

# VKDNW with 100/120-class heads costs ~10x its 10-class run: a seeded 250-cell subset of the 1,000, drawn
# from those in VKDNW's 9,445-cell set (no dead branches), where its published rows are defined
subset250() {
    .venv/bin/python -c "
import sys
import numpy as np
from naswot_ray.spaces import get_space
from naswot_ray.spaces.nb201.cell import is_dead_branch_free, parse_cell
space = get_space('nb201')
cells = [int(i) for i in sys.argv[1].split(',')]
valid = [i for i in cells if is_dead_branch_free(parse_cell(space.arch(i)))]
print(','.join(str(i) for i in sorted(np.random.default_rng(250).choice(valid, 250, replace=False).tolist())))" "$(cells1000)"
}

# VKDNW at 100/120 classes costs about 20 s a cell here: a seeded 125 of the 250 was measured first
# (step vkdnw-half, resumable into vkdnw-big); SWAP runs on the 250 plus a seeded 250 others (500 in all)
subset125() {
    .venv/bin/python -c "
import numpy as np, sys
cells = [int(i) for i in sys.argv[1].split(',')]
print(','.join(str(i) for i in sorted(np.random.default_rng(125).choice(cells, 125, replace=False).tolist())))" "$(subset250)"
}

swap_extra250() {
    .venv/bin/python -c "
import numpy as np, sys
rest = sorted({int(i) for i in sys.argv[1].split(',')} - {int(i) for i in sys.argv[2].split(',')})
print(','.join(str(i) for i in sorted(np.random.default_rng(500).choice(rest, 250, replace=False).tolist())))" \
        "$(cells1000)" "$(subset250)"
}

for step in "$@"; do
    case $step in
        az)         score az --metrics az_nas --limit 1000 ;;
        az-clean)   score az-clean --metrics az_nas --mode clean --limit 1000 ;;
        sizes)      for k in 10 100 120; do score sizes-$k --metrics flops,params,vkdnw_aleph --num-classes $k --limit 1000; done ;;
        zen)        score zen --metrics zen --limit 1000 ;;
        meco)       score meco --metrics meco --limit 1000 ;;
        meco-opt)   score meco-opt --metrics meco --mode opt --limit 1000 ;;
        zico)       score zico-10 --metrics zico,plain,epe_nas,l2_norm --num-classes 10 --limit 1000 ;;
        zico-big)   for k in 100 120; do score zico-$k --metrics zico --num-classes $k --limit 1000; done ;;
        naslib-big) for k in 100 120; do score naslib-$k --metrics plain,epe_nas --num-classes $k --limit 1000; done ;;
        vkdnw)      score vkdnw-10 --metrics vkdnw,vkdnw_jacov --num-classes 10 --limit 1000 ;;
        vkdnw-half) idx=$(subset125)
                    for k in 100 120; do score vkdnw-$k --metrics vkdnw,vkdnw_jacov --num-classes $k --indices "$idx"; done ;;
        vkdnw-big)  idx=$(subset250)
                    for k in 100 120; do score vkdnw-$k-250 --metrics vkdnw,vkdnw_jacov --num-classes $k --indices "$idx"; done ;;
        swap)       score swap --metrics swap,swap_reg --limit 1000 ;;
        swap-500)   score swap-500 --metrics swap,swap_reg --indices "$(subset250),$(swap_extra250)" ;;
        *) echo "unknown step $step; valid: az az-clean sizes zen meco meco-opt zico zico-big naslib-big vkdnw vkdnw-half vkdnw-big swap swap-500" >&2
           exit 2 ;;
    esac
done
