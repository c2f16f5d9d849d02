#!/usr/bin/env bash
# The work that needs a GPU, in steps that each fit one 10-minute call of a lent machine.
#
#   benchmarks/gpu_session.sh check             every estimator with a cuda path, cpu vs cuda
#   benchmarks/gpu_session.sh latency           InfoNet latency table (n = 200..5000, batches
#                                               1..1024), the pytest-benchmark cuda JSON and
#                                               a profile of one call (n = 2000, batch 1)
#   benchmarks/gpu_session.sh train MINUTES [RESUME]
#                                               InfoNet training on cuda, from RESUME (default:
#                                               the shipped model; a state.pt continues a run)
#   benchmarks/gpu_session.sh all MINUTES [RESUME]
#                                               one lease: train (MINUTES 1-5), then check
#                                               (cuda rows only; cpu rows from $CPU_ROWS),
#                                               then latency; each step under its own time
#                                               limit, a failed step does not stop the next,
#                                               and the exit status says if any failed
#
# CPU_ROWS (default benchmarks/results/gpu/cuda_check_cpu_reference.csv, written on this
# project's 2-core machine by `python -m benchmarks.cuda_check --out FILE`) spares `all` the
# cpu half of the check; BATCH, LR and SEPARATION set training's batch, learning rate and
# separation-reward weight (default: the starting model card's), VALIDATION its validation
# set (default: built into $OUT/train).
# Results go to $OUT (default benchmarks/results/gpu, where they are committed): check ->
# cuda_check.csv; latency -> infonet_latency_cuda.csv, pytest_bench_cuda.json,
# infonet_profile_cuda.txt (in `all`, the profile goes to all.log); train ->
# train/{best.pt,best.json,state.pt} and train.log. Ship a trained model with
#   python -m estimators.infonet.evaluate $OUT/train/best.pt --ship
# on the CPU machine. Uses $PYTHON (default python3) with the repository on PYTHONPATH, so
# no install is needed where torch, numpy, scipy, pandas and numba already are.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-benchmarks/results/gpu}
case "${1:-}" in
check | latency | train | all) ;;
*)
    sed -n 2,28p "$0"
    exit 2
    ;;
esac
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no GPU here'; print(torch.__version__, torch.cuda.get_device_name())"
mkdir -p "$OUT" # only once a GPU is there: no empty results folder elsewhere

# LIMIT: a command prefix such as "timeout 120" (empty: no limit)
check() {
    $LIMIT "$PY" -m benchmarks.cuda_check --out "$OUT/cuda_check.csv" "$@"
}

latency() {
    $LIMIT "$PY" benchmarks/infonet_latency.py --device cuda --out "$OUT/infonet_latency_cuda.csv" "$@"
}

profile() {
    $LIMIT "$PY" benchmarks/infonet_latency.py --device cuda --profile 2000,1 "$@"
}

bench() {
    $LIMIT "$PY" -m pytest -q -p no:cacheprovider tests/bench/test_bench_infonet.py --benchmark-only \
        -k cuda --benchmark-json "$OUT/pytest_bench_cuda.json"
}

train() {
    # a fresh schedule from any model .pt with the recipe its card records (the shipped
    # model's: docs/infonet_training.md, sessions 35 and 41); only what a GPU run changes
    # is given here: batch, learning rate and warm-up, evaluation and checkpoint cadence
    $LIMIT "$PY" -m estimators.infonet.train --resume "$2" --device cuda --out "$OUT/train" \
        --minutes "$1" --steps 20000 --warmup 100 --lr "${LR:-2e-5}" --batch "${BATCH:-256}" \
        ${SEPARATION:+--separation "$SEPARATION"} --eval-every 250 --checkpoint-minutes 1 \
        --validation "${VALIDATION:-$OUT/train/validation.npz}" 2>&1 | tee -a "$OUT/train.log"
}

LIMIT=
case "${1:-}" in
check) check ;;
latency)
    latency
    bench
    profile --out "$OUT/infonet_profile_cuda.txt"
    ;;
train) train "${2:?minutes}" "${3:-shipped}" ;;
all)
    minutes=${2:?minutes}
    # the steps' limits add up to MINUTES*60 + 275 s: at most 5 fits one 10-minute call
    [[ $minutes =~ ^[1-5]$ ]] || { echo "all: MINUTES must be a whole number 1-5" >&2; exit 2; }
    exec > >(tee -a "$OUT/all.log") 2>&1
    log=$!
    failed=()
    LIMIT="timeout -k 20 $((minutes * 60 + 40))" train "$minutes" "${3:-shipped}" || failed+=(train)
    LIMIT="timeout -k 10 120" check --reps 2 \
        --cpu-rows "${CPU_ROWS:-benchmarks/results/gpu/cuda_check_cpu_reference.csv}" || failed+=(check)
    LIMIT="timeout -k 10 50" latency --min-seconds 0.3 || failed+=(latency)
    LIMIT="timeout -k 10 35" bench || failed+=(bench)
    LIMIT="timeout -k 10 30" profile || failed+=(profile) # into all.log: $OUT holds 8 files
    if [ ${#failed[@]} -eq 0 ]; then echo "all: every step ran"; else echo "all: failed: ${failed[*]}"; fi
    exec >&- 2>&-
    wait "$log"
    [ ${#failed[@]} -eq 0 ]
    ;;
esac
