//===- tessera-pipeline-fuzzer.cpp - Fuzzes the passes and pipelines ------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The first byte of an input picks a pass or a registered pipeline, the rest
// is MLIR source. Both go through tessera::Compiler, the embedding API: the
// source is parsed and verified, then the pass runs (or the module is
// compiled with the target's pipeline). Any input must end in a module or in
// diagnostics, never in a crash; a pipeline that succeeds must leave a module
// that verifies.
//
//===----------------------------------------------------------------------===//

#include "tessera/Compiler/Compiler.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace mlir;
using namespace mlir::tessera;

namespace {
/// A pass pipeline to run (`pipeline`), or a target to compile for with its
/// registered pipeline (`pipeline` empty).
struct FuzzConfig {
  const char *pipeline;
  CompileTarget target;
  const char *pipelineOptions = "";
  const char *chip = "";
};
} // namespace

static const FuzzConfig configs[] = {
    {"builtin.module(convert-tessera-to-linalg)", CompileTarget::CPU},
    {"builtin.module(tessera-decompose-moe)", CompileTarget::CPU},
    {"builtin.module(tessera-tile-attention)", CompileTarget::CPU},
    {"builtin.module(tessera-fuse-route)", CompileTarget::CPU},
    {"builtin.module(tessera-decompose-moe,tessera-fuse-moe)",
     CompileTarget::CPU},
    {"builtin.module(tessera-decompose-moe,tessera-fuse-moe,"
     "tessera-tile-grouped-matmul)",
     CompileTarget::CPU},
    {"builtin.module(tessera-decompose-moe,tessera-gather-grouped-matmul)",
     CompileTarget::CPU},
    {"builtin.module(tessera-tensor-core-attention)", CompileTarget::CPU},
    {"builtin.module(tessera-decompose-moe,"
     "tessera-tensor-core-grouped-matmul)",
     CompileTarget::CPU},
    {"", CompileTarget::CPU},
    {"", CompileTarget::CPU, "reference=true"},
    {"", CompileTarget::NVPTX, "", "sm_90a"},
    {"", CompileTarget::AMDGPU, "", "gfx942"},
};

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  const FuzzConfig &config = configs[data[0] % std::size(configs)];
  CompilerOptions options;
  options.target = config.target;
  options.emit = EmitKind::MLIR;
  options.pipelineOptions = config.pipelineOptions;
  options.chip = config.chip;
  // Small fixed settings: the same result on every machine, one thread.
  if (config.target == CompileTarget::CPU) {
    options.cpu = "x86-64-v3";
    if (!*config.pipeline)
      options.threads = 1;
  }
  Compiler compiler(options);
  llvm::StringRef source(reinterpret_cast<const char *>(data + 1), size - 1);
  llvm::Expected<OwningOpRef<ModuleOp>> module =
      compiler.parse(source, "fuzz.mlir");
  if (!module) {
    llvm::consumeError(module.takeError());
    return 0;
  }
  llvm::Error error = *config.pipeline
                          ? compiler.runPipeline(**module, config.pipeline)
                          : compiler.compile(**module).takeError();
  if (error) {
    llvm::consumeError(std::move(error));
    return 0;
  }
  if (failed(verify(**module))) {
    llvm::errs() << "tessera-pipeline-fuzzer: '"
                 << (*config.pipeline ? config.pipeline : "the target pipeline")
                 << "' succeeded but left an invalid module\n";
    std::abort();
  }
  return 0;
}
