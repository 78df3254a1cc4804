//===- Registration.cpp - C API of dialect and pass registration ----------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera-c/Registration.h"
#include "tessera/Compiler/Compiler.h"
#include "tessera/Dialect/Tessera/IR/TesseraDialect.h"

#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Registration.h"

MLIR_DEFINE_CAPI_DIALECT_REGISTRATION(Tessera, tessera,
                                      mlir::tessera::TesseraDialect)

void tesseraRegisterCompilerDialects(MlirDialectRegistry registry) {
  mlir::tessera::registerCompilerDialects(*unwrap(registry));
}

void tesseraRegisterPasses(void) { mlir::tessera::registerCompilerPasses(); }
