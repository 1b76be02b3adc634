#!/bin/bash
# Submit a sharded extraction to Slurm: an array of N extraction tasks and a merge job that
# starts when all of them have succeeded. Usage:
#   MODEL=... TEXT=... OUT=... [EXTRACT_ARGS=...] scripts/slurm/submit.sh N [sbatch options...]
# The sbatch options (e.g. --partition=cpu --mem=32G) apply to the extraction tasks; those of the
# merge job go in MERGE_SBATCH_ARGS. Prints the two job ids ("array JOBID", "merge JOBID").
# Logs go to OUT/logs/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N=${1:?usage: submit.sh N [sbatch options for the extraction tasks]}
shift
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "submit.sh: N must be a positive integer, got '$N'" >&2; exit 1; }
: "${OUT:?set OUT to the study folder}"
mkdir -p "$OUT/logs"
export SHARDS=$N
# The comment marks this study's jobs, so that rerun.sh can tell whether any still runs.
study="linearity-study:$(cd "$OUT" && pwd)"
array=$(sbatch --parsable --array=0-$((N - 1)) --comment="$study" --output="$OUT/logs/extract-%A_%a.out" "$@" "$here/extract.sbatch")
array=${array%%;*}
# shellcheck disable=SC2086 # MERGE_SBATCH_ARGS is a list of sbatch options
merge=$(sbatch --parsable ${MERGE_SBATCH_ARGS:-} --comment="$study" --dependency=afterok:"$array" --kill-on-invalid-dep=yes --output="$OUT/logs/merge-%j.out" "$here/merge.sbatch")
merge=${merge%%;*}
echo "array $array"
echo "merge $merge"
