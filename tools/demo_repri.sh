#!/usr/bin/env bash
# RePRI CPU demo (part of `make demo`, alone `DEMO_ONLY=repri make demo`; 4 min 42 s on the 2-core machine).
# For folds 0 and 1 of the synthetic 8-class PASCAL-layout dataset: a 300-iteration base training of a tiny
# PSPNet, then 1-shot and 5-shot episodic tests (5 runs x 100 episodes, seed 2020) of three classifiers on the
# same episodes: the initial prototype classifier (adapt_iter=1, no transductive step), RePRI (49 steps) and
# Oracle-RePRI (true foreground proportion, 300 iterations, weights [1, 1, 0.1] as scripts/oracle.sh).
# Outputs: work_dirs/demo/repri_fold<f>/, summary in work_dirs/demo/repri_summary.json.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
WORK=${DEMO_WORK:-work_dirs/demo}
FOLDS=${REPRI_FOLDS:-0 1}
export OMP_NUM_THREADS=${DEMO_THREADS:-2} MKL_NUM_THREADS=${DEMO_THREADS:-2}

"$PY" tools/data/make_demo_data.py --root data/demo
for f in $FOLDS; do
  cfg=configs/repri/repri_pspnet-tiny_1xb8-300it_demo-fold$f-65x65.py
  dir=$WORK/repri_fold$f
  printf '\n==== repri fold %s: base training ====\n' "$f"
  "$PY" tools/train.py "$cfg" --work-dir "$dir"
  ckpt=$(cat "$dir/last_checkpoint")
  for shot in 1 5; do
    for mode in prototype repri oracle; do
      case $mode in
        prototype) opts=(test_cfg.classifier.adapt_iter=1) ;;
        repri) opts=(test_cfg.classifier.adapt_iter=50) ;;
        oracle) opts=(test_cfg.classifier.fb_param_type=oracle test_cfg.classifier.adapt_iter=300
                      "test_cfg.classifier.weights=[1.0,1.0,0.1]") ;;
      esac
      printf '\n==== repri fold %s: %s-shot %s ====\n' "$f" "$shot" "$mode"
      "$PY" tools/test.py "$cfg" "$ckpt" --work-dir "$dir/${mode}_${shot}shot" \
        --out-metrics "$dir/${mode}_${shot}shot.json" \
        --cfg-options test_dataloader.dataset.shot=$shot "${opts[@]}"
    done
  done
done
"$PY" - "$WORK" $FOLDS <<'PY'
import json, sys
from visionx.utils import atomic_write_json
work, folds = sys.argv[1], sys.argv[2:]
rows = {}
for f in folds:
    for shot in (1, 5):
        for mode in ('prototype', 'repri', 'oracle'):
            m = json.load(open(f'{work}/repri_fold{f}/{mode}_{shot}shot.json'))['metrics']
            rows[f'fold{f}/{shot}shot/{mode}'] = dict(mIoU=m['mIoU'], FB_IoU=m['FB-IoU'])
atomic_write_json(f'{work}/repri_summary.json', rows)
print(f"{'fold/shot/classifier':<28} {'mIoU':>6} {'FB-IoU':>7}")
for k, v in rows.items():
    print(f"{k:<28} {v['mIoU']:6.2f} {v['FB_IoU']:7.2f}")
PY
