#!/usr/bin/env bash
# GPU check, for a machine with a CUDA GPU (run it whenever one is lent; CI has none).
#   scripts/gpu-check.sh            # prints one JSON line per figure, then a summary table
# It: starts vae-serve with VAE_DEVICE=cuda and times start → ready; checks that /models says
# cuda; runs the bench rows for /sample n=1 (C=1, 32) and n=64 with wrk; and measures the raw
# decode throughput on the GPU. Needs: python3.11 with pip, and wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet torch==2.13.0   # on a CUDA machine this is the CUDA build
  .venv/bin/pip install --quiet -e .
fi
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
.venv/bin/python -m bench.gpu_check
