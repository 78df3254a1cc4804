//===- tessera-gpu-emulate.cpp - Run GPU kernels' IR on the host ----------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Runs a function whose work is launches of kernels, as the tensor-core
// passes leave it (tessera-opt --tessera-tensor-core-attention="chip=gfx942"
// ...), by interpreting the kernels' IR thread by thread on the host
// (tessera/Target/GPU/Emulator.h):
//
//   tessera-gpu-emulate FILE.mlir --entry=NAME --input=a.npy ...
//       --output=out.npy ...
//
// For tests of kernels that no GPU here can run; the command line is
// tessera-run's, so that test drivers can run either.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/TesseraDialect.h"
#include "tessera/Support/CommandLine.h"
#include "tessera/Support/Npy.h"
#include "tessera/Target/GPU/Emulator.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);

  static llvm::cl::OptionCategory category("tessera-gpu-emulate options");
  static llvm::cl::opt<std::string> inputFilename(
      llvm::cl::Positional, llvm::cl::desc("<input .mlir file>"),
      llvm::cl::init("-"), llvm::cl::cat(category));
  static llvm::cl::opt<std::string> entry(
      "entry", llvm::cl::desc("The func.func to run (required)"),
      llvm::cl::value_desc("name"), llvm::cl::cat(category));
  static llvm::cl::list<std::string> inputs(
      "input",
      llvm::cl::desc("A .npy file for the next argument (floats are rounded "
                     "to the argument's type)"),
      llvm::cl::value_desc("file"), llvm::cl::cat(category));
  static llvm::cl::list<std::string> outputs(
      "output",
      llvm::cl::desc("A .npy file for the next result (f16/bf16 are written "
                     "as f32)"),
      llvm::cl::value_desc("file"), llvm::cl::cat(category));

  if (!tessera::parseToolCommandLine(
          argc, argv,
          "Tessera GPU emulator: runs the kernels of a function's "
          "gpu.launch_func ops on the host, thread by thread\n"))
    return 1;
  auto error = [](const llvm::Twine &message) {
    llvm::WithColor::error(llvm::errs(), "tessera-gpu-emulate")
        << message << "\n";
    return 1;
  };
  if (entry.empty())
    return error("no --entry: name the func.func to run");

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<tessera::TesseraDialect>();
  MLIRContext context(registry);

  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> file =
      openInputFile(inputFilename, &errorMessage);
  if (!file)
    return error(errorMessage);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagnosticHandler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;

  std::vector<tessera::NpyArray> arrays;
  for (const std::string &path : inputs) {
    llvm::Expected<tessera::NpyArray> array = tessera::readNpyFile(path);
    if (!array)
      return error(llvm::toString(array.takeError()));
    arrays.push_back(std::move(*array));
  }
  llvm::Expected<std::vector<tessera::NpyArray>> results =
      tessera::emulateGPUFunction(*module, entry, arrays);
  if (!results)
    return error(llvm::toString(results.takeError()));
  if (outputs.size() > results->size())
    return error(llvm::Twine(outputs.size()) + " --output files for " +
                 llvm::Twine(results->size()) + " results");
  for (auto [path, array] : llvm::zip_first(outputs, *results))
    if (llvm::Error err = tessera::writeNpyFile(array, path))
      return error(llvm::toString(std::move(err)));
  return 0;
}
