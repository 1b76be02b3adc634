#!/usr/bin/env bash
# Rebuild data-samples/: train the project's byte-level Llama on the Brown Corpus, copy the final
# model, the kept training snapshots and the learning curve, and extract the hidden states of
# held-out Brown text with the final model. Deterministic up to float rounding on another CPU.
#
#   scripts/make-data-samples.sh            # the configuration shipped in data-samples/
#   STEPS=60 SNAPSHOTS=0,15,30,45 TOKENS=4096 scripts/make-data-samples.sh   # a quick preliminary version
#
# RUN (default /tmp/linearity-train-run) keeps the full training output (checkpoints with the
# optimizer state, so an interrupted run continues with the same command: --resume is passed).
set -euo pipefail
cd "$(dirname "$0")/.."

SEQ_LEN=${SEQ_LEN:-128}
TOKENS=${TOKENS:-16000}
RUN=${RUN:-/tmp/linearity-train-run}
OUT=${OUT:-data-samples}
# The CLI: the compiled bin (run `npm run build` first).
LINEARITY=${LINEARITY:-node bin/linearity.js}
export SEQ_LEN LINEARITY

# 1. Train (resumes if $RUN already has checkpoints of the same configuration; STEPS, BATCH and
#    SNAPSHOTS pass through to the shared training command).
scripts/train-shipped-model.sh "$RUN"

# 2. Copy the final model, the snapshots and the learning curve.
rm -rf "$OUT/model" "$OUT/checkpoints" "$OUT/training" "$OUT/hidden-states"
mkdir -p "$OUT/checkpoints" "$OUT/training"
cp -r "$RUN/model" "$OUT/model"
for snap in "$RUN"/snapshots/step-*; do cp -r "$snap" "$OUT/checkpoints/"; done
cp "$RUN/learning-curve.csv" "$RUN/summary.json" "$OUT/training/"

# 3. Hidden states of held-out Brown text (every state, float16, token ids and tags), taken
#    round-robin over all 50 held-out documents (--spread) so every genre is in the sample.
$LINEARITY extract --model "$OUT/model" --text corpus:brown:heldout --out "$OUT/hidden-states" \
  --dtype float16 --seq-len "$SEQ_LEN" --max-tokens "$TOKENS" --spread

du -sh "$OUT"

# 4. The block-replacement sweep of notebook 06 (docs/interventions.md), about 10 minutes.
npx tsx scripts/block-replacement-sweep.ts --model "$OUT/model" --out "$OUT/block-replacement.json" \
  --calibrate-tokens 8192 --eval-tokens 8192 --seq-len "$SEQ_LEN"
