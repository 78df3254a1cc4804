//===-- tessera-c/Compiler.h - The compiler as a C library --------*- C -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The stages of tessera::Compiler (tessera/Compiler/Compiler.h) in the style
// of the MLIR C API: opaque handles created and destroyed in pairs, strings
// as MlirStringRef (not null-terminated; valid until the object that owns
// them changes), success and failure as MlirLogicalResult, and the reasons of
// a failure in the compiler's diagnostics, never on stderr.
//
//   TesseraCompilerOptions options = tesseraCompilerOptionsCreate();
//   tesseraCompilerOptionsSetThreads(options, 2);
//   TesseraCompiler compiler = tesseraCompilerCreate(options);
//   tesseraCompilerOptionsDestroy(options);
//   MlirModule module = tesseraCompilerParse(compiler, source, name);
//   TesseraFunction f = tesseraCompilerLoad(compiler, module, entry);
//   tesseraFunctionCall(f, arguments, numArguments, results);
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_C_COMPILER_H
#define TESSERA_C_COMPILER_H

#include "mlir-c/Diagnostics.h"
#include "mlir-c/IR.h"
#include "mlir-c/Support.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DEFINE_C_API_STRUCT(name, storage)                                     \
  struct name {                                                                \
    storage *ptr;                                                              \
  };                                                                           \
  typedef struct name name

/// What to compile for and how: target, emit kind, CPU, chip, pipeline.
DEFINE_C_API_STRUCT(TesseraCompilerOptions, void);
/// A compiler: a context, its options and its diagnostics.
DEFINE_C_API_STRUCT(TesseraCompiler, void);
/// Compiled bytes in memory (an object file, PTX, a cubin, a code object...).
DEFINE_C_API_STRUCT(TesseraArtifact, void);
/// A JIT-compiled CPU function that takes and returns tensors.
DEFINE_C_API_STRUCT(TesseraFunction, void);
/// A dense row-major tensor returned by a function; owned by the caller.
DEFINE_C_API_STRUCT(TesseraTensor, void);

#undef DEFINE_C_API_STRUCT

/// Element types of the tensors a function takes and returns.
typedef enum TesseraElementType {
  TesseraElementTypeF32,
  TesseraElementTypeF16,
  TesseraElementTypeBF16,
  TesseraElementTypeI32,
  TesseraElementTypeI64,
} TesseraElementType;

/// A dense, row-major tensor the caller owns, passed to a function without a
/// copy. `data` is aligned to the element size; it may be null when a size is
/// zero.
typedef struct TesseraTensorView {
  TesseraElementType elementType;
  intptr_t rank;
  const int64_t *shape;
  const void *data;
} TesseraTensorView;

/// The size of a dynamic dimension in a function's signature.
#define TESSERA_DYNAMIC_SIZE (-1)

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

/// Options with the defaults: target cpu, emit obj, cpu native, threads and
/// tile sizes of the pipeline.
MLIR_CAPI_EXPORTED TesseraCompilerOptions tesseraCompilerOptionsCreate(void);
MLIR_CAPI_EXPORTED void
tesseraCompilerOptionsDestroy(TesseraCompilerOptions options);

/// `cpu`, `nvptx` or `amdgpu`; fails on anything else.
MLIR_CAPI_EXPORTED MlirLogicalResult tesseraCompilerOptionsSetTarget(
    TesseraCompilerOptions options, MlirStringRef target);
/// `mlir`, `llvm`, `asm`, `obj`, `ptx`, `cubin`, `hsaco` or `artifact`;
/// fails on anything else. Whether the target emits it is checked when the
/// compiler uses the options.
MLIR_CAPI_EXPORTED MlirLogicalResult tesseraCompilerOptionsSetEmit(
    TesseraCompilerOptions options, MlirStringRef emit);
/// LLVM CPU name for the cpu target (`native`, `znver4`, `x86-64-v3`, ...).
MLIR_CAPI_EXPORTED void
tesseraCompilerOptionsSetCPU(TesseraCompilerOptions options, MlirStringRef cpu);
/// GPU architecture (`sm_90a`, `gfx942`, ...); empty for the default.
MLIR_CAPI_EXPORTED void
tesseraCompilerOptionsSetChip(TesseraCompilerOptions options,
                              MlirStringRef chip);
/// CUDA toolkit or ROCm device-library directory; empty to search.
MLIR_CAPI_EXPORTED void
tesseraCompilerOptionsSetToolkitPath(TesseraCompilerOptions options,
                                     MlirStringRef path);
/// A pass pipeline anchored on builtin.module that replaces the CPU target's
/// default pipeline.
MLIR_CAPI_EXPORTED void
tesseraCompilerOptionsSetPassPipeline(TesseraCompilerOptions options,
                                      MlirStringRef pipeline);
/// Options of the target's default pipeline, e.g. `reference=true`.
MLIR_CAPI_EXPORTED void
tesseraCompilerOptionsSetPipelineOptions(TesseraCompilerOptions options,
                                         MlirStringRef pipelineOptions);
/// Threads of the CPU code's parallel loops; 0 for all cores.
MLIR_CAPI_EXPORTED void
tesseraCompilerOptionsSetThreads(TesseraCompilerOptions options,
                                 unsigned threads);
/// A tile size by the name of its CPU pipeline option: `attention-q-block`,
/// `attention-kv-block`, `moe-column-block` or `moe-k-block`; 0 for the
/// default. Fails on another name or a negative size.
MLIR_CAPI_EXPORTED MlirLogicalResult tesseraCompilerOptionsSetTileSize(
    TesseraCompilerOptions options, MlirStringRef name, int64_t size);

//===----------------------------------------------------------------------===//
// Compiler
//===----------------------------------------------------------------------===//

/// A compiler with its own context that knows every upstream dialect and the
/// tessera dialect. The options are copied.
MLIR_CAPI_EXPORTED TesseraCompiler
tesseraCompilerCreate(TesseraCompilerOptions options);
/// A compiler on the caller's context, which must outlive it; the dialects
/// the pipelines need are added to the context's registry.
MLIR_CAPI_EXPORTED TesseraCompiler tesseraCompilerCreateInContext(
    MlirContext context, TesseraCompilerOptions options);
/// Destroys the compiler and, if it owns one, its context with every module
/// parsed in it.
MLIR_CAPI_EXPORTED void tesseraCompilerDestroy(TesseraCompiler compiler);

MLIR_CAPI_EXPORTED MlirContext
tesseraCompilerGetContext(TesseraCompiler compiler);

/// Checks the options that do not depend on the input.
MLIR_CAPI_EXPORTED MlirLogicalResult
tesseraCompilerVerifyOptions(TesseraCompiler compiler);

/// Parses and verifies `source`, named `name` in diagnostics. Returns a null
/// module (mlirModuleIsNull) on failure. The caller destroys the module
/// (mlirModuleDestroy) before the compiler.
MLIR_CAPI_EXPORTED MlirModule tesseraCompilerParse(TesseraCompiler compiler,
                                                   MlirStringRef source,
                                                   MlirStringRef name);

/// Runs a textual pass pipeline on `module` in place, as tessera-opt would.
MLIR_CAPI_EXPORTED MlirLogicalResult tesseraCompilerRunPipeline(
    TesseraCompiler compiler, MlirModule module, MlirStringRef pipeline);

/// Compiles `module` in place with the options' target, pipeline and emit
/// kind. Returns a null artifact on failure.
MLIR_CAPI_EXPORTED TesseraArtifact
tesseraCompilerCompile(TesseraCompiler compiler, MlirModule module);

/// CPU target: lowers a copy of `module` and JIT-compiles function `entry`.
/// Returns a null function on failure. The function may outlive the compiler.
MLIR_CAPI_EXPORTED TesseraFunction tesseraCompilerLoad(TesseraCompiler compiler,
                                                       MlirModule module,
                                                       MlirStringRef entry);

/// Records the IR after every pass of the following pipelines.
MLIR_CAPI_EXPORTED void
tesseraCompilerSetCaptureStages(TesseraCompiler compiler, bool enable);
/// The passes of the last pipeline that ran with capture on, and the module
/// after each.
MLIR_CAPI_EXPORTED intptr_t
tesseraCompilerGetNumStages(TesseraCompiler compiler);
MLIR_CAPI_EXPORTED MlirStringRef
tesseraCompilerGetStagePass(TesseraCompiler compiler, intptr_t index);
MLIR_CAPI_EXPORTED MlirStringRef
tesseraCompilerGetStageIR(TesseraCompiler compiler, intptr_t index);

/// The diagnostics reported since the last clear, oldest first.
MLIR_CAPI_EXPORTED intptr_t
tesseraCompilerGetNumDiagnostics(TesseraCompiler compiler);
MLIR_CAPI_EXPORTED MlirDiagnosticSeverity
tesseraCompilerGetDiagnosticSeverity(TesseraCompiler compiler, intptr_t index);
/// `file:line:col`, or empty.
MLIR_CAPI_EXPORTED MlirStringRef
tesseraCompilerGetDiagnosticLocation(TesseraCompiler compiler, intptr_t index);
/// The message alone.
MLIR_CAPI_EXPORTED MlirStringRef
tesseraCompilerGetDiagnosticMessage(TesseraCompiler compiler, intptr_t index);
/// As tessera-opt prints it: location, severity, message, source line and
/// caret, notes; ends in a newline.
MLIR_CAPI_EXPORTED MlirStringRef
tesseraCompilerGetDiagnosticRendered(TesseraCompiler compiler, intptr_t index);
MLIR_CAPI_EXPORTED void
tesseraCompilerClearDiagnostics(TesseraCompiler compiler);

//===----------------------------------------------------------------------===//
// Artifacts
//===----------------------------------------------------------------------===//

static inline bool tesseraArtifactIsNull(TesseraArtifact artifact) {
  return !artifact.ptr;
}
/// The artifact's bytes (binary for obj, cubin, hsaco, artifact).
MLIR_CAPI_EXPORTED MlirStringRef
tesseraArtifactGetBytes(TesseraArtifact artifact);
MLIR_CAPI_EXPORTED void tesseraArtifactDestroy(TesseraArtifact artifact);

//===----------------------------------------------------------------------===//
// Functions and tensors
//===----------------------------------------------------------------------===//

static inline bool tesseraFunctionIsNull(TesseraFunction function) {
  return !function.ptr;
}
MLIR_CAPI_EXPORTED void tesseraFunctionDestroy(TesseraFunction function);

MLIR_CAPI_EXPORTED intptr_t
tesseraFunctionGetNumArguments(TesseraFunction function);
MLIR_CAPI_EXPORTED intptr_t
tesseraFunctionGetNumResults(TesseraFunction function);
/// The element type, rank and sizes (TESSERA_DYNAMIC_SIZE where dynamic) of
/// argument or result `index`.
MLIR_CAPI_EXPORTED TesseraElementType
tesseraFunctionGetArgumentElementType(TesseraFunction function, intptr_t index);
MLIR_CAPI_EXPORTED intptr_t
tesseraFunctionGetArgumentRank(TesseraFunction function, intptr_t index);
MLIR_CAPI_EXPORTED int64_t tesseraFunctionGetArgumentSize(
    TesseraFunction function, intptr_t index, intptr_t dim);
MLIR_CAPI_EXPORTED TesseraElementType
tesseraFunctionGetResultElementType(TesseraFunction function, intptr_t index);
MLIR_CAPI_EXPORTED intptr_t
tesseraFunctionGetResultRank(TesseraFunction function, intptr_t index);
MLIR_CAPI_EXPORTED int64_t tesseraFunctionGetResultSize(
    TesseraFunction function, intptr_t index, intptr_t dim);

/// Calls the function on `arguments` (read in place, never written) and
/// stores one new tensor per result in `results`, which the caller destroys.
/// On failure nothing is stored and tesseraFunctionGetError says why.
MLIR_CAPI_EXPORTED MlirLogicalResult tesseraFunctionCall(
    TesseraFunction function, const TesseraTensorView *arguments,
    intptr_t numArguments, TesseraTensor *results);
/// Why the last call failed; empty after a call that succeeded.
MLIR_CAPI_EXPORTED MlirStringRef
tesseraFunctionGetError(TesseraFunction function);

MLIR_CAPI_EXPORTED void tesseraTensorDestroy(TesseraTensor tensor);
MLIR_CAPI_EXPORTED TesseraElementType
tesseraTensorGetElementType(TesseraTensor tensor);
MLIR_CAPI_EXPORTED intptr_t tesseraTensorGetRank(TesseraTensor tensor);
MLIR_CAPI_EXPORTED int64_t tesseraTensorGetSize(TesseraTensor tensor,
                                                intptr_t dim);
/// The elements, row-major, 64-byte aligned; owned by the tensor.
MLIR_CAPI_EXPORTED void *tesseraTensorGetData(TesseraTensor tensor);
MLIR_CAPI_EXPORTED size_t tesseraTensorGetNumBytes(TesseraTensor tensor);

#ifdef __cplusplus
}
#endif

#endif // TESSERA_C_COMPILER_H
