#!/usr/bin/env bash
# The work that needs a GPU, in steps that each fit one 10-minute call of a lent machine.
#
#   benchmarks/gpu_session.sh check             every estimator with a cuda path, cpu vs cuda
#   benchmarks/gpu_session.sh latency           InfoNet latency table (n = 200..5000, batches
#                                               1..1024) and the pytest-benchmark cuda JSON
#   benchmarks/gpu_session.sh train MINUTES [RESUME]
#                                               InfoNet training on cuda, from RESUME (default:
#                                               the shipped model; a state.pt continues a run)
#
# Results go to $OUT (default benchmarks/results/gpu, where they are committed): check ->
# cuda_check.csv; latency -> infonet_latency_cuda.csv, pytest_bench_cuda.json; train ->
# train/{best.pt,best.json,state.pt} and train.log. Ship a trained model with
#   python -m estimators.infonet.evaluate $OUT/train/best.pt --ship
# on the CPU machine. Uses $PYTHON (default python3) with the repository on PYTHONPATH, so
# no install is needed where torch, numpy, scipy, pandas and numba already are.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-benchmarks/results/gpu}
case "${1:-}" in
check | latency | train) ;;
*)
    sed -n 2,16p "$0"
    exit 2
    ;;
esac
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no GPU here'; print(torch.__version__, torch.cuda.get_device_name())"
mkdir -p "$OUT" # only once a GPU is there: no empty results folder elsewhere

case "${1:-}" in
check)
    "$PY" -m benchmarks.cuda_check --out "$OUT/cuda_check.csv"
    ;;
latency)
    "$PY" benchmarks/infonet_latency.py --device cuda --out "$OUT/infonet_latency_cuda.csv"
    "$PY" -m pytest -q -p no:cacheprovider tests/bench/test_bench_infonet.py --benchmark-only \
        -k cuda --benchmark-json "$OUT/pytest_bench_cuda.json"
    ;;
train)
    minutes=${2:?minutes}
    resume=${3:-shipped}
    # a fresh schedule from any starting point; the shipped model's last data recipe (README,
    # Training): small Gaussian samples in the steps of n <= 300, the GMM recipe above, plus
    # 8 % needle mixtures (--thin: docs/infonet_training.md, session 24)
    "$PY" -m estimators.infonet.train --resume "$resume" --device cuda --out "$OUT/train" \
        --minutes "$minutes" --steps 60000 --warmup 300 --lr 1e-4 --batch 64 --mi-balance 0.5 --calibrate 20 \
        --calibrate-scale 0.02 --independent 0.15 --weak 0.15 --gaussian 0.6 --gaussian-max-n 300 \
        --gaussian-rho-max 0.95 --ema 0.999 --thin 0.08 \
        --n 50,50,50,100,100,200,300,1000,2000,3000 --eval-every 1000 --checkpoint-minutes 2 \
        --validation "${VALIDATION:-$OUT/train/validation.npz}" 2>&1 | tee -a "$OUT/train.log"
    ;;
esac
