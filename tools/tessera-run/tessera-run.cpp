//===- tessera-run.cpp - JIT-run a tessera entry function -----------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Runs a `func.func` on tensors on the host CPU or, with --target=nvptx or
// amdgpu, compiled for a GPU and run through the GPU runtime:
//
//   tessera-run FILE.mlir --entry=NAME [--input=a.npy ...]
//       [--random-inputs=SEED] [--output=out.npy ...] [--check] [--bench=N
//       [--bench-cold]]
//       [--target=cpu|nvptx|amdgpu [--chip=NAME] [--emulate]]
//
// The work is done by the TesseraRuntimeCPU and TesseraGPURunner libraries
// (CPURunner.h, GPURunner.h); this file only parses the command line and the
// input module.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/TesseraDialect.h"
#include "tessera/Runtime/CPURunner.h"
#include "tessera/Runtime/GPURunner.h"
#include "tessera/Support/CommandLine.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);

  static llvm::cl::OptionCategory category("tessera-run options");
  static llvm::cl::opt<std::string> inputFilename(
      llvm::cl::Positional, llvm::cl::desc("<input .mlir file>"),
      llvm::cl::init("-"), llvm::cl::cat(category));
  static llvm::cl::opt<std::string> entry(
      "entry", llvm::cl::desc("The func.func to run (required)"),
      llvm::cl::value_desc("name"), llvm::cl::cat(category));
  static llvm::cl::list<std::string> inputs(
      "input",
      llvm::cl::desc("A .npy file for the next argument (f32 data is rounded "
                     "for f16/bf16 arguments)"),
      llvm::cl::value_desc("file"), llvm::cl::cat(category));
  static llvm::cl::opt<uint64_t> randomSeed(
      "random-inputs",
      llvm::cl::desc("Fill the arguments from this seed instead: floats "
                     "uniform in [-1, 1), integers uniform in [0, 4)"),
      llvm::cl::value_desc("seed"), llvm::cl::cat(category));
  static llvm::cl::list<std::string> outputs(
      "output",
      llvm::cl::desc("A .npy file for the next result (f16/bf16 are written "
                     "as f32)"),
      llvm::cl::value_desc("file"), llvm::cl::cat(category));
  static llvm::cl::opt<std::string> pipelineOptions(
      "pipeline-options",
      llvm::cl::desc("Options of the default pipeline, as for "
                     "tessera-cpu-pipeline (e.g. \"threads=1 "
                     "attention-q-block=32\")"),
      llvm::cl::value_desc("options"), llvm::cl::init(""),
      llvm::cl::cat(category));
  static llvm::cl::opt<bool> check(
      "check",
      llvm::cl::desc("Compare the results with the reference lowering"),
      llvm::cl::cat(category));
  static llvm::cl::opt<std::string> target(
      "target",
      llvm::cl::desc("Where to run: cpu (JIT), nvptx (CUDA) or amdgpu (HIP); "
                     "the GPU targets compile with tessera-compile's "
                     "pipeline and run with the GPU runtime"),
      llvm::cl::value_desc("name"), llvm::cl::init("cpu"),
      llvm::cl::cat(category));
  static llvm::cl::opt<std::string> chip(
      "chip",
      llvm::cl::desc("GPU architecture for nvptx/amdgpu (default sm_90, "
                     "gfx942)"),
      llvm::cl::value_desc("name"), llvm::cl::cat(category));
  static llvm::cl::opt<bool> emulate(
      "emulate",
      llvm::cl::desc("With --target=nvptx|amdgpu: no GPU; the pipeline "
                     "stops before the kernels' lowering and the GPU "
                     "emulator runs them on the host (as "
                     "tessera-gpu-emulate)"),
      llvm::cl::cat(category));
  static llvm::cl::opt<unsigned> bench(
      "bench",
      llvm::cl::desc("Time this many runs after a warm-up and print the "
                     "median and the minimum"),
      llvm::cl::value_desc("n"), llvm::cl::init(0), llvm::cl::cat(category));
  static llvm::cl::opt<bool> benchCold(
      "bench-cold",
      llvm::cl::desc("With --bench: evict the caches (read 128 MiB, untimed) "
                     "before every timed run, so that operands come from "
                     "memory"),
      llvm::cl::init(false), llvm::cl::cat(category));

  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  if (!tessera::parseToolCommandLine(argc, argv,
                                     "Tessera CPU runner: JIT-compiles a "
                                     "func.func on tensors and runs it\n"))
    return 1;
  // Checked here rather than by llvm::cl::Required, which LLVM reports on a
  // line of its own next to any other command-line error.
  if (entry.empty()) {
    llvm::WithColor::error(llvm::errs(), "tessera-run")
        << "no --entry: name the func.func to run\n";
    return 1;
  }

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<tessera::TesseraDialect>();
  MLIRContext context(registry);

  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> file =
      openInputFile(inputFilename, &errorMessage);
  if (!file) {
    llvm::WithColor::error(llvm::errs(), "tessera-run") << errorMessage << "\n";
    return 1;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagnosticHandler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;

  tessera::CPURunnerOptions options;
  options.inputFileName = inputFilename;
  options.entry = entry;
  options.inputFiles.assign(inputs.begin(), inputs.end());
  if (randomSeed.getNumOccurrences())
    options.randomSeed = randomSeed;
  options.outputFiles.assign(outputs.begin(), outputs.end());
  options.check = check;
  options.benchIterations = bench;
  options.benchCold = benchCold;
  options.pipelineOptions = pipelineOptions;
  options.configurePassManager = [](PassManager &pm) {
    return applyPassManagerCLOptions(pm);
  };

  llvm::Expected<tessera::CompileTarget> parsedTarget =
      tessera::parseCompileTarget(target);
  if (!parsedTarget) {
    llvm::WithColor::error(llvm::errs(), "tessera-run")
        << llvm::toString(parsedTarget.takeError()) << "\n";
    return 1;
  }

  if (emulate && *parsedTarget == tessera::CompileTarget::CPU) {
    llvm::WithColor::error(llvm::errs(), "tessera-run")
        << "--emulate needs --target=nvptx or --target=amdgpu\n";
    return 1;
  }
  if (benchCold && (!bench || *parsedTarget != tessera::CompileTarget::CPU)) {
    llvm::WithColor::error(llvm::errs(), "tessera-run")
        << "--bench-cold needs --bench and --target=cpu\n";
    return 1;
  }

  // Kernels allocate their results on every call; reuse freed memory so
  // that repeated runs (--bench) do not pay for fresh pages each time.
  tessera::retainFreedHostMemory();
  llvm::Expected<bool> passed =
      *parsedTarget == tessera::CompileTarget::CPU
          ? tessera::runCPUEntry(*module, options, llvm::outs())
          : tessera::runGPUEntry(*module, options, *parsedTarget, chip,
                                 llvm::outs(), emulate);
  if (!passed) {
    llvm::outs().flush();
    llvm::WithColor::error(llvm::errs(), "tessera-run")
        << llvm::toString(passed.takeError()) << "\n";
    return 1;
  }
  return *passed ? 0 : 1;
}
