#!/usr/bin/env bash
# The proxies naswot-ray had before issue 13 (NASWOT, the Samsung zero-cost set, TE-NAS's two, epsilon), scored
# on issue 13's cells (--limit 1000 --seed 1, the shared real CIFAR-10 batch) into their own store, so
# scripts/ensemble_tables.py can put them beside the new proxies (it reads several stores as one).
# One niced scorer: the machine is shared. Each step resumes (keys already stored are skipped).
#   Usage: scripts/score_old_proxies.sh STEP [STEP...]   with STEP in naswot grads grads-big tenas eps
set -uo pipefail
cd "$(dirname "$0")/.."
export RAY_USAGE_STATS_ENABLED=0
STORE=${STORE:-/work/stores/old-proxies}
LOGS=${LOGS:-/work/stores/old-proxies-logs}
NPZ=${NPZ:-../shared/data/cifar10-convnetjs-subset/cifar10_subset_uint8_nhwc.npz}
mkdir -p "$LOGS"
score() {  # score NAME ARGS...: one resumable score-all run, retried (a shared machine's Ray may fail to start,
           # or the memory monitor may kill a scorer; a rerun skips every key already stored)
  local name=$1; shift
  for attempt in 1 2 3 4 5; do
    echo "== $name (attempt $attempt): $(date -Is)" >> "$LOGS/$name.log"
    nice -n 10 .venv/bin/naswot-ray score-all --space nb201 --dataset "npz:$NPZ" --seed 1 --store "$STORE" \
       --num-workers 1 --no-dashboard --no-progress --limit 1000 "$@" >> "$LOGS/$name.log" 2>&1
    local rc=$?
    echo "== $name done rc=$rc: $(date -Is)" >> "$LOGS/$name.log"
    [ $rc -eq 0 ] && return 0
    sleep 60
  done
  return 1; }
for step in "$@"; do
  case $step in
    naswot) score naswot --metrics naswot ;;
    grads) score grads-10 --metrics synflow,snip,grad_norm,grasp,fisher,jacob_cov --num-classes 10 ;;
    grads-big) for k in 100 120; do score grads-$k --metrics synflow,snip,grad_norm,grasp,fisher,jacob_cov --num-classes $k; done ;;
    tenas) score tenas --metrics ntk_cond,linear_regions ;;
    eps) score eps --metrics epsilon ;;
    *) echo "unknown step $step; valid: naswot grads grads-big tenas eps" >&2; exit 2 ;;
  esac
done
