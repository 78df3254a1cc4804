//===-- tessera-c/Registration.h - Dialect and pass registration -*- C -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The tessera dialect for an MLIR context of the caller, and the tessera
// passes and pipelines for textual pass pipelines (mlirParsePassPipeline).
// A TesseraCompiler (Compiler.h) does both itself.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_C_REGISTRATION_H
#define TESSERA_C_REGISTRATION_H

#include "mlir-c/IR.h"
#include "mlir-c/Support.h"

#ifdef __cplusplus
extern "C" {
#endif

/// mlirGetDialectHandle__tessera__(): the tessera dialect.
MLIR_DECLARE_CAPI_DIALECT_REGISTRATION(Tessera, tessera);

/// Adds to `registry` what the tessera pipelines need besides the input's
/// dialects: the dialects they produce, their interface models and the
/// translations to LLVM IR.
MLIR_CAPI_EXPORTED void
tesseraRegisterCompilerDialects(MlirDialectRegistry registry);

/// Registers every upstream pass, the tessera passes and the tessera
/// pipelines (tessera-cpu-pipeline, tessera-nvptx-pipeline,
/// tessera-amdgpu-pipeline) in the global pass registry. Idempotent.
MLIR_CAPI_EXPORTED void tesseraRegisterPasses(void);

#ifdef __cplusplus
}
#endif

#endif // TESSERA_C_REGISTRATION_H
