#!/usr/bin/env bash
# GPU measurements of t6-tune (issue 6), run from the repository root on the GPU machine:
#   bash tuner/gpu/run_tune.sh device   whole-device tune, default budget and presets (medium,paper), timed
#   bash tuner/gpu/run_tune.sh space    the decode space of the paper's decode shape: exhaustive, then the
#                                       default strategy with 10% of its evaluations (a run of its own, and
#                                       ten seeds replayed on the exhaustive measurements); compares them
#   bash tuner/gpu/run_tune.sh all      both (may not fit one 10-minute command: run the two steps apart)
# EXHAUSTIVE_LOG=path reuses the log of an earlier exhaustive run of the space (same device and kernels) instead
# of measuring it again: the default strategy's runs and the replays are then judged against it.
# Builds with tuner/gpu/setup.sh. Logs and profiles are kept in $BUILD/tune (so that RESUME=1 continues a step a
# timeout cut short) and copied to $OUT (default gpu-out) at the end of every step: the profile to ship is
# $OUT/<device>.json (profiles/ in the repository), the logs are the evidence.
set -uo pipefail
source tuner/gpu/setup.sh || exit 1
step=${1:-all}
OUT=${OUT:-gpu-out}
LOGS=$BUILD/tune
LIMIT=${LIMIT:-560} # seconds a step may run before it is stopped (the log keeps what was done)
mkdir -p "$OUT" "$LOGS"
TUNE=$BUILD/tuner/t6-tune
resume=${RESUME:+--resume}
# The paper's decode benchmark shape (TPA.md): H=32, D=64, ranks 16/1/1, one sequence of 64K positions.
PAPER=decode:heads=32,head_dim=64,ranks=16/1/1,dtype=f16,batch=1,length=65536

# What comes back: the summaries, the profiles, and every log and replay in one archive (few files).
save() {
  cp "$LOGS"/*.txt "$LOGS"/*.json "$OUT"/ 2>/dev/null
  tar -czf "$OUT/tune-logs.tar.gz" -C "$LOGS" --exclude='kernel-cache-*' . 2>/dev/null
  rm -f "$OUT"/replay-*; true
}

"$BUILD/tuner/t6-info" --profile | tee "$OUT/t6-info.txt"

if [ "$step" = device ] || [ "$step" = all ]; then
  echo "== whole-device tune: default strategy and budget, presets medium,paper; kernel cache cold"
  export T6_CACHE_DIR=$LOGS/kernel-cache-device
  [ -n "$resume" ] || rm -rf "$T6_CACHE_DIR" "$LOGS/device.jsonl"
  start=$(date +%s)
  timeout "$LIMIT" "$TUNE" --log "$LOGS/device.jsonl" --output "$LOGS" $resume | tee "$LOGS/device.txt"
  code=${PIPESTATUS[0]}
  echo "whole-device tune: exit $code after $(( $(date +%s) - start )) s" | tee -a "$LOGS/device.txt"
  [ "$code" = 124 ] && echo "stopped by the time limit: run again with RESUME=1 to continue"
  save
fi

if [ "$step" = space ] || [ "$step" = all ]; then
  export T6_CACHE_DIR=$LOGS/kernel-cache-space
  echo "== the paper's decode space, exhaustive"
  "$TUNE" --shape "$PAPER" --plan | tee "$LOGS/space-plan.txt"
  size=$(awk '$1 == "shape" && $2 == "1" { print $5 }' "$LOGS/space-plan.txt")
  budget=$(( size / 10 > 0 ? size / 10 : 1 )) # at most 10% of the exhaustive run's evaluations
  [ -n "$resume" ] || rm -f "$LOGS/exhaustive.jsonl" "$LOGS/local.jsonl"
  if [ -n "${EXHAUSTIVE_LOG:-}" ]; then
    echo "(the exhaustive measurements are $EXHAUSTIVE_LOG's)"
    cp "$EXHAUSTIVE_LOG" "$LOGS/exhaustive.jsonl"
  else
    start=$(date +%s)
    timeout "$LIMIT" "$TUNE" --shape "$PAPER" --strategy exhaustive --log "$LOGS/exhaustive.jsonl" \
      --output "$LOGS/exhaustive.json" $resume | tee "$LOGS/exhaustive.txt"
    echo "exhaustive: exit ${PIPESTATUS[0]} after $(( $(date +%s) - start )) s over $size configurations" \
      | tee -a "$LOGS/exhaustive.txt"
  fi
  echo "== the same space, default strategy, budget $budget (10%), a run of its own"
  start=$(date +%s)
  timeout "$LIMIT" "$TUNE" --shape "$PAPER" --budget "$budget" --log "$LOGS/local.jsonl" --output "$LOGS/local.json" \
    $resume | tee "$LOGS/local.txt"
  echo "local: exit ${PIPESTATUS[0]} after $(( $(date +%s) - start )) s" | tee -a "$LOGS/local.txt"
  # The default strategy on the exhaustive run's measurements, for ten seeds: each replay answers every
  # evaluation from a copy of the exhaustive log (no device time, like Kernel Tuner's simulation mode), so its
  # choice is judged against the optimum of the very same measurements.
  for seed in 1 2 3 4 5 6 7 8 9 10; do
    cp "$LOGS/exhaustive.jsonl" "$LOGS/replay.jsonl"
    "$TUNE" --shape "$PAPER" --budget "$budget" --seed $seed --retime 0 --resume --log "$LOGS/replay.jsonl" \
      --output "$LOGS/replay-$seed.json" > "$LOGS/replay-$seed.txt" 2>&1
  done
  rm -f "$LOGS/replay.jsonl"
  python3 tuner/gpu/compare_space.py "$LOGS" | tee "$LOGS/space-compare.txt"
  save
fi
