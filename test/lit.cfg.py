# -*- Python -*-
# lit configuration of the Tessera test suite.

import os
import platform
import shutil
import subprocess

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "TESSERA"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test", ".c"]
config.excludes = ["Inputs", "Unit", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py",
                   "reference.py", "check.py", "gpu_suite.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.tessera_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# Execution tests compute their expected values with numpy, independently of
# the code under test. Debian's /usr/bin/python3 carries python3-numpy; an
# interpreter found earlier on PATH may not.
def find_numpy_python():
    for candidate in ["/usr/bin/python3", config.python_executable, "python3"]:
        exe = shutil.which(candidate) if candidate else None
        if not exe:
            continue
        if subprocess.call([exe, "-c", "import numpy"],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL) == 0:
            return exe
    return None

numpy_python = find_numpy_python()
if not numpy_python:
    # Never skip the execution tests silently: they are the proof of
    # correctness. scripts/setup.sh installs python3-numpy.
    lit_config.fatal("no python3 with numpy found (apt-get install python3-numpy)")
config.substitutions.append(("%numpy_python", numpy_python))
# %clangxx builds C++ programs around tessera-compile objects; they link
# runtime libraries (libmlir_c_runner_utils, libomp) from %llvm_lib_dir.
config.substitutions.append(
    ("%clangxx", shutil.which("clang++-22") or "/usr/bin/clang++-22"))
config.substitutions.append(
    ("%llvm_lib_dir", os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")))
config.substitutions.append(("%tessera_obj_root", config.tessera_obj_root))
# The AMD chip of the ROCm execution test (execution-rocm.test).
config.substitutions.append(
    ("%amdgpu_chip", os.environ.get("TESSERA_TEST_AMDGPU_CHIP", "gfx942")))
config.substitutions.append(
    ("%tessera_src_root", os.path.dirname(config.test_source_root)))
integration_dir = os.path.join(config.test_source_root, "Integration")
config.substitutions.append(("%integration_dir", integration_dir))
# %check FILE WORKDIR CASE: run one execution case (test/Integration/check.py).
config.substitutions.append(
    ("%check", "%s %s --tessera-run=%s" % (
        numpy_python, os.path.join(integration_dir, "check.py"),
        os.path.join(config.tessera_tools_dir, "tessera-run"))))

# ASan's options in the tests (-DLLVM_USE_SANITIZER=Address...).
#
# allow_user_poisoning=0 and allocator_may_return_null=1: the defaults that
# lib/Support/SanitizerOptions.cpp compiles into Tessera's executables, here
# for the processes that do not have them (python3).
#
# quarantine_size_mb=16 (default 256): freed memory is reused after 16 MiB
# of later frees instead of 256. A use after free is still caught while the
# memory has not been reused; with the default quarantine every
# JIT-compiling process kept touching fresh pages for the allocations of
# libLLVM/libMLIR (not instrumented, but allocating through ASan): a tiled
# case took 3.5 s instead of 1.9 s, test/Integration 28 minutes instead of
# 19 (docs/Fuzzing.md).
asan_options = ("allow_user_poisoning=0:allocator_may_return_null=1:"
                "quarantine_size_mb=16")


def find_asan_runtime():
    """The shared ASan runtime of the compiler that built Tessera, or None."""
    name = "libclang_rt.asan-%s.so" % platform.machine()
    try:
        path = subprocess.run(
            [config.tessera_cxx_compiler, "-print-file-name=" + name],
            capture_output=True, text=True).stdout.strip()
    except OSError:
        return None
    return path if os.path.isabs(path) and os.path.exists(path) else None


# `%{sanitizer_python_env}`: the environment (for `env`) in which the system
# python3 loads an extension of this build. Empty but in an ASan build,
# where python3 (not instrumented) needs the ASan runtime that the
# extension expects preloaded (the tools link it statically instead).
# LeakSanitizer is off in these processes: at exit CPython and PyTorch hold
# allocations they never free; the compiler library's leaks are checked by
# the C API test.
python_sanitizer_env = ""
if "Address" in config.tessera_sanitizer:
    asan_runtime = find_asan_runtime()
    if asan_runtime:
        python_sanitizer_env = "LD_PRELOAD=%s ASAN_OPTIONS=%s:detect_leaks=0" % (
            asan_runtime, asan_options)
    else:
        python_sanitizer_env = None
        lit_config.warning(
            "the ASan runtime of %s was not found: the Python tests will not "
            "run" % config.tessera_cxx_compiler)

# `%{package_python}`: numpy's python3, with this build's `tessera` package
# importable where the build has the Python bindings (below); then
# `%{in_process}` is `--in-process`, the flag with which the drivers of the
# generated tests (compare_tiled.py, gpu_suite.py prepare) compile and run
# through the package instead of one tool process per case.
package_python, in_process_flag = numpy_python, ""

# The Python package (TESSERA_ENABLE_PYTHON): `%tessera_python` runs the system
# python3 with the package of this build on its path (`%python`, from lit,
# is the interpreter that runs lit).
if (config.tessera_python_enabled.upper() in ("ON", "1", "TRUE", "YES") and
        python_sanitizer_env is not None):
    python_path = "PYTHONPATH=" + os.path.join(config.tessera_obj_root,
                                               "python_packages")
    config.available_features.add("python-bindings")
    # `%tessera_python_no_preload` (before `%tessera_python`, whose name it
    # extends) tests the package's advice in an ASan build.
    config.substitutions.append(
        ("%tessera_python_no_preload",
         "env %s %s" % (python_path, config.python_executable)))
    config.substitutions.append(
        ("%tessera_python", "env %s %s %s" % (
            python_sanitizer_env, python_path, config.python_executable)))
    config.substitutions.append(
        ("%{sanitizer_python_env}", python_sanitizer_env))
    package_python = "env %s %s %s" % (
        python_sanitizer_env, python_path, numpy_python)
    in_process_flag = "--in-process"
    # The PyTorch example's test: Debian's python3-torch (scripts/tessera.sh
    # test installs it).
    if subprocess.run([config.python_executable, "-c", "import torch"],
                      stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode == 0:
        config.available_features.add("torch")
config.substitutions.append(("%{package_python}", package_python))
config.substitutions.append(("%{in_process}", in_process_flag))
# `%compare_tiled`: test/Integration/Inputs/compare_tiled.py, in-process
# where it can be (a third less time than a tessera-run per run).
config.substitutions.append(
    ("%compare_tiled", "%s %s --tessera-run=%s %s" % (
        package_python,
        os.path.join(integration_dir, "Inputs", "compare_tiled.py"),
        os.path.join(config.tessera_tools_dir, "tessera-run"),
        in_process_flag)))

# Sanitized builds (-DLLVM_USE_SANITIZER=...): `asan`, `ubsan`; libFuzzer
# binaries (-DLLVM_USE_SANITIZE_COVERAGE=ON): `libfuzzer`, for the fuzzing
# smoke run. Otherwise the fuzz targets only replay the files they are given.
if "Address" in config.tessera_sanitizer:
    config.available_features.add("asan")
    # The options above: why, where asan_options is set.
    config.environment["ASAN_OPTIONS"] = asan_options
if "Undefined" in config.tessera_sanitizer:
    config.available_features.add("ubsan")
# `--param gpu_suite_sample=N`: the GPU compile sweep (compile-amdgpu.test)
# compiles every Nth case only; scripts/tessera.sh's sanitizer stage sets 3
# to fit CI's time budget (its full stage, 1: every case).
gpu_suite_sample = int(lit_config.params.get("gpu_suite_sample", "1"))
config.substitutions.append(
    ("%{gpu_suite_sample}",
     "--sample %d" % gpu_suite_sample if gpu_suite_sample > 1 else ""))
if config.tessera_sanitize_coverage.upper() in ("ON", "1", "TRUE", "YES"):
    config.available_features.add("libfuzzer")
config.substitutions.append(
    ("%{fuzz_options}",
     "-max_total_time=%s -timeout=30 -rss_limit_mb=4096 -print_final_stats=1"
     % os.environ.get("TESSERA_FUZZ_SECONDS", "60")))

tool_dirs = [config.tessera_tools_dir, config.llvm_tools_dir]
tools = ["tessera-opt", "tessera-run", "tessera-compile", "tessera-gpu-launch",
         "tessera-gpu-emulate",
         "tessera-capi-test", "tessera-npy-fuzzer", "tessera-parse-fuzzer",
         "tessera-pipeline-fuzzer"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# GPU features. `ptxas`: the CUDA toolkit (ptxas and libdevice) that
# tessera-compile finds by itself (CUDA_ROOT, CUDA_HOME, CUDA_PATH or
# /usr/local/cuda); PTX is then assembled and math linked. `cuda-gpu`: a
# CUDA device that tessera-gpu-launch can open. Neither exists in CI.
def find_cuda_root():
    for candidate in [os.environ.get("CUDA_ROOT"), os.environ.get("CUDA_HOME"),
                      os.environ.get("CUDA_PATH"), "/usr/local/cuda"]:
        if candidate and os.path.exists(
                os.path.join(candidate, "nvvm", "libdevice", "libdevice.10.bc")):
            return candidate
    return None

cuda_root = find_cuda_root()
if cuda_root and os.access(os.path.join(cuda_root, "bin", "ptxas"), os.X_OK):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", os.path.join(cuda_root, "bin", "ptxas")))
# `rocm-gpu`: the same for a HIP device.
launcher = os.path.join(config.tessera_tools_dir, "tessera-gpu-launch")
for platform, feature in [("cuda", "cuda-gpu"), ("hip", "rocm-gpu")]:
    if os.path.exists(launcher) and subprocess.call(
            [launcher, "--list-devices", f"--platform={platform}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:
        config.available_features.add(feature)

# `rocm-device-libs`: ocml and the oclc control files (Debian's
# rocm-device-libs, which scripts/tessera.sh installs), for AMDGPU math.
if any(os.path.exists(os.path.join(d, "amdgcn", "bitcode", "ocml.bc"))
       for d in [os.environ.get("ROCM_PATH", ""), "/opt/rocm",
                 "/usr/lib/x86_64-linux-gnu"] if d):
    config.available_features.add("rocm-device-libs")

# `avx512bf16`: the host runs AVX512-BF16 dot products (vdpbf16ps), which
# tessera-tile-grouped-matmul's bf16-dot kernels use.
def host_cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()

if "avx512_bf16" in host_cpu_flags():
    config.available_features.add("avx512bf16")
