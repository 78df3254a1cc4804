//===- tessera-compile.cpp - Ahead-of-time compiler driver ----------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// File in, artifact out:
//
//   tessera-compile FILE.mlir --target=cpu [--cpu=NAME]
//       [--emit=mlir|llvm|asm|obj] [--pass-pipeline=PIPELINE |
//       --pipeline-options=OPTIONS] -o OUT
//
// plus the standard MLIR flags (--mlir-print-ir-after-all, --mlir-timing,
// ...). The work is done by the TesseraCompiler library (`tessera::Compiler`
// in Compiler.h); this file parses the command line, prints the compiler's
// diagnostics and writes the artifact.
//
//===----------------------------------------------------------------------===//

#include "tessera/Compiler/Compiler.h"
#include "tessera/Support/CommandLine.h"
#include "tessera/Target/CPU/CPUPipeline.h"
#include "tessera/Target/GPU/GPUPipeline.h"
#include "tessera/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "tessera-compile") << message << "\n";
  return 1;
}

static int fail(llvm::Error error) {
  return fail(llvm::toString(std::move(error)));
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);

  static llvm::cl::OptionCategory category("tessera-compile options");
  static llvm::cl::opt<std::string> inputFilename(
      llvm::cl::Positional, llvm::cl::desc("<input .mlir file>"),
      llvm::cl::init("-"), llvm::cl::cat(category));
  static llvm::cl::opt<std::string> outputFilename(
      "o", llvm::cl::desc("Output file ('-' for stdout)"),
      llvm::cl::value_desc("file"), llvm::cl::init("-"),
      llvm::cl::cat(category));
  static llvm::cl::opt<std::string> target(
      "target",
      llvm::cl::desc("Target to compile for: cpu, nvptx (NVIDIA GPUs) or "
                     "amdgpu (AMD GPUs)"),
      llvm::cl::value_desc("name"), llvm::cl::init("cpu"),
      llvm::cl::cat(category));
  static llvm::cl::opt<std::string> cpu(
      "cpu",
      llvm::cl::desc("LLVM CPU name to optimize and generate code for "
                     "(znver4, x86-64-v3, skylake-avx512, ...); 'native' is "
                     "the host CPU and its features"),
      llvm::cl::value_desc("name"), llvm::cl::init("native"),
      llvm::cl::cat(category));
  static llvm::cl::opt<std::string> emit(
      "emit",
      llvm::cl::desc("What to write. cpu: mlir (LLVM dialect), llvm (LLVM IR "
                     "after O3), asm or obj. nvptx: mlir (NVVM kernels and "
                     "launches), ptx, cubin or artifact. amdgpu: mlir, asm, "
                     "hsaco or artifact. An artifact is what "
                     "tessera-gpu-launch runs: the launch manifest plus the "
                     "device image (the default for GPU targets)"),
      llvm::cl::value_desc("kind"), llvm::cl::init("obj"),
      llvm::cl::cat(category));
  static llvm::cl::opt<std::string> chip(
      "chip",
      llvm::cl::desc("GPU architecture for nvptx/amdgpu: sm_80, sm_90, "
                     "sm_90a, gfx90a, gfx942 (default: sm_90, gfx942)"),
      llvm::cl::value_desc("name"), llvm::cl::cat(category));
  static llvm::cl::opt<std::string> toolkitPath(
      "toolkit-path",
      llvm::cl::desc("CUDA toolkit (ptxas, libdevice) or ROCm device "
                     "library root; default: CUDA_ROOT, CUDA_HOME, "
                     "CUDA_PATH, /usr/local/cuda (nvptx); ROCM_PATH, "
                     "/opt/rocm, /usr/lib/x86_64-linux-gnu (amdgpu)"),
      llvm::cl::value_desc("dir"), llvm::cl::cat(category));
  static llvm::cl::opt<std::string> passPipeline(
      "pass-pipeline",
      llvm::cl::desc("Textual pass pipeline anchored on builtin.module that "
                     "replaces the default tessera-cpu-pipeline"),
      llvm::cl::value_desc("pipeline"), llvm::cl::cat(category));
  static llvm::cl::opt<std::string> pipelineOptions(
      "pipeline-options",
      llvm::cl::desc("Options of the target's pipeline "
                     "(tessera-cpu-pipeline, tessera-nvptx-pipeline, "
                     "tessera-amdgpu-pipeline), e.g. \"reference=true "
                     "attention-q-block=32\""),
      llvm::cl::value_desc("options"), llvm::cl::cat(category));

  registerAllPasses();
  tessera::registerTesseraPasses();
  tessera::registerTesseraCPUPipeline();
  tessera::registerTesseraGPUPipelines();

  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  if (!tessera::parseToolCommandLine(argc, argv,
                                     "Tessera compiler: compiles a module of "
                                     "tessera ops to an artifact\n"))
    return 1;

  tessera::CompilerOptions options;
  llvm::Expected<tessera::CompileTarget> parsedTarget =
      tessera::parseCompileTarget(target);
  if (!parsedTarget)
    return fail(parsedTarget.takeError());
  options.target = *parsedTarget;
  // GPU targets write the runtime's artifact unless told otherwise.
  if (emit.getNumOccurrences() == 0 &&
      *parsedTarget != tessera::CompileTarget::CPU)
    emit = "artifact";
  llvm::Expected<tessera::EmitKind> parsedEmit = tessera::parseEmitKind(emit);
  if (!parsedEmit)
    return fail(parsedEmit.takeError());
  options.emit = *parsedEmit;
  options.cpu = cpu;
  options.chip = chip;
  options.toolkitPath = toolkitPath;
  options.passPipeline = passPipeline;
  options.pipelineOptions = pipelineOptions;
  options.configurePassManager = [](PassManager &pm) {
    return applyPassManagerCLOptions(pm);
  };
  if (llvm::Error error = tessera::verifyCompilerOptions(options))
    return fail(std::move(error));

  DefaultTimingManager timingManager;
  applyDefaultTimingManagerCLOptions(timingManager);
  TimingScope timing = timingManager.getRootScope();

  tessera::Compiler compiler(std::move(options));
  // The compiler returns its diagnostics; the tool prints them as mlir-opt
  // would, and its own failures (options, files, toolkits) on one line.
  auto report = [&](llvm::Error error) {
    for (const tessera::CompilerDiagnostic &diagnostic :
         compiler.getDiagnostics()) {
      if (diagnostic.outsideIR)
        fail(diagnostic.message);
      else
        llvm::errs() << diagnostic.rendered;
    }
    compiler.clearDiagnostics();
    if (!error)
      return 0;
    llvm::consumeError(std::move(error));
    return 1;
  };

  llvm::Expected<OwningOpRef<ModuleOp>> module = [&] {
    TimingScope parseTiming = timing.nest("Parser");
    return compiler.parseFile(inputFilename);
  }();
  if (!module)
    return report(module.takeError());
  report(llvm::Error::success());

  // Compile into memory first so that a failure leaves no partial output.
  llvm::Expected<tessera::CompilerArtifact> artifact =
      compiler.compile(**module, timing);
  if (!artifact)
    return report(artifact.takeError());
  report(llvm::Error::success());

  TimingScope outputTiming = timing.nest("Output");
  std::string errorMessage;
  std::unique_ptr<llvm::ToolOutputFile> output =
      openOutputFile(outputFilename, &errorMessage);
  if (!output)
    return fail(errorMessage);
  output->os() << artifact->bytes;
  output->os().flush();
  if (output->os().has_error()) {
    output->os().clear_error();
    return fail("cannot write '" + outputFilename + "'");
  }
  output->keep();
  return 0;
}
