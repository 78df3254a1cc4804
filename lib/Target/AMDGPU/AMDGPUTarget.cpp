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
#include "tessera/Transforms/Passes.h"

#include "mlir/Conversion/AMDGPUToROCDL/AMDGPUToROCDL.h"
#include "mlir/Conversion/GPUToROCDL/GPUToROCDLPass.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;
using namespace mlir::tessera;

namespace {

class AMDGPUTarget final : public GPUTarget {
  std::string getChip(const TesseraGPUPipelineOptions &options) const {
    return options.chip.empty() ? getDefaultChip().str()
                                : std::string(options.chip);
  }

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

  // Grouped GEMMs and attention on the matrix cores (MFMA) of the CDNA
  // chips; latent attention takes the generic mapping.
  void
  addMatrixUnitPasses(OpPassManager &pm,
                      const TesseraGPUPipelineOptions &options) const override {
    TesseraTensorCoreGroupedMatmulOptions matrixCores;
    matrixCores.chip = getChip(options);
    matrixCores.tileN = options.tensorCoreTileN;
    pm.addPass(createTesseraTensorCoreGroupedMatmul(matrixCores));
    TesseraTensorCoreAttentionOptions attention;
    attention.chip = matrixCores.chip;
    attention.qBlock = options.tensorCoreQBlock;
    attention.warpRows = options.tensorCoreWarpRows;
    pm.addPass(createTesseraTensorCoreAttention(attention));
  }

  void addKernelLoweringPasses(
      OpPassManager &pm,
      const TesseraGPUPipelineOptions &options) const override {
    std::string chip = getChip(options);
    // Device math to ocml calls first. Left to the GPU-to-ROCDL conversion,
    // math.tanh became llvm.intr.tanh (which the AMDGPU backend cannot
    // select) once the matrix-unit pass had loaded its dialects into the
    // context. The host functions hold only launches here (stage 3), so
    // this module-level pass only meets kernel math.
    ConvertMathToROCDLOptions mathToROCDL;
    mathToROCDL.chipset = chip;
    pm.addPass(createConvertMathToROCDL(mathToROCDL));
    // The amdgpu ops (mfma) for this chip.
    ConvertAMDGPUToROCDLPassOptions amdgpuToROCDL;
    amdgpuToROCDL.chipset = chip;
    pm.addNestedPass<gpu::GPUModuleOp>(
        createConvertAMDGPUToROCDLPass(amdgpuToROCDL));
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
    attach.chip = getChip(options);
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
