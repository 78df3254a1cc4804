//===- Compiler.h - Tessera ahead-of-time compiler --------------*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The embeddable driver behind `tessera-compile`: a module of tessera (or any
// upstream) ops on tensors in, an artifact out. One call runs, in order:
//
//   1. `llvm.emit_c_interface` on every public `func.func` with a body, so the
//      artifact exposes `_mlir_ciface_<name>` (docs/ABI.md);
//   2. the pass pipeline: `tessera-cpu-pipeline` with `pipelineOptions`, or
//      the textual `passPipeline` instead;
//   3. for `llvm`, `asm` and `obj`: translation to LLVM IR, LLVM's O3
//      pipeline for the chosen CPU, and code generation (position-independent
//      code, so the object links into PIE executables and shared libraries).
//
// Every failure is an `llvm::Error` with a one-line message; diagnostics of
// the pass pipeline go to the context's diagnostic handler first.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_COMPILER_COMPILER_H
#define TESSERA_COMPILER_COMPILER_H

#include "mlir/Support/LLVM.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <string>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace mlir {
class DialectRegistry;
class ModuleOp;
class PassManager;
class TimingScope;

namespace tessera {

/// The targets `tessera-compile` knows by name.
enum class CompileTarget { CPU, NVPTX, AMDGPU };

/// What the compiler writes.
enum class EmitKind {
  /// The module after the pass pipeline (LLVM dialect by default), as text.
  MLIR,
  /// LLVM IR text after LLVM's O3 pipeline.
  LLVMIR,
  /// Target assembly.
  Assembly,
  /// A relocatable object file (ELF on Linux).
  Object,
  /// NVPTX: the kernels' PTX text.
  PTX,
  /// NVPTX: the kernels assembled by ptxas (needs the CUDA toolkit).
  Cubin,
  /// AMDGPU: the kernels' code object, linked by lld.
  HSACO,
  /// GPU targets: the runtime's self-contained artifact, a launch manifest
  /// plus the device image (cubin when ptxas is found, else PTX; HSACO).
  Artifact,
};

/// Parses `cpu`, `nvptx` or `amdgpu`; anything else is an error.
llvm::Expected<CompileTarget> parseCompileTarget(StringRef name);

/// Parses `mlir`, `llvm`, `asm`, `obj`, `ptx`, `cubin`, `hsaco` or
/// `artifact`; anything else is an error.
llvm::Expected<EmitKind> parseEmitKind(StringRef name);

/// The name `parseCompileTarget` accepts for `target`.
StringRef stringifyCompileTarget(CompileTarget target);

struct CompilerOptions {
  CompileTarget target = CompileTarget::CPU;
  /// LLVM name of the CPU to optimize and generate code for (`znver4`,
  /// `x86-64-v3`, `skylake-avx512`, ...). `native` is the host CPU with the
  /// features the host reports.
  std::string cpu = "native";
  EmitKind emit = EmitKind::Object;
  /// GPU targets: the architecture (sm_80, sm_90, sm_90a, gfx90a, gfx942).
  /// Empty: the target's default (sm_90, gfx942). Pipeline options that name
  /// a chip take precedence.
  std::string chip;
  /// GPU targets: the CUDA toolkit (ptxas, libdevice) or the directory of
  /// ROCm's device libraries. Empty: CUDA_ROOT, CUDA_HOME, CUDA_PATH, then
  /// /usr/local/cuda; ROCM_PATH, then /opt/rocm and
  /// /usr/lib/x86_64-linux-gnu (rocm-device-libs).
  std::string toolkitPath;
  /// A textual pass pipeline anchored on the module, as for `mlir-opt
  /// --pass-pipeline` (`builtin.module(tessera-cpu-pipeline{reference=1})`).
  /// Empty: the target's pipeline (`tessera-cpu-pipeline`,
  /// `tessera-nvptx-pipeline`, `tessera-amdgpu-pipeline`) with
  /// `pipelineOptions`. For anything but
  /// `EmitKind::MLIR` the pipeline must end in the LLVM dialect.
  std::string passPipeline;
  /// Options of the default pipeline, in its option syntax
  /// (`reference=true attention-q-block=32`). Must be empty when
  /// `passPipeline` is set.
  std::string pipelineOptions;
  /// Called on the pass manager before the pipeline is added, e.g. with
  /// `applyPassManagerCLOptions` for `--mlir-print-ir-after-all`.
  std::function<LogicalResult(PassManager &)> configurePassManager;
};

/// Checks the options that do not depend on the input (target, CPU name,
/// pipeline text and options), so a tool can reject them before parsing.
llvm::Error verifyCompilerOptions(const CompilerOptions &options);

/// Compiles `module` in place (it is left in the state after the pass
/// pipeline) and writes the artifact to `os`. Timing of the pipeline and of
/// the LLVM stages nests under `timing`.
llvm::Error compileModule(ModuleOp module, const CompilerOptions &options,
                          raw_ostream &os, TimingScope &timing);
llvm::Error compileModule(ModuleOp module, const CompilerOptions &options,
                          raw_ostream &os);

/// Registers what `compileModule` needs in a context that only knows the
/// input's dialects: the pipeline's dialects and interface models and the
/// translations to LLVM IR.
void registerCompilerDialects(DialectRegistry &registry);

} // namespace tessera
} // namespace mlir

#endif // TESSERA_COMPILER_COMPILER_H
