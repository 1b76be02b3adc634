#!/bin/bash
# Re-run the unfinished shards of a sharded extraction (a task that failed, hit its time limit
# or was preempted) and then the merge, once no job of the study (submit.sh's --comment) is
# queued or running. Each re-run task resumes its shard after the last batch it committed; the
# lock a killed task left beside its shard is removed first. Usage, with the same environment as submit.sh:
#   MODEL=... TEXT=... OUT=... [EXTRACT_ARGS=...] scripts/slurm/rerun.sh N [sbatch options...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N=${1:?usage: rerun.sh N [sbatch options for the extraction tasks]}
shift
: "${OUT:?set OUT to the study folder}"
mkdir -p "$OUT/logs"
study="linearity-study:$(cd "$OUT" && pwd)"
# A task still queued or running would write its shard too: re-run only when none is left.
if squeue -h -u "$(id -un)" -o '%k' | grep -qxF "$study"; then
  echo "rerun.sh: jobs of this study are still queued or running (squeue -u $(id -un)); wait for them or scancel them first" >&2
  exit 1
fi
todo=()
for ((i = 0; i < N; i++)); do
  manifest="$OUT/shard-$i-of-$N/manifest.json"
  grep -q '"complete": true' "$manifest" 2>/dev/null || todo+=("$i")
  # With no task of the study left, a lock beside a shard is a killed task's (SIGKILL after the
  # time limit's KillWait, a node that died): extract would refuse it on another host.
  lock="$OUT/.shard-$i-of-$N.lock"
  if [ -e "$lock" ]; then
    echo "removing the stale lock $lock: $(cat "$lock" 2>/dev/null)"
    rm -f "$lock"
  fi
done
export SHARDS=$N
dependency=()
if [ ${#todo[@]} -gt 0 ]; then
  list=$(IFS=,; echo "${todo[*]}")
  # --array with the unfinished indices; SLURM_ARRAY_TASK_COUNT would count only them, so the
  # task is told N through SHARD_COUNT.
  array=$(sbatch --parsable --array="$list" --export=ALL,SHARD_COUNT="$N" --comment="$study" --output="$OUT/logs/extract-%A_%a.out" "$@" "$here/extract.sbatch")
  array=${array%%;*}
  dependency=(--dependency=afterok:"$array" --kill-on-invalid-dep=yes)
  echo "array $array (shards $list of $N)"
else
  echo "every shard is complete"
fi
# shellcheck disable=SC2086 # MERGE_SBATCH_ARGS is a list of sbatch options
merge=$(sbatch --parsable ${MERGE_SBATCH_ARGS:-} --comment="$study" "${dependency[@]}" --output="$OUT/logs/merge-%j.out" "$here/merge.sbatch")
echo "merge ${merge%%;*}"
