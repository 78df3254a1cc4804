#!/usr/bin/env bash
# Tessera benchmarks: probes, peers (numpy, PyTorch, oneDNN) and Tessera side
# by side in one run, one table (see docs/performance.md).
#
#   bash bench/run.sh [--quick] [--build DIR] [--threads N] [--no-install]
#                     [--no-doc] [-- extra bench.py options, e.g. --only REGEX]
#
#   --quick       smoke test: 3 repetitions, Tessera rows capped at 20 s,
#                 results to bench/.out/results-quick.md (docs untouched)
#   --build DIR   Tessera build directory holding bin/tessera-run (default
#                 ./build); configured and built (tessera-run only) if missing
#   --threads N   threads for every implementation (default 2)
#   --no-install  do not apt-get missing packages
#   --no-doc      do not update docs/performance.md
#
# Not part of the default build or of `scripts/tessera.sh test` (CI).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="$ROOT/build"
QUICK=()
THREADS=2
INSTALL=1
EXTRA=()
COMMAND="bash bench/run.sh $*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=(--quick) ;;
    --build) BUILD="$(realpath -m "$2")"; shift ;;
    --build=*) BUILD="$(realpath -m "${1#--build=}")" ;;
    --threads) THREADS="$2"; shift ;;
    --threads=*) THREADS="${1#--threads=}" ;;
    --no-install) INSTALL=0 ;;
    --no-doc) EXTRA+=(--no-doc) ;;
    --) shift; EXTRA+=("$@"); break ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "[bench] $*" >&2; }

# 1. Debian packages of the peers and probes.
PKGS=(clang-22 libdnnl-dev python3-numpy python3-torch libjemalloc2 libopenblas0)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $INSTALL -eq 1 ]]; then
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    say "installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
  else
    say "missing packages (rows that need them will fail): ${missing[*]}"
  fi
fi

# 2. Probes and the oneDNN peer (not part of the CMake build).
OUT="$ROOT/bench/.out"
mkdir -p "$OUT/bin"
CXX="${CXX:-clang++-22}"
CXXFLAGS=(-O3 -march=native -std=c++17 -pthread)
build_cxx() { # output source libs...
  local out="$1" src="$2"; shift 2
  if [[ ! -x "$out" || "$src" -nt "$out" ]]; then
    say "compiling $(basename "$src")"
    "$CXX" "${CXXFLAGS[@]}" "$src" -o "$out" "$@"
  fi
}
build_cxx "$OUT/bin/peak" bench/probes/peak.cpp
build_cxx "$OUT/bin/onednn_experts" bench/peers/onednn_experts.cpp -ldnnl

# 3. tessera-run.
TRUN="$BUILD/bin/tessera-run"
if [[ ! -x "$TRUN" ]]; then
  say "building tessera-run in $BUILD"
  if [[ ! -f "$BUILD/build.ninja" ]]; then
    cmake -G Ninja -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
      -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
      -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit >&2
  fi
  ninja -C "$BUILD" tessera-run >&2 || say "tessera-run did not build: Tessera rows will be empty"
fi

# 4. One run, one table.
exec /usr/bin/python3 "$ROOT/bench/bench.py" --bin-dir "$OUT/bin" \
  --tessera-run "$TRUN" --threads "$THREADS" --command "$COMMAND" \
  "${QUICK[@]}" "${EXTRA[@]}"
