#!/usr/bin/env bash
# Rebuild data-samples/regularized/: the regularized twin of data-samples/model. Same options as
# scripts/make-data-samples.sh (seed, data, steps, schedule, evaluation, snapshots) plus the
# paper's cosine regularizer, --reg cosine --reg-weight 0.5 (docs/training.md). Copies the final
# model, the snapshots at steps 50, 200 and 500 (step 0, the random initialisation, is identical to
# data-samples/checkpoints/step-000000 and is not copied) and the learning curve.
#
#   scripts/make-regularized-twin.sh
#   STEPS=60 SNAPSHOTS=0,15,30,45 scripts/make-regularized-twin.sh   # a quick preliminary version
#
# RUN (default /tmp/linearity-train-twin) keeps the full training output (checkpoints with the
# optimizer state): an interrupted run continues with the same command (--resume is passed).
set -euo pipefail
cd "$(dirname "$0")/.."

REG=${REG:-cosine}
REG_WEIGHT=${REG_WEIGHT:-0.5}
RUN=${RUN:-/tmp/linearity-train-twin}
OUT=${OUT:-data-samples/regularized}

# 1. Train: the shipped run plus the regularizer (resumes if $RUN already has checkpoints of the
#    same configuration; STEPS, BATCH, SEQ_LEN, SNAPSHOTS and LINEARITY pass through).
scripts/train-shipped-model.sh "$RUN" --reg "$REG" --reg-weight "$REG_WEIGHT"

# 2. Copy the final model, the snapshots after step 0 and the learning curve.
rm -rf "$OUT/model" "$OUT/checkpoints" "$OUT/training"
mkdir -p "$OUT/checkpoints" "$OUT/training"
cp -r "$RUN/model" "$OUT/model"
for snap in "$RUN"/snapshots/step-*; do
  [ "$(basename "$snap")" = step-000000 ] && continue
  cp -r "$snap" "$OUT/checkpoints/"
done
cp "$RUN/learning-curve.csv" "$RUN/summary.json" "$OUT/training/"
du -sh "$OUT"
