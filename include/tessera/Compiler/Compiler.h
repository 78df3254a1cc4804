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
// `Compiler` (below) wraps these stages for embedding: its own context or
// the caller's, parse, textual pipelines, artifacts in memory, JIT-compiled
// CPU functions, the IR after each pass, and every diagnostic returned to
// the caller instead of printed (docs/embedding.md).
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_COMPILER_COMPILER_H
#define TESSERA_COMPILER_COMPILER_H

#include "tessera/Runtime/CPURunner.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace llvm {
class raw_ostream;
class SourceMgr;
} // namespace llvm

namespace mlir {
class DialectRegistry;
class MLIRContext;
class PassManager;
class TimingScope;

namespace tessera {
struct TesseraCPUPipelineOptions;

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

/// Tile sizes of the default pipelines; 0 keeps the pipeline's default. Each
/// sets one option of the target's pipeline, which must not also be set in
/// `CompilerOptions::pipelineOptions`.
struct TileSizes {
  /// Query rows per attention tile: `attention-q-block` (CPU),
  /// `tensor-core-q-block` (GPU targets).
  int64_t attentionQueryBlock = 0;
  /// Keys per attention tile: `attention-kv-block` (CPU only).
  int64_t attentionKVBlock = 0;
  /// Output columns per grouped-GEMM tile: `moe-column-block` (CPU),
  /// `tensor-core-tile-n` (GPU targets).
  int64_t moeColumnBlock = 0;
  /// Reduction depth per grouped-GEMM tile: `moe-k-block` (CPU only).
  int64_t moeKBlock = 0;
};

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
  /// CPU: threads of the parallel loops (`threads` of tessera-cpu-pipeline:
  /// 1 = no OpenMP). 0 keeps the pipeline's default, all cores.
  unsigned threads = 0;
  TileSizes tileSizes;
  /// Called on the pass manager before the pipeline is added, e.g. with
  /// `applyPassManagerCLOptions` for `--mlir-print-ir-after-all`.
  std::function<LogicalResult(PassManager &)> configurePassManager;
};

/// Checks the options that do not depend on the input (target, CPU name,
/// pipeline text and options), so a tool can reject them before parsing.
llvm::Error verifyCompilerOptions(const CompilerOptions &options);

/// The message of a pass pipeline parser error (`parsePassPipeline`'s error
/// stream) without its location, source line and caret, which do not fit a
/// one-line message.
StringRef getPipelineParserMessage(StringRef text);

/// The options of tessera-cpu-pipeline that `options` ask for: its pipeline
/// options with the CPU, thread count and tile sizes.
llvm::Expected<std::unique_ptr<TesseraCPUPipelineOptions>>
getCPUPipelineOptions(const CompilerOptions &options);

/// Compiles `module` in place (it is left in the state after the pass
/// pipeline) and writes the artifact to `os`. Timing of the pipeline and of
/// the LLVM stages nests under `timing`.
llvm::Error compileModule(ModuleOp module, const CompilerOptions &options,
                          raw_ostream &os, TimingScope &timing);
llvm::Error compileModule(ModuleOp module, const CompilerOptions &options,
                          raw_ostream &os);

/// GPU targets: runs the target's pipeline on `module` in place up to the
/// kernels' lowering (its `stop-before-kernel-lowering` option), the form
/// that tessera-gpu-emulate runs (tessera/Target/GPU/Emulator.h). The emit
/// kind is ignored.
llvm::Error lowerForGPUEmulation(ModuleOp module,
                                 const CompilerOptions &options);

/// Registers what `compileModule` needs in a context that only knows the
/// input's dialects: the pipeline's dialects and interface models and the
/// translations to LLVM IR.
void registerCompilerDialects(DialectRegistry &registry);

/// Registers every upstream pass, the tessera passes and the tessera
/// pipelines in the global pass registry, for textual pipelines. Idempotent
/// and thread-safe; every Compiler calls it.
void registerCompilerPasses();

//===----------------------------------------------------------------------===//
// The embedding API
//===----------------------------------------------------------------------===//

/// One diagnostic reported while the compiler worked (an MLIR diagnostic,
/// or a failure outside the IR such as an invalid option).
struct CompilerDiagnostic {
  DiagnosticSeverity severity;
  /// `file:line:col` of the diagnostic; empty when it has no file location.
  std::string location;
  /// The message, without location, severity or notes.
  std::string message;
  /// As `tessera-opt` prints it: location, severity and message, the source
  /// line with a caret where the source is known, then the notes.
  std::string rendered;
  /// Set for a failure outside the IR (an invalid option, a file that cannot
  /// be read, a missing toolkit); such a diagnostic has no location.
  bool outsideIR = false;
};

/// The IR after one pass, for `Compiler::setCaptureStages`.
struct CompilerStage {
  /// The pass's flag (`tessera-tile-attention`), or its name if it has none.
  std::string pass;
  /// The whole module after the pass, as text.
  std::string ir;
};

/// An artifact in memory.
struct CompilerArtifact {
  CompileTarget target;
  EmitKind kind;
  /// The bytes a tool would write: text for mlir, llvm, asm, ptx; an ELF
  /// object, cubin or code object for obj, cubin, hsaco; the runtime's
  /// artifact for artifact.
  std::string bytes;
};

/// The compiler as a library: options in, then any number of parses,
/// pipelines, compilations and JIT loads. Every diagnostic is recorded and
/// returned to the caller (getDiagnostics()); nothing is printed and no
/// failure aborts. Each failing call returns an error whose message is the
/// first error it reported, as a single line.
///
///   Compiler compiler(options);
///   auto module = compiler.parse(source);
///   if (!module) { for (auto &d : compiler.getDiagnostics()) ...; }
///   auto object = compiler.compile(**module);        // options.emit
///   auto function = compiler.load(**module, "moe");  // CPU, JIT
///
/// A Compiler is not thread-safe; use one per thread.
class Compiler {
public:
  /// A compiler with its own context, which knows every upstream dialect,
  /// the tessera dialect and what the pipelines need.
  explicit Compiler(CompilerOptions options = {});
  /// A compiler on the caller's `context`; the dialects and translations the
  /// pipelines need are appended to its registry. Diagnostics of the context
  /// are recorded only during the compiler's calls.
  Compiler(MLIRContext &context, CompilerOptions options = {});
  ~Compiler();
  Compiler(const Compiler &) = delete;
  Compiler &operator=(const Compiler &) = delete;

  MLIRContext &getContext() { return *context; }
  const CompilerOptions &getOptions() const { return options; }
  /// Checks the options that do not depend on the input.
  llvm::Error verifyOptions();

  /// Records the IR after every pass of the following pipelines
  /// (getStages()), from the first pass on. Runs the pass manager on one
  /// thread while enabled.
  void setCaptureStages(bool enable) { captureStages = enable; }
  /// The IR after each pass of the last pipeline that ran with capture on.
  ArrayRef<CompilerStage> getStages() const { return stages; }

  /// Everything reported since the last clearDiagnostics().
  ArrayRef<CompilerDiagnostic> getDiagnostics() const { return diagnostics; }
  void clearDiagnostics() { diagnostics.clear(); }

  /// Parses and verifies MLIR source text; `bufferName` names it in
  /// diagnostics. The compiler keeps the text so that later diagnostics can
  /// show source lines.
  llvm::Expected<OwningOpRef<ModuleOp>> parse(StringRef source,
                                              StringRef bufferName = "-");
  /// Reads and parses a file (`-` is stdin).
  llvm::Expected<OwningOpRef<ModuleOp>> parseFile(StringRef fileName);

  /// Runs a textual pass pipeline on `module`, as `tessera-opt
  /// --pass-pipeline` would (`builtin.module(tessera-tile-attention)`).
  llvm::Error runPipeline(ModuleOp module, StringRef pipeline);

  /// Compiles `module` in place with the options' target, pipeline and emit
  /// kind (see compileModule) into an artifact in memory.
  llvm::Expected<CompilerArtifact> compile(ModuleOp module);
  llvm::Expected<CompilerArtifact> compile(ModuleOp module,
                                           TimingScope &timing);

  /// CPU target: lowers a copy of `module` with the default CPU pipeline
  /// (options' pipeline options, threads and tile sizes; code generation for
  /// the host) and JIT-compiles `entry` into a function that can be called
  /// on host tensors. `module` itself is not changed.
  llvm::Expected<std::unique_ptr<CompiledEntry>> load(ModuleOp module,
                                                      StringRef entry);

private:
  class DiagnosticRecorder;

  /// Runs `body` with diagnostics recorded and the compiler's pass manager
  /// configuration in place; a failure becomes a one-line error and, unless
  /// it came from a diagnostic, a diagnostic of its own.
  llvm::Error record(llvm::function_ref<llvm::Error()> body);
  /// The options as given, with the pass manager configured for capture.
  CompilerOptions getEffectiveOptions();

  std::unique_ptr<MLIRContext> ownedContext;
  MLIRContext *context;
  CompilerOptions options;
  bool captureStages = false;
  std::vector<CompilerStage> stages;
  std::vector<CompilerDiagnostic> diagnostics;
  /// The sources parsed so far, for the source lines of diagnostics.
  std::unique_ptr<llvm::SourceMgr> sourceMgr;
};

} // namespace tessera
} // namespace mlir

#endif // TESSERA_COMPILER_COMPILER_H
