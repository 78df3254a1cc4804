//===- GPUArtifact.h - Device code plus its launch manifest -----*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Writes the self-contained GPU artifact the runtime loads (format in
// docs/GPU-runtime.md): a manifest describing, per public function, its
// buffers (inputs, outputs, temporaries) and the kernel launches in order,
// followed by the device image.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_LIB_COMPILER_GPUARTIFACT_H
#define TESSERA_LIB_COMPILER_GPUARTIFACT_H

#include "mlir/Support/LLVM.h"
#include "llvm/Support/Error.h"

namespace mlir {
class ModuleOp;

namespace tessera {

/// Writes the manifest of the host functions of `module` (after the GPU
/// pipeline: allocations, constants and `gpu.launch_func`s only) and then
/// `image`, of `imageFormat` (ptx, cubin, hsaco). An error names a host op
/// or a type the manifest cannot describe.
llvm::Error writeGPUArtifact(ModuleOp module, StringRef target, StringRef chip,
                             StringRef imageFormat, StringRef image,
                             raw_ostream &os);

} // namespace tessera
} // namespace mlir

#endif // TESSERA_LIB_COMPILER_GPUARTIFACT_H
