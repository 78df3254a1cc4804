//===- AMDGPUTarget.cpp - AMD GPUs: ROCDL and HSACO -----------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The AMD side of the GPU pipelines: kernels lowered to ROCDL with
// bare-pointer memref arguments, `#rocdl.target` with the chip and the
// device libraries (ocml for math).
//
//===----------------------------------------------------------------------===//

#include "tessera/Target/GPU/GPUPipeline.h"

#include "mlir/Conversion/GPUToROCDL/GPUToROCDLPass.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;
using namespace mlir::tessera;

namespace {

class AMDGPUTarget final : public GPUTarget {
public:
  StringRef getName() const override { return "amdgpu"; }
  StringRef getDefaultChip() const override { return "gfx942"; }

  llvm::Error verifyChip(StringRef chip) const override {
    StringRef rest = chip;
    if (rest.consume_front("gfx") && rest.size() >= 3 &&
        llvm::all_of(rest, llvm::isAlnum))
      return llvm::Error::success();
    return llvm::createStringError(
        "unknown AMD chip '%s' (expected gfx<NNN>, e.g. gfx90a, gfx942)",
        chip.str().c_str());
  }

  // No MFMA kernels yet: every op takes the generic mapping.
  void addMatrixUnitPasses(OpPassManager &,
                           const TesseraGPUPipelineOptions &) const override {}

  void addKernelLoweringPasses(OpPassManager &pm) const override {
    ConvertGpuOpsToROCDLOpsOptions toROCDL;
    toROCDL.useBarePtrCallConv = true;
    toROCDL.indexBitwidth = 64;
    toROCDL.runtime = gpu::amd::Runtime::HIP;
    pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToROCDLOps(toROCDL));
  }

  void
  addAttachTargetPass(OpPassManager &pm,
                      const TesseraGPUPipelineOptions &options) const override {
    GpuROCDLAttachTargetOptions attach;
    attach.chip = options.chip.empty() ? getDefaultChip().str()
                                       : std::string(options.chip);
    attach.features = options.features;
    attach.optLevel = 3;
    attach.linkLibs.assign(options.link.begin(), options.link.end());
    pm.addPass(createGpuROCDLAttachTarget(attach));
  }
};

} // namespace

const GPUTarget &mlir::tessera::getAMDGPUTarget() {
  static const AMDGPUTarget target;
  return target;
}
