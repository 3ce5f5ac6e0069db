#!/usr/bin/env bash
# Retrain the shipped artifacts exactly as they were made: train on train-5k, select on val-5k,
# evaluate (IWAE k=1000) and export to weights/.
#   scripts/train-shipped.sh                 # both models, one after the other
#   scripts/train-shipped.sh gaussian        # one of them
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${DATA_DIR:-../shared/data/mnist}
if [ "$#" -eq 0 ]; then set -- bernoulli gaussian; fi
for likelihood in "$@"; do
  extra=()
  if [ "$likelihood" = gaussian ]; then extra=(--variance-warmup-epochs 30); fi
  python -m model.train --likelihood "$likelihood" --name "mnist-$likelihood" \
    --data-dir "$DATA_DIR" --epochs 200 --max-minutes 14 --augment-shift 1 "${extra[@]}" \
    --out-dir "runs/mnist-$likelihood" --export "weights/mnist-$likelihood.pt" \
    --description "Convolutional VAE (32-d latent) with a $likelihood decoder, trained on MNIST train-5k"
done
