//===- GPURunner.h - Compile and run an entry on a GPU ----------*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// `tessera-run --target=nvptx|amdgpu`: compiles the module with the
// compiler (tessera::compileModule, --emit=artifact), runs the entry with the
// GPU runtime (the same one as tessera-gpu-launch) and, with --check,
// compares the results with the CPU reference lowering on the same inputs.
// With --emulate the kernels run in tessera-gpu-emulate instead, on the
// host.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_RUNTIME_GPURUNNER_H
#define TESSERA_RUNTIME_GPURUNNER_H

#include "tessera/Compiler/Compiler.h"
#include "tessera/Runtime/CPURunner.h"

namespace mlir {
namespace tessera {

/// Runs the entry of `module` on the first GPU of `target`'s platform (CUDA
/// for nvptx, HIP for amdgpu) as `options` say (inputs, outputs, --check,
/// --bench; `options.pipelineOptions` are the GPU pipeline's), compiling for
/// `chip` (empty: the target's default). Reports as runCPUEntry does. An
/// error when the module does not compile for the target or no device can
/// be opened; `false` when a check failed. With `emulate`, no GPU: the
/// target's pipeline stops before the kernels' lowering and
/// tessera-gpu-emulate runs the kernels on the host (no --bench).
llvm::Expected<bool> runGPUEntry(ModuleOp module,
                                 const CPURunnerOptions &options,
                                 CompileTarget target, StringRef chip,
                                 raw_ostream &os, bool emulate = false);

} // namespace tessera
} // namespace mlir

#endif // TESSERA_RUNTIME_GPURUNNER_H
