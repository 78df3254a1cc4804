//===- NVPTXTarget.cpp - NVIDIA GPUs: NVVM and PTX ------------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The NVIDIA side of the GPU pipelines: kernels lowered to NVVM with
// bare-pointer memref arguments (what the runtime's launch list passes),
// `#nvvm.target` with the chip, PTX features and libdevice.
//
//===----------------------------------------------------------------------===//

#include "tessera/Target/GPU/GPUPipeline.h"
#include "tessera/Transforms/Passes.h"

#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// Upstream lowers `gpu.dynamic_shared_memory` to an internal zero-sized
/// shared global, which the NVPTX back end demotes to a one-byte variable of
/// the kernel: every access then overlaps the kernel's static shared
/// memory. Dynamic shared memory is an external (`.extern .shared`) array,
/// aligned to 1024 bytes: the 128-byte swizzle of wgmma operands repeats
/// every 1024 bytes of the shared address space.
struct ExternDynamicSharedMemoryPass
    : public PassWrapper<ExternDynamicSharedMemoryPass,
                         OperationPass<gpu::GPUModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ExternDynamicSharedMemoryPass)

  StringRef getArgument() const final {
    return "tessera-nvptx-extern-dynamic-shared-memory";
  }

  void runOnOperation() override {
    getOperation().walk([](LLVM::GlobalOp global) {
      auto array = dyn_cast<LLVM::LLVMArrayType>(global.getType());
      if (global.getAddrSpace() ==
              static_cast<unsigned>(NVVM::NVVMMemorySpace::Shared) &&
          array && array.getNumElements() == 0 &&
          global.getLinkage() == LLVM::Linkage::Internal) {
        global.setLinkage(LLVM::Linkage::External);
        global.setAlignment(1024);
      }
    });
  }
};

class NVPTXTarget final : public GPUTarget {
public:
  StringRef getName() const override { return "nvptx"; }
  StringRef getDefaultChip() const override { return "sm_90"; }

  llvm::Error verifyChip(StringRef chip) const override {
    StringRef number = chip;
    unsigned version = 0;
    if (number.consume_front("sm_")) {
      number.consume_back("a");
      if (!number.getAsInteger(10, version) && version >= 50)
        return llvm::Error::success();
    }
    return llvm::createStringError(
        "unknown NVIDIA chip '%s' (expected sm_<NN>[a] with NN >= 50, e.g. "
        "sm_80, sm_90, sm_90a)",
        chip.str().c_str());
  }

  void
  addMatrixUnitPasses(OpPassManager &pm,
                      const TesseraGPUPipelineOptions &options) const override {
    TesseraTensorCoreGroupedMatmulOptions tensorCores;
    tensorCores.chip = options.chip.empty() ? getDefaultChip().str()
                                            : std::string(options.chip);
    tensorCores.stages = options.tensorCoreStages;
    tensorCores.minBlocksPerSM = options.tensorCoreMinBlocks;
    tensorCores.tileN = options.tensorCoreTileN;
    tensorCores.wgmmaTileM = options.tensorCoreWgmmaTileM;
    pm.addPass(createTesseraTensorCoreGroupedMatmul(tensorCores));
    TesseraTensorCoreAttentionOptions attention;
    attention.chip = tensorCores.chip;
    attention.qBlock = options.tensorCoreQBlock;
    attention.warpRows = options.tensorCoreWarpRows;
    attention.latentWgmma = options.tensorCoreLatentWgmma;
    attention.attentionWgmma = options.tensorCoreAttentionWgmma;
    attention.wgmmaValues = options.tensorCoreWgmmaValues;
    pm.addPass(createTesseraTensorCoreAttention(attention));
  }

  void
  addKernelLoweringPasses(OpPassManager &pm,
                          const TesseraGPUPipelineOptions &) const override {
    // nvgpu's cp.async and ldmatrix first: they need the memref descriptors
    // that the GPU-to-NVVM conversion replaces.
    pm.addNestedPass<gpu::GPUModuleOp>(createConvertNVGPUToNVVMPass());
    ConvertGpuOpsToNVVMOpsOptions toNVVM;
    toNVVM.useBarePtrCallConv = true;
    toNVVM.indexBitwidth = 64;
    pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps(toNVVM));
    // Ops that become inline PTX (wgmma) after the conversion made the rest
    // LLVM.
    pm.addNestedPass<gpu::GPUModuleOp>(createConvertNVVMToLLVMPass());
    pm.addNestedPass<gpu::GPUModuleOp>(
        std::make_unique<ExternDynamicSharedMemoryPass>());
  }

  void
  addAttachTargetPass(OpPassManager &pm,
                      const TesseraGPUPipelineOptions &options) const override {
    GpuNVVMAttachTargetOptions attach;
    attach.chip = options.chip.empty() ? getDefaultChip().str()
                                       : std::string(options.chip);
    attach.features =
        options.features.empty() ? "+ptx80" : std::string(options.features);
    attach.optLevel = 3;
    attach.linkLibs.assign(options.link.begin(), options.link.end());
    pm.addPass(createGpuNVVMAttachTarget(attach));
  }
};

} // namespace

const GPUTarget &mlir::tessera::getNVPTXTarget() {
  static const NVPTXTarget target;
  return target;
}
