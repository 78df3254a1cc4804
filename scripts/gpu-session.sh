#!/usr/bin/env bash
# The two halves of a session on a lent NVIDIA GPU (docs/GPU.md): the GPU
# machine has PyTorch and numpy but no LLVM/MLIR, so everything is compiled
# here and carried there.
#
#   scripts/gpu-session.sh prepare [BUILD]
#       here: compiles the GPU execution suites and the benchmarks for
#       sm_90a into .gpu/ (inputs regenerated there from their seeds; about
#       36 MB, under the 64 MiB a device call carries), with the launcher.
#   scripts/gpu-session.sh execute OUT [suites|bench|all]
#       there (with .gpu carried): runs the suites (OUT/<suite>.log) and the
#       benchmarks (OUT/bench.log, OUT/bench.json); `all` by default. A
#       device command may run 10 minutes: split into `suites` and `bench`
#       calls when both do not fit.
#
# The suites: every case with the defaults, and the same cases again under
# the options that are off until timed (fuse-moe, wgmma attention, wgmma
# P.V, 192-row grouped GEMM tiles), each on the cases it changes.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
gpu=.gpu
attention='^(attention|latent|mla|mma_[0-9]|mma_bias|dot_decode|b?f16|lens_range)'
wgmma='tensor-core-attention-wgmma=true tensor-core-latent-wgmma=true'
# name;--only;--pipeline-options (the regexes hold '|')
suites=(
  "suite;;"
  "fused;^moe;fuse-moe=true"
  "wgmma;$attention;$wgmma"
  "wgmmapv;$attention;$wgmma tensor-core-wgmma-values=true"
  "m192;^(mma_(?!bias)[a-z]|moe);tensor-core-wgmma-tile-m=192"
)

prepare() {
  local build=${1:-build} python=/usr/bin/python3
  rm -rf "$gpu"
  mkdir -p "$gpu"
  cp "$build/bin/tessera-gpu-launch" "$gpu/"
  # --in-process: the tessera package compiles (no process per case).
  export PYTHONPATH="$root/$build/python_packages${PYTHONPATH:+:$PYTHONPATH}"
  local entry name only options
  for entry in "${suites[@]}"; do
    IFS=';' read -r name only options <<<"$entry"
    "$python" test/GPU/gpu_suite.py prepare --in-process --build "$build" \
      --out "$gpu/$name" --chip sm_90a --inputs-on-device \
      ${only:+--only "$only"} ${options:+--pipeline-options "$options"} |
      tail -1
  done
  "$python" bench/gpu/bench_gpu.py prepare --build "$build" --out "$gpu/bench" |
    tail -1
  du -sh "$gpu"
}

execute() {
  local out=$1 what=${2:-all} status=0 entry name only options
  case "$what" in
  all | suites | bench) ;;
  *)
    echo "gpu-session.sh: execute runs 'suites', 'bench' or 'all', not '$what'" >&2
    return 2
    ;;
  esac
  mkdir -p "$out"
  if [ "$what" = all ] || [ "$what" = suites ]; then
    for entry in "${suites[@]}"; do
      IFS=';' read -r name only options <<<"$entry"
      python3 test/GPU/gpu_suite.py execute --dir "$gpu/$name" \
        --launcher "$gpu/tessera-gpu-launch" >"$out/$name.log" 2>&1 ||
        status=1
      echo "$name: $(tail -1 "$out/$name.log")"
    done
  fi
  if [ "$what" = all ] || [ "$what" = bench ]; then
    python3 bench/gpu/bench_gpu.py execute --dir "$gpu/bench" \
      --launcher "$gpu/tessera-gpu-launch" --runs 10 \
      --json "$out/bench.json" 2>&1 | tee "$out/bench.log" || status=1
  fi
  return $status
}

case "${1:-}" in
prepare)
  shift
  prepare "$@"
  ;;
execute)
  shift
  [ $# -ge 1 ] || {
    echo "usage: $0 execute OUT [suites|bench|all]" >&2
    exit 2
  }
  execute "$@"
  ;;
*)
  echo "usage: $0 prepare [BUILD] | execute OUT [suites|bench|all]" >&2
  exit 2
  ;;
esac
