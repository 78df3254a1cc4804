//===- tessera-opt.cpp - mlir-opt with the tessera dialect ----------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/TesseraDialect.h"
#include "tessera/Support/CommandLine.h"
#include "tessera/Target/CPU/CPUPipeline.h"
#include "tessera/Target/GPU/GPUPipeline.h"
#include "tessera/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  mlir::registerAllPasses();
  mlir::tessera::registerTesseraPasses();
  mlir::tessera::registerTesseraCPUPipeline();
  mlir::tessera::registerTesseraGPUPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<mlir::tessera::TesseraDialect>();

  // mlir-opt's options and main, with a bad command line reported in one
  // line (MlirOptMain's own parsing prints LLVM's several).
  static llvm::cl::opt<std::string> inputFilename(
      llvm::cl::Positional, llvm::cl::desc("<input file>"),
      llvm::cl::init("-"));
  static llvm::cl::opt<std::string> outputFilename(
      "o", llvm::cl::desc("Output filename"), llvm::cl::value_desc("filename"),
      llvm::cl::init("-"));
  std::string helpHeader =
      mlir::registerCLIOptions("Tessera optimizer driver", registry);
  if (!mlir::tessera::parseToolCommandLine(argc, argv, helpHeader))
    return 1;
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, inputFilename, outputFilename, registry));
}
