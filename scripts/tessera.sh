#!/usr/bin/env bash
# Sets up a Debian 12 machine for Tessera, builds it, and runs either the
# sample workloads or the whole test suite.
#
#   scripts/tessera.sh demo    build, then compile and run a sample MoE layer
#                              and a GQA causal attention on the CPU
#   scripts/tessera.sh test    build, then run the lit and GoogleTest suites;
#                              then the sanitizer stage: an ASan + UBSan +
#                              libFuzzer build that runs the GoogleTests, the
#                              lit tests but the Integration sweeps, and a
#                              short fuzzing run (docs/Fuzzing.md)
#   scripts/tessera.sh build   set up and build only
#
# Missing Debian packages are installed with apt-get (as root, or via sudo).
# TESSERA_BUILD_DIR overrides the build directory (default: ./build),
# TESSERA_SANITIZE_BUILD_DIR the sanitizer build (default: ./build-sanitize);
# TESSERA_SANITIZE=0 skips the sanitizer stage, TESSERA_SANITIZE=full runs
# the whole lit suite in it; TESSERA_FUZZ_SECONDS sets its fuzzing time per
# target (default 30).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${TESSERA_BUILD_DIR:-$root/build}
sanitize_build=${TESSERA_SANITIZE_BUILD_DIR:-$root/build-sanitize}
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

# summarize LOG STATUS LABEL: one closing line with the totals of a log of
# lit runs ("LABEL: N passed, M failed").
summarize() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
passed = sum(int(n) for n in re.findall(r"^\s*Passed\s*:\s*(\d+)", text, re.M))
failed = sum(int(n) for n in re.findall(r"^\s*(?:Failed|Unresolved|Timed Out|Unexpectedly Passed)\s*:\s*(\d+)", text, re.M))
if int(sys.argv[2]) != 0 and failed == 0:
    failed = 1  # the build or lit itself failed
print(f"{sys.argv[3]}: {passed} passed, {failed} failed")
PY
}

run_tests() {
  local log="$build/check-tessera.log" status=0
  ninja -C "$build" check-tessera 2>&1 | tee "$log" || status=$?
  summarize "$log" "$status" tessera
  return "$status"
}

# The sanitizer stage: an ASan + UBSan build whose fuzz targets are
# libFuzzer binaries (-O1, as ASan recommends). It runs the GoogleTests and
# every lit test but the CPU execution sweeps of test/Integration and the
# emulated GPU suite: the tools (the GPU emulator's own tests among them),
# passes, pipelines, targets and APIs, the fuzzing smoke run, the
# hostile-input sweep, the Python tests (ASan runtime preloaded), the
# numerics guard and the GPU compile sweep. Integration ran clean under the
# sanitizers too (docs/Fuzzing.md) but takes 19 minutes there on CI's two
# cores; TESSERA_SANITIZE=full runs it as well. The build is configured on
# every run, so that an existing build directory gets these settings.
run_sanitizer_stage() {
  local log="$sanitize_build/check-tessera.log" status=0 filter=()
  # The default stage: no Integration sweeps or emulated GPU suite, every
  # third case of the GPU compile sweep (CI's time budget); full:
  # everything.
  [ "${TESSERA_SANITIZE:-1}" = full ] ||
    filter=(--filter-out ':: (Integration/|GPU/emulated-)'
            --param gpu_suite_sample=3)
  mkdir -p "$sanitize_build"
  {
    cmake -G Ninja -S "$root" -B "$sanitize_build" \
      -DCMAKE_BUILD_TYPE=Release \
      "-DCMAKE_C_FLAGS_RELEASE=-O1 -DNDEBUG" \
      "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG" \
      -DMLIR_DIR="$llvm/lib/cmake/mlir" \
      -DLLVM_EXTERNAL_LIT="$llvm/bin/lit" \
      -DLLVM_USE_SANITIZER="Address;Undefined" \
      -DLLVM_USE_SANITIZE_COVERAGE=ON >/dev/null &&
      ninja -C "$sanitize_build" all TesseraUnitTests mlir-doc &&
      "$llvm/bin/lit" -sv "$sanitize_build/test/Unit" &&
      TESSERA_FUZZ_SECONDS=${TESSERA_FUZZ_SECONDS:-30} \
        "$llvm/bin/lit" -sv "${filter[@]}" "$sanitize_build/test"
  } 2>&1 | tee "$log" || status=$?
  summarize "$log" "$status" "tessera (ASan+UBSan)"
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
    status=0
    run_tests || status=$?
    if [ "${TESSERA_SANITIZE:-1}" != 0 ]; then
      run_sanitizer_stage || status=$?
    fi
    exit "$status"
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
