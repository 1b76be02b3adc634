#!/usr/bin/env bash
# The training run of data-samples/model, written once for scripts/make-data-samples.sh and
# scripts/make-regularized-twin.sh: train into RUN with the shipped options, plus any extra
# `linearity train` flags given as arguments (the twin adds --reg cosine --reg-weight 0.5).
# Resumes when RUN already has checkpoints of the same configuration (--resume is passed).
#
#   scripts/train-shipped-model.sh RUN [extra train flags ...]
#
# Environment: STEPS (1000), BATCH (8), SEQ_LEN (128), SNAPSHOTS (0,50,200,500), LINEARITY (the
# compiled bin, `node bin/linearity.js`: run `npm run build` first).
set -euo pipefail
cd "$(dirname "$0")/.."

RUN=$1
shift
STEPS=${STEPS:-1000}
BATCH=${BATCH:-8}
SEQ_LEN=${SEQ_LEN:-128}
SNAPSHOTS=${SNAPSHOTS:-0,50,200,500}
LINEARITY=${LINEARITY:-node bin/linearity.js}

$LINEARITY train --corpus brown --out "$RUN" \
  --n-layers 6 --d-model 128 --n-heads 4 --d-mlp 256 \
  --seq-len "$SEQ_LEN" --batch-size "$BATCH" --steps "$STEPS" \
  --lr 3e-3 --min-lr 3e-4 --warmup 30 --weight-decay 0.1 --seed 0 \
  --eval-every 50 --eval-sequences 16 --checkpoint-every 50 --keep-checkpoints 2 \
  --snapshot-steps "$SNAPSHOTS" --snapshot-dtype float16 --final-dtype float16 \
  --final-eval-sequences 256 --resume "$@"
