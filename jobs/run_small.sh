#!/usr/bin/env bash
# `make run`: the main job on the small built-in default (input/small.opts).
# Grows with each pipeline stage; today it runs what exists.
set -euo pipefail
cd "$(dirname "$0")/.."
NP=${NP:-2}
MPIRUN="mpirun --oversubscribe -np $NP"
[ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
mkdir -p output
bin/chempysbi version
echo "== simulate: one CHEMPY run with its ISM history"
bin/chempysbi simulate -theta -2.3,-2.89,-0.3,0.55,0.5,10 -history output/history.csv
