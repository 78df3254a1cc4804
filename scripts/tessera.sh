#!/usr/bin/env bash
# Sets up a Debian 12 machine for Tessera, builds it, and runs either the
# sample workloads or the whole test suite.
#
#   scripts/tessera.sh demo    build, then compile and run a sample MoE layer
#                              and a GQA causal attention on the CPU
#   scripts/tessera.sh test    build, then run the lit and GoogleTest suites
#   scripts/tessera.sh build   set up and build only
#
# Missing Debian packages are installed with apt-get (as root, or via sudo).
# TESSERA_BUILD_DIR overrides the build directory (default: ./build).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${TESSERA_BUILD_DIR:-$root/build}
llvm=/usr/lib/llvm-22

packages=(cmake ninja-build ccache python3 python3-numpy llvm-22 llvm-22-dev
          llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 lld-22
          libgtest-dev libomp-22-dev rocm-device-libs python3-dev pybind11-dev
          libclang-rt-22-dev)
# Only the test suite needs these: PyTorch for the PyTorch example's test
# (without its recommends: no GUI or video stack).
test_packages=(python3-torch)

# install_missing_packages [--no-install-recommends] PACKAGE...
install_missing_packages() {
  local missing=() options=() p
  if [ "${1:-}" = --no-install-recommends ]; then
    options=(--no-install-recommends)
    shift
  fi
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "tessera: installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${options[@]}" "${missing[@]}"
}

configure_and_build() {
  if [ ! -f "$build/build.ninja" ]; then
    cmake -G Ninja -S "$root" -B "$build" \
      -DCMAKE_BUILD_TYPE=Release \
      -DMLIR_DIR="$llvm/lib/cmake/mlir" \
      -DLLVM_EXTERNAL_LIT="$llvm/bin/lit"
  fi
  ninja -C "$build" all TesseraUnitTests
}

run_tests() {
  local log="$build/check-tessera.log" status=0
  ninja -C "$build" check-tessera 2>&1 | tee "$log" || status=$?
  # One closing line for CI: the totals of both lit suites.
  /usr/bin/python3 - "$log" "$status" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
passed = sum(int(n) for n in re.findall(r"^\s*Passed\s*:\s*(\d+)", text, re.M))
failed = sum(int(n) for n in re.findall(r"^\s*(?:Failed|Unresolved|Timed Out|Unexpectedly Passed)\s*:\s*(\d+)", text, re.M))
if int(sys.argv[2]) != 0 and failed == 0:
    failed = 1  # the build or lit itself failed
print(f"tessera: {passed} passed, {failed} failed")
PY
  return "$status"
}

command=${1:-}
case "$command" in
  demo)
    install_missing_packages "${packages[@]}"
    configure_and_build
    /usr/bin/python3 "$root/examples/run_examples.py" --build "$build"
    ;;
  test)
    install_missing_packages "${packages[@]}"
    install_missing_packages --no-install-recommends "${test_packages[@]}"
    configure_and_build
    run_tests
    ;;
  build)
    install_missing_packages "${packages[@]}"
    configure_and_build
    ;;
  *)
    echo "usage: $0 demo|test|build" >&2
    exit 2
    ;;
esac
