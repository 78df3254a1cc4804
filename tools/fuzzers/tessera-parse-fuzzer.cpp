//===- tessera-parse-fuzzer.cpp - Fuzzes parsing and verification ---------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Parses arbitrary text as a module of the dialects Tessera programs use
// (tessera, func, arith, tensor), which runs the tessera verifiers and shape
// rules. Any input must give a module or diagnostics, never a crash. A module
// that parses must print, in custom and generic form, as text that parses
// back to a valid module.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/TesseraDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace mlir;

static DialectRegistry &getRegistry() {
  static DialectRegistry *registry = [] {
    auto *registry = new DialectRegistry();
    registry->insert<tessera::TesseraDialect, func::FuncDialect,
                     arith::ArithDialect, tensor::TensorDialect>();
    return registry;
  }();
  return *registry;
}

/// Prints `module` and parses the text back in `context`; stops the fuzzer
/// (which records the input) when the text does not parse. `lastError` is
/// the text of the last error diagnostic of the context.
static void checkRoundTrip(ModuleOp module, MLIRContext &context,
                           const std::string &lastError, bool generic) {
  std::string text;
  llvm::raw_string_ostream os(text);
  OpPrintingFlags flags;
  if (generic)
    flags.printGenericOpForm();
  module.print(os, flags);
  if (parseSourceString<ModuleOp>(text, ParserConfig(&context)))
    return;
  llvm::errs() << "tessera-parse-fuzzer: the "
               << (generic ? "generic" : "custom")
               << " form of a valid module does not parse back: " << lastError
               << "\n"
               << text;
  std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MLIRContext context(getRegistry(), MLIRContext::Threading::DISABLED);
  std::string lastError;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diagnostic) {
    if (diagnostic.getSeverity() == DiagnosticSeverity::Error)
      lastError = diagnostic.str();
    return success();
  });
  // MLIR's lexer reads up to a terminating NUL: parse a copy that has one
  // (tessera::Compiler::parse copies its input for the same reason).
  std::string source(reinterpret_cast<const char *>(data), size);
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(source, ParserConfig(&context));
  if (!module)
    return 0;
  checkRoundTrip(*module, context, lastError, /*generic=*/false);
  checkRoundTrip(*module, context, lastError, /*generic=*/true);
  return 0;
}
