//===- GPUPipeline.cpp - The shared stages of the GPU pipelines -----------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Builds `tessera-nvptx-pipeline` and `tessera-amdgpu-pipeline` from the
// stages both vendors share (the mapping onto blocks and threads) and the
// vendor's GPUTarget (lib/Target/NVPTX, lib/Target/AMDGPU).
//
//===----------------------------------------------------------------------===//

#include "tessera/Target/GPU/GPUPipeline.h"
#include "tessera/Dialect/Tessera/IR/TesseraDialect.h"
#include "tessera/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/ControlFlow/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/LLVMIR/ROCDLDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::tessera;

GPUTarget::~GPUTarget() = default;

llvm::Error mlir::tessera::verifyTesseraGPUPipelineOptions(
    const GPUTarget &target, const TesseraGPUPipelineOptions &options) {
  if (!options.chip.empty())
    if (llvm::Error error = target.verifyChip(options.chip))
      return error;
  if (options.blockSize <= 0 || options.blockSize % 32 != 0 ||
      options.blockSize > 1024)
    return llvm::createStringError(
        "block-size must be a multiple of 32 in [32, 1024], got %lld",
        static_cast<long long>(options.blockSize));
  return llvm::Error::success();
}

void mlir::tessera::buildTesseraGPUPipeline(
    OpPassManager &pm, const GPUTarget &target,
    const TesseraGPUPipelineOptions &options) {
  // 0. Calls inlined, MoE layers as their parts (fused: gathered rows and
  //    scaled down projections), grouped GEMMs without
  //    data-dependent shapes, dispatch and combine without sequential
  //    scatter loops, then the reference lowering of the rest.
  pm.addPass(createInlinerPass());
  pm.addPass(createSymbolDCEPass());
  pm.addPass(createTesseraDecomposeMoE());
  if (options.fuseMoE)
    pm.addPass(createTesseraFuseMoE());
  if (options.tensorCores)
    target.addMatrixUnitPasses(pm, options);
  pm.addPass(createTesseraGatherGroupedMatmul());
  pm.addPass(createTesseraParallelScatter());
  pm.addPass(createConvertTesseraToLinalg());
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // 1. Buffers; results become out-parameters the runtime allocates.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  outParams.addResultAttribute = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // 2-3. Parallel loops, then kernels.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createCanonicalizerPass());
  TesseraMapToGPUOptions map;
  map.blockSize = options.blockSize;
  pm.addPass(createTesseraMapToGPU(map));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // 4. Kernels in the vendor dialect.
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createParallelForToNestedForsPass());
  kernels.addPass(createLowerAffinePass());
  if (options.stopBeforeKernelLowering)
    return;
  kernels.addPass(memref::createExpandStridedMetadataPass());
  kernels.addPass(createLowerAffinePass());
  kernels.addPass(createSCFToControlFlowPass());
  target.addKernelLoweringPasses(pm, options);
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  target.addAttachTargetPass(pm, options);
}

void mlir::tessera::registerTesseraGPUPipelineDialects(
    DialectRegistry &registry) {
  registry
      .insert<TesseraDialect, affine::AffineDialect, arith::ArithDialect,
              bufferization::BufferizationDialect, cf::ControlFlowDialect,
              func::FuncDialect, gpu::GPUDialect, index::IndexDialect,
              linalg::LinalgDialect, LLVM::LLVMDialect, math::MathDialect,
              memref::MemRefDialect, NVVM::NVVMDialect, nvgpu::NVGPUDialect,
              ROCDL::ROCDLDialect, scf::SCFDialect, tensor::TensorDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(
      registry);
  cf::registerBufferizableOpInterfaceExternalModels(registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
}

/// As PassPipelineRegistration, but bad options are reported.
static void registerGPUPipeline(const GPUTarget &target, StringRef dialect) {
  std::string name = ("tessera-" + target.getName() + "-pipeline").str();
  registerPassPipeline(
      name,
      ("Lower tessera ops to " + dialect +
       " kernels launched by gpu.launch_func, with the target attached")
          .str(),
      [&target, name](OpPassManager &pm, StringRef optionsString,
                      function_ref<LogicalResult(const Twine &)> errorHandler) {
        TesseraGPUPipelineOptions options;
        if (failed(options.parseFromString(optionsString)))
          return failure();
        if (llvm::Error error =
                verifyTesseraGPUPipelineOptions(target, options))
          return errorHandler(name + ": " + llvm::toString(std::move(error)));
        buildTesseraGPUPipeline(pm, target, options);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optionHandler) {
        optionHandler(TesseraGPUPipelineOptions());
      });
}

void mlir::tessera::registerTesseraGPUPipelines() {
  registerGPUPipeline(getNVPTXTarget(), "NVVM");
  registerGPUPipeline(getAMDGPUTarget(), "ROCDL");
}
