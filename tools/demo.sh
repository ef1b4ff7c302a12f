#!/usr/bin/env bash
# `make demo`: for each method, a short CPU training on its synthetic demo data, an evaluation with
# tools/test.py, and the method's own tool.  Outputs go to work_dirs/demo/<method>/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
WORK=${DEMO_WORK:-work_dirs/demo}
ONLY=${DEMO_ONLY:-}

want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
step() { printf '\n==== %s ====\n' "$*"; }
train_and_test() {  # NAME CONFIG
  local name=$1 cfg=$2
  step "$name: train $cfg"
  "$PY" tools/train.py "$cfg" --work-dir "$WORK/$name"
  step "$name: evaluate"
  "$PY" tools/test.py "$cfg" "$(cat "$WORK/$name/last_checkpoint")" --work-dir "$WORK/$name" \
    --out "$WORK/$name/metrics.json"
}
