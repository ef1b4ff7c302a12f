#!/usr/bin/env bash
# Create (or refresh) the VisionX virtual environment in $VENV (default .venv).
#
# Idempotent: a stamp file records the hash of requirements/*.txt and setup.py; when nothing changed a
# second run only checks that the stamp matches (well under a second).
#
# mmcv 2.1.0 ships as an sdist only.  It is compiled with its ops (MMCV_WITH_OPS=1) against the installed
# torch, without build isolation and with setuptools<70.  A prebuilt wheel found in $VISIONX_WHEELS
# (default ../shared/wheels) is used when present; otherwise the build takes 13-40 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}
WHEELS=${VISIONX_WHEELS:-$(cd .. && pwd)/shared/wheels}
STAMP="$VENV/.visionx-setup"
want=$(cat requirements/*.txt setup.py tools/setup_env.sh | sha256sum | cut -d' ' -f1)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi

log() { printf '[setup] %s\n' "$*"; }

# open3d loads the system libusb at import time.
if ! ldconfig -p 2>/dev/null | grep -q 'libusb-1.0.so.0'; then
  log "installing system library libusb-1.0-0 (needed by open3d)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO=sudo
  if ! { $SUDO apt-get install -y -q libusb-1.0-0 >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO apt-get install -y -q libusb-1.0-0 >/dev/null; }; }; then
    log "WARNING: could not install libusb-1.0-0; 'import open3d' will fail. Install it with: apt-get install libusb-1.0-0"
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment $VENV"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
FIND_LINKS=()
if [ -d "$WHEELS" ]; then
  FIND_LINKS=(--find-links "$WHEELS")
  # keep any find-links the machine already configures (pip replaces, not appends, on the command line)
  [ -n "${PIP_FIND_LINKS:-}" ] && for d in $PIP_FIND_LINKS; do FIND_LINKS+=(--find-links "$d"); done
fi

"${PIP[@]}" wheel
log "torch 2.13.0"
"${PIP[@]}" "torch==2.13.0"

if ! "$VENV/bin/python" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" >/dev/null 2>&1; then
  if ls "$WHEELS"/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
    log "mmcv 2.1.0 from the prebuilt wheel in $WHEELS"
  else
    log "mmcv 2.1.0: no prebuilt wheel in $WHEELS -> compiling with its ops."
    log "THIS TAKES 13 TO 40 MINUTES ON 2 CORES (started $(date +%T)); later runs reuse it."
    # mmcv 2.1.0's setup.py needs setuptools<70; torch 2.13 itself asks for setuptools>=77 (restored below).
    "${PIP[@]}" "setuptools<70"
  fi
  # --no-deps: mmcv's metadata asks for opencv-python (GUI build, needs libGL); we use the headless build.
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} "${PIP[@]}" --no-build-isolation --no-deps \
    "${FIND_LINKS[@]}" "mmcv==2.1.0"
  "${PIP[@]}" "setuptools>=77.0.3"
fi

log "mmengine, mmsegmentation and the rest"
# mmengine / mmseg are installed without deps for the same opencv reason; their deps are listed here.
"${PIP[@]}" --no-deps "mmengine==0.10.7" "mmsegmentation==1.2.2"
"${PIP[@]}" addict yapf rich termcolor matplotlib packaging prettytable \
  -r requirements/runtime.txt -r requirements/tests.txt
if [ -d "$WHEELS" ] && ls "$WHEELS"/torch_scatter-*.whl >/dev/null 2>&1; then
  log "optional: torch-scatter from $WHEELS"
  "${PIP[@]}" --no-build-isolation --no-deps "${FIND_LINKS[@]}" "torch-scatter==2.1.2" || log "torch-scatter skipped"
fi
"${PIP[@]}" --no-build-isolation --no-deps -e .

"$VENV/bin/python" - <<'PY'
import mmcv, mmcv.ops, mmengine, mmseg, torch
print(f"[setup] OK: torch {torch.__version__}, mmengine {mmengine.__version__}, "
      f"mmcv {mmcv.__version__} (ops), mmseg {mmseg.__version__}")
PY
echo "$want" > "$STAMP"
