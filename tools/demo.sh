#!/usr/bin/env bash
# `make demo`: for each method, a short CPU training on its synthetic demo data, an evaluation with
# tools/test.py, and the method's own tool.  Outputs go to work_dirs/demo/<method>/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
WORK=${DEMO_WORK:-work_dirs/demo}
ONLY=${DEMO_ONLY:-}
# The demo numbers in the READMEs were measured with 2 intra-op threads: float sums are ordered by the thread
# count, and a 200-iteration training turns that into different final metrics.  Fix it (override with
# DEMO_THREADS) so that a machine with more cores reproduces them too.
export OMP_NUM_THREADS=${DEMO_THREADS:-2} MKL_NUM_THREADS=${DEMO_THREADS:-2}

want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
step() { printf '\n==== %s ====\n' "$*"; }
train_and_test() {  # NAME CONFIG
  local name=$1 cfg=$2
  step "$name: train $cfg"
  "$PY" tools/train.py "$cfg" --work-dir "$WORK/$name"
  step "$name: evaluate"
  "$PY" tools/test.py "$cfg" "$(cat "$WORK/$name/last_checkpoint")" --work-dir "$WORK/$name" \
    --out-metrics "$WORK/$name/metrics.json" --out "$WORK/$name/predictions"
}

if want gridformer; then
  cfg=configs/gridformer/gridformer_3plane32-c8_1xb4-400it_synshapes-512.py
  train_and_test gridformer "$cfg"
  step "gridformer: mesh export of a held-out shape"
  shape=$(head -n1 data/demo/gridformer/90000003/test.lst)
  "$PY" demo/mesh_export.py "data/demo/gridformer/90000003/$shape/pointcloud.npz" \
    "$(cat "$WORK/gridformer/last_checkpoint")" --config "$cfg" --resolution 128 \
    --out "$WORK/gridformer/mesh_export/$shape.ply" --render "$WORK/gridformer/mesh_export/$shape.png"
fi

if want tracoco; then
  cfg=configs/tracoco/tracoco_vnet-tiny_1xb4-150it_demo-4lab-32x32x32.py
  train_and_test tracoco "$cfg"
  step "tracoco: segment a NIfTI volume (a held-out demo case written as .nii.gz)"
  case=$(head -n1 data/demo/tracoco/eval.list)
  "$PY" - "$case" "$WORK/tracoco/$case.nii.gz" <<'PY'
import sys, h5py, nibabel as nib, numpy as np
case, out = sys.argv[1:]
with h5py.File(f'data/demo/tracoco/data/{case}/mri_norm2.h5') as f:
    nib.save(nib.Nifti1Image(np.asarray(f['image'], np.float32), np.eye(4)), out)
PY
  "$PY" demo/segment_volume.py "$cfg" "$(cat "$WORK/tracoco/last_checkpoint")" \
    "$WORK/tracoco/$case.nii.gz" "$WORK/tracoco/${case}_mask.nii.gz" --net mean
fi

if want topomortar; then
  # The same short schedule with CE+Dice and with clDice, evaluated per test group (ID / OOD).
  train_and_test topomortar_cedice configs/topomortar/cedice_dynunet-tiny_1xb4-300it_topomortar-demo-128x128.py
  train_and_test topomortar_cldice configs/topomortar/cldice_dynunet-tiny_1xb4-300it_topomortar-demo-128x128.py
  # Self-distillation: 3 rounds of 100 iterations, each on the previous round's soft labels.
  train_and_test topomortar_cldice_selfdistill \
    configs/topomortar/cldice_dynunet-tiny_1xb4-3x100it_topomortar-selfdistill-demo-128x128.py
fi

if want basnet; then
  cfg=configs/basnet/basnet_r34_1xb4-200it_synth-duts-48.py
  train_and_test basnet "$cfg"
  step "basnet: object cut of the held-out synthetic images"
  "$PY" demo/object_cut.py data/demo/basnet/DUTS-TE/DUTS-TE-Image \
    --checkpoint "$(cat "$WORK/basnet/last_checkpoint")" --out-dir "$WORK/basnet/cutouts" \
    --size 56 --save-mask --background white --batch-size 8
fi

if want bpkd; then
  # A half-width PSPNet-R18 teacher, then its quarter-width student trained for the same 300 iterations: alone,
  # with CWD, with BPKD (the demo config's edge 5 / body 2 weights) and with BPKD at the default weights (edge 50
  # / body 20, which collapse on this problem); mIoU and boundary IoU (2-px trimap) of each.  3-4 min in all.
  train_and_test bpkd_teacher configs/bpkd/pspnet_r18-d8_1xb8-300it_demo-bpkd-64x64.py
  train_and_test bpkd_student configs/bpkd/pspnet_r18-w16-d8_1xb8-300it_demo-bpkd-64x64.py
  for algo in cwd bpkd bpkd_default_weights; do
    cfg=configs/bpkd/${algo%_default_weights}_pspnet_r18-d8_pspnet_r18-w16-d8_1xb8-300it_demo-bpkd-64x64.py
    opts=(model.teacher_checkpoint="$WORK/bpkd_teacher/iter_300.pth")
    if [ "$algo" = bpkd_default_weights ]; then
      opts+=(model.distill_losses.0.loss_weight=50.0 model.distill_losses.1.loss_weight=20.0)
    fi
    step "bpkd_$algo: train $cfg"
    "$PY" tools/train.py "$cfg" --work-dir "$WORK/bpkd_$algo" --cfg-options "${opts[@]}"
    step "bpkd_$algo: evaluate the student"
    "$PY" tools/test.py "$cfg" "$(cat "$WORK/bpkd_$algo/last_checkpoint")" --work-dir "$WORK/bpkd_$algo" \
      --out-metrics "$WORK/bpkd_$algo/metrics.json"
  done
fi

if want repri; then
  # RePRI: base training of a tiny PSPNet per fold (folds 0 and 1), then 1- and 5-shot episodic tests of the
  # prototype classifier, RePRI and Oracle-RePRI on the same episodes (tools/demo_repri.sh; about 5 min).
  step "repri: tools/demo_repri.sh"
  PY="$PY" DEMO_WORK="$WORK" bash tools/demo_repri.sh
fi

if want ciss; then
  # Class-incremental segmentation: the same 3-step task (background + 3 classes, then 2, then 2) learnt by
  # fine-tuning, MiB, BARM and BACS, each whole task in one tools/train.py call (every step is tested after it is
  # trained; the old / new / all mIoU table is work_dirs/demo/ciss_<method>/ciss_results.md).  One intra-op
  # thread: the network is tiny, and the README numbers were measured so.
  for m in finetune mib barm bacs; do
    step "ciss_$m: steps 0..2 of configs/ciss/${m}_deeplabv3-tiny_1xb8-300it_demo-voc-3-2-2-overlap.py"
    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$PY" tools/train.py \
      "configs/ciss/${m}_deeplabv3-tiny_1xb8-300it_demo-voc-3-2-2-overlap.py" --work-dir "$WORK/ciss_$m"
    cat "$WORK/ciss_$m/ciss_results.md"
  done
fi

step "done: metrics in $WORK/*/metrics.json"
