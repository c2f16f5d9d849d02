#!/usr/bin/env bash
# The neural-estimator comparisons of the InfoNet and NDoE papers, on our tasks.
#
#   bash benchmarks/paper_comparisons.sh [STEP ...]     # default: mine-levels mine-levels-b100 mine-order mvn cubic
#
#   steps also: mine-order-b100 mvn-doe cubic-doe mvn-flows cubic-flows mvn-flows-tuned
#               cubic-flows-tuned fig5 fig5-std fig5-mine1000 fig5-infonet1000 fig5-infonet5000
#
# fig5 is the InfoNet paper's Fig. 5 grid at the notebook's sequence lengths
# (highdim_independence, n = 50..300, d = 16 and 128): one run per cell, named
# fig5-<dependence>-d<d>-n<n>, plus the authors' notebook recipe of two_features.
# FIG5_PROJECTIONS (default 256; the paper: 1000) sets InfoNet's projections.
# fig5-std runs the grid once more for ksg:standardize=true (runs fig5std-...),
# fig5-mine1000 for MINE-1000 (fig5m-...), and fig5-infonet1000 for the shipped
# InfoNet with the paper's 1,000 projections beside KSG (fig5k-..., about 5
# minutes per cell on one core; fig5-infonet5000 the same with 5,000 projections,
# runs fig5k5000-..., five times as long). FIG5_PREFIX renames fig5-infonet1000's
# runs (e.g. fig5k15 for a newly shipped model), so its exports sit beside the
# earlier model's rather than replacing them. FIG5_DEPS (default "one_feature two_features
# independent_coords"), FIG5_DIMS (default "16 128"), FIG5_SIZES (default
# "50 100 200 300") and FIG5_RECIPES (default "paper notebook"; the notebook's
# recipe differs only for two_features) pick a part of the grid. FIG5_SEEDS
# (e.g. "1..4") runs further trials: each seed draws a new set of 50 + 50
# pairs, in runs named ...-s1-4 (python -m benchmarks.fig5_table averages the
# AUC over a cell's trials).
#
# Each step is one `python -m harness run` into runs/paper/paper.sqlite (STORE
# sets another; resumed if interrupted, so a new model needs a new STORE) and
# its rows exported to benchmarks/results/paper_<step>.csv.
# CPU, one torch thread per estimate. Wall times on the 2-core dev machine:
# see README ("Neural test-time estimators").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
STORE=${STORE:-runs/paper/paper.sqlite}
mkdir -p "$(dirname "$STORE")" benchmarks/results
export OMP_NUM_THREADS=1

run() {  # name, then harness run arguments
    local id=$1
    shift
    # the run id carries a hash of the arguments: the same step resumes its run, a
    # changed one (other estimators, FIG5_PROJECTIONS ...) starts a new run
    local rid
    rid="$id-$(printf '%s\0' "$@" | sha256sum | cut -c1-8)"
    if $PY -m harness runs --store "$STORE" 2>/dev/null | grep -Eq "^[[:space:]]*$rid([[:space:]]|$)"; then
        $PY -m harness run --resume "$rid" --store "$STORE" -q
    else
        $PY -m harness run --run-id "$rid" --store "$STORE" -q "$@"
    fi
    $PY -m harness export "$rid" --store "$STORE" -o "benchmarks/results/paper_$id.csv${SUFFIX:-}"
}

fig5() {  # InfoNet Fig. 5 grid: run-id prefix, then estimator specs; AUC vs n
    local prefix=$1 est=$2 dep d n recipe seeds=${FIG5_SEEDS:-0}
    for recipe in ${FIG5_RECIPES:-paper notebook}; do
        for dep in ${FIG5_DEPS:-one_feature two_features independent_coords}; do
            [ "$recipe" = notebook ] && [ "$dep" != two_features ] && continue
            for d in ${FIG5_DIMS:-16 128}; do
                for n in ${FIG5_SIZES:-50 100 200 300}; do
                    local id="$prefix-$dep-d$d-n$n"
                    [ "$seeds" != 0 ] && id="$id-s${seeds//../-}"
                    [ "$recipe" = notebook ] && id="$id-notebook"
                    SUFFIX=.gz run "$id" --estimators "$est" --seeds "$seeds" \
                        --task "highdim_independence:dependence=$dep,d=$d,n=$n,recipe=$recipe"
                done
            done
        done
    done
}

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(mine-levels mine-levels-b100 mine-order mvn cubic)
for step in "${steps[@]}"; do
    case $step in
    mine-levels)  # InfoNet Table 2: MINE's bias grows with MI and shrinks with steps
        run mine-levels --estimators "mine:steps=100,mine:steps=500,mine:steps=2000" \
            --task gmm_levels --per-level 10 ;;
    mine-levels-b100)  # the same with the paper's MINE batch of 100
        run mine-levels-b100 --estimators "mine:steps=100,batch_size=100,mine:steps=500,batch_size=100" \
            --task gmm_levels --per-level 10 ;;
    mine-order)  # InfoNet Table 3: order accuracy of MINE-500 vs KSG
        run mine-order --estimators "ksg,mine:steps=500" --task gmm_order --per-k 10 ;;
    mine-order-b100)  # Table 3 with the paper's MINE batch of 100 and more triplets
        run mine-order-b100 --estimators "ksg,mine:steps=500,batch_size=100" --task gmm_order --per-k 30 ;;
    mvn)  # NDoE paper: flows vs discriminative bounds on 20-d Gaussians
        run mvn --estimators "ndoe,doe,mine:steps=2000,nwj:steps=2000,smile:steps=2000,infonce:steps=2000" \
            --task "mvn:d=20" ;;
    cubic)  # NDoE paper: a cubic map of y leaves MI unchanged; DoE's Gaussian model breaks
        run cubic --estimators "ndoe,doe" --task "mvn:d=20,transform=cubic" ;;
    mvn-flows | cubic-flows)  # the paper's other generative baselines: two BNAFs, logistic DoE
        task="mvn:d=20"
        [ "$step" = cubic-flows ] && task="mvn:d=20,transform=cubic"
        run "$step" --estimators "bnaf,doe:density=logistic" --task "$task" ;;
    mvn-flows-tuned | cubic-flows-tuned)  # one flow vs two, both BNAFs trained to fit
        task="mvn:d=20"
        [ "$step" = cubic-flows-tuned ] && task="mvn:d=20,transform=cubic"
        run "$step" --estimators "ndoe:residual=true,lr=0.005,bnaf:residual=true,lr=0.005" \
            --task "$task" ;;
    mvn-doe | cubic-doe)  # doe alone (rerun after its validation-epoch fix)
        task="mvn:d=20"
        [ "$step" = cubic-doe ] && task="mvn:d=20,transform=cubic"
        run "$step" --estimators doe --task "$task" ;;
    fig5)  # sliced InfoNet, KSG and MINE-100
        p=${FIG5_PROJECTIONS:-256}
        fig5 fig5 "infonet:projections=$p,batch_size=$p,ksg,mine:steps=100,batch_size=100" ;;
    fig5-std) fig5 fig5std "ksg:standardize=true" ;;  # KSG on standardised columns
    fig5-mine1000) fig5 fig5m "mine:steps=1000,batch_size=100" ;;
    fig5-infonet1000) fig5 "${FIG5_PREFIX:-fig5k}" "infonet:projections=1000,batch_size=1000,ksg" ;;
    fig5-infonet5000) fig5 fig5k5000 "infonet:projections=5000,batch_size=1000,ksg" ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
    esac
done
