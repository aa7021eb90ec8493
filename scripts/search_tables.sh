#!/usr/bin/env bash
# Reproduce the NASWOT paper's NB201 search tables (Table 2: NASWOT N=10/100/1000 x 500 runs, REA and AREA
# x 50 runs) from a store that holds NASWOT scores for all 15,625 NB201 cells.
#
# Why a copy: the accuracies are imported into a copy of the scores store, so the original is never changed.
# The shared accuracy tables have no training times, so REA/AREA run under a query budget (100 queries ~
# the paper's 12000 s: random search with 100 queries gives the paper's RS numbers); --budget-seconds needs
# a table with times (the official NB201 file).
#
# Usage: scripts/search_tables.sh SCORES_STORE WORK_DIR [SHARED_DATA]
#   e.g. scripts/search_tables.sh /work/stores/nb201-full /tmp/nb201-search ../shared/data
set -euo pipefail
src=${1:?scores store}; work=${2:?work directory}; data=${3:-"$(dirname "$0")/../../shared/data"}
store="$work/store"
[ -e "$store" ] && { echo "$store exists; pick a new WORK_DIR" >&2; exit 2; }
mkdir -p "$work"
cp -r "$src" "$store"
naswot-ray import-benchmark nb201 --format csv --store "$store" \
  --source "$data/nb201-merged-200ep/nb201_merged_200ep.csv" \
  --column cifar10valid_xvalid=cifar10-valid:x-valid:200 --column cifar10valid_oritest=cifar10-valid:ori-test:200 \
  --column cifar10_oritest=cifar10:ori-test:200 --column cifar100_xtest=cifar100:x-test:200 \
  --column imagenet16_xvalid=ImageNet16-120:x-valid:200 --column imagenet16_xtest=ImageNet16-120:x-test:200 \
  --params-column params_M_cifar10 --params-scale 1e6
naswot-ray import-benchmark nb201 --format csv --store "$store" \
  --source "$data/nb201-minibench-12ep/mini-bench-arch-cell-accs.csv" \
  --column cifar10-val=cifar10-valid:x-valid:12 --column cifar10-test=cifar10:ori-test:12 \
  --column cifar100-val=cifar100:x-valid:12 --column cifar100-test=cifar100:x-test:12 \
  --column imagenet-val=ImageNet16-120:x-valid:12 --column imagenet-test=ImageNet16-120:x-test:12
naswot-ray search naswot --n 10,100,1000 --runs 500 --scores-from-store --store "$store" --output "$work/naswot.csv"
naswot-ray search random --n 1,100 --runs 500 --store "$store" --output "$work/random.csv"
for q in 50 100 150; do
  naswot-ray search rea --budget-queries "$q" --runs 50 --store "$store" --output "$work/rea-$q.csv"
  naswot-ray search area --budget-queries "$q" --runs 50 --scores-from-store --store "$store" --output "$work/area-$q.csv"
done
