#!/usr/bin/env bash
# CI regression gate: run a small fixed-seed grid and compare it with the committed baseline.
#
#   benchmarks/ci_gate.sh                  exit 0: ok, 1: regression, 2: error
#   benchmarks/ci_gate.sh --update         rewrite benchmarks/baseline/*.csv from this tree
#   benchmarks/ci_gate.sh --tolerance mae=0.01     extra arguments go to `harness compare`
#
# Grid: ksg, kde, infonet (CPU) on gmm_levels (3 mixtures per level) and gmm_order
# (5 triplets per K), n = 2000, seed 0 -- about 30 s on 2 cores. Accuracy is gated;
# speed as seconds relative to KSG within the same run, and KSG's own seconds loosely
# against the baseline's (see harness/compare.py).
# PYTHON (default: python) and BASELINE_DIR (default: benchmarks/baseline) override.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
BASELINE_DIR=${BASELINE_DIR:-benchmarks/baseline}
ESTIMATORS="ksg,kde,infonet"
TASKS=("gmm_levels:per_level=3" "gmm_order:per_k=5")
# one thread everywhere: steadier timings on a shared machine, same estimates
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1

update=0
if [[ "${1:-}" == "--update" ]]; then
    update=1
    shift
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
store="$work/gate.sqlite"
status=0
for task in "${TASKS[@]}"; do
    name=${task%%:*}
    "$PY" -m harness run --estimators "$ESTIMATORS" --task "$task" --n 2000 --seeds 0 \
        --device cpu --store "$store" --run-id "gate-$name" --quiet >/dev/null || exit 2
    if ((update)); then
        "$PY" -m harness export "gate-$name" --store "$store" -o "$BASELINE_DIR/$name.csv"
        continue
    fi
    echo "== $name"
    rc=0
    "$PY" -m harness compare "$BASELINE_DIR/$name.csv" "gate-$name" --store "$store" "$@" || rc=$?
    if ((rc > status)); then status=$rc; fi
done
exit "$status"
