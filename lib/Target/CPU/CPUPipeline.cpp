//===- CPUPipeline.cpp - Tessera to LLVM on the CPU -----------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Target/CPU/CPUPipeline.h"
#include "tessera/Transforms/Passes.h"

#include "tessera/Dialect/Tessera/IR/TesseraDialect.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/ControlFlow/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Transforms/TilingInterfaceImpl.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Vector/Transforms/Passes.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <functional>
#include <memory>
#include <mutex>

using namespace mlir;
using namespace mlir::tessera;

/// A predicate telling whether `cpu` (native or an LLVM CPU name) has a
/// target feature (LLVM's name, e.g. "avx512f").
static llvm::Expected<std::function<bool(llvm::StringRef)>>
getCPUFeatureQuery(llvm::StringRef cpu) {
  if (cpu.empty() || cpu == "native") {
    llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
    return [features](llvm::StringRef name) { return features.lookup(name); };
  }

  static std::once_flag once;
  std::call_once(once, [] { llvm::InitializeNativeTarget(); });
  llvm::Triple triple(llvm::sys::getProcessTriple());
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return llvm::createStringError("no LLVM target for '" + triple.str() +
                                   "': " + error);
  // Creating a subtarget for an unknown name only warns: ask first.
  std::unique_ptr<llvm::MCSubtargetInfo> generic(
      target->createMCSubtargetInfo(triple, "", ""));
  if (!generic || !generic->isCPUStringValid(cpu))
    return llvm::createStringError("unknown CPU '" + cpu + "' for target '" +
                                   triple.str() + "'");
  std::shared_ptr<llvm::MCSubtargetInfo> info(
      target->createMCSubtargetInfo(triple, cpu, ""));
  return [info](llvm::StringRef name) {
    return info->checkFeatures(("+" + name).str());
  };
}

llvm::Expected<int64_t> mlir::tessera::getCPUVectorWidth(llvm::StringRef cpu) {
  auto hasFeature = getCPUFeatureQuery(cpu);
  if (!hasFeature)
    return hasFeature.takeError();
  if ((*hasFeature)("avx512f"))
    return 16;
  if ((*hasFeature)("avx"))
    return 8;
  return 4;
}

bool mlir::tessera::hasCPUBF16Dot(llvm::StringRef cpu) {
  auto hasFeature = getCPUFeatureQuery(cpu);
  if (!hasFeature) {
    llvm::consumeError(hasFeature.takeError());
    return false;
  }
  return (*hasFeature)("avx512bf16");
}

llvm::Error mlir::tessera::verifyTesseraCPUPipelineOptions(
    const TesseraCPUPipelineOptions &options) {
  if (llvm::Expected<int64_t> width = getCPUVectorWidth(options.cpu); !width)
    return width.takeError();
  return llvm::Error::success();
}

void mlir::tessera::buildTesseraCPUPipeline(
    OpPassManager &pm, const TesseraCPUPipelineOptions &options) {
  // f32 lanes of a vector register: `vector-width`, else those of `cpu`.
  int64_t lanes = options.vectorWidth;
  if (lanes == 0) {
    llvm::Expected<int64_t> width = getCPUVectorWidth(options.cpu);
    lanes = width ? *width : 4;
    llvm::consumeError(width.takeError());
  }
  // 0. A function that checks the dynamic sizes before the entry runs
  //    (tessera-shape-checks), then Tessera's own tiling and fusion.
  pm.addPass(createTesseraShapeChecks());
  if (!options.reference) {
    pm.addPass(createTesseraDecomposeMoE());
    if (options.fuseMoE)
      pm.addPass(createTesseraFuseMoE());
    TesseraTileAttentionOptions tileAttention;
    tileAttention.queryBlock = options.attentionQueryBlock;
    tileAttention.kvBlock = options.attentionKVBlock;
    tileAttention.prefetch = options.attentionPrefetch;
    pm.addPass(createTesseraTileAttention(tileAttention));
    TesseraTileGroupedMatmulOptions tileGroupedMatmul;
    tileGroupedMatmul.columnBlock = options.moeColumnBlock;
    tileGroupedMatmul.kBlock = options.moeKBlock;
    tileGroupedMatmul.rowBlock =
        llvm::isPowerOf2_64(options.registerRows)
            ? options.registerRows
            : static_cast<int64_t>(llvm::bit_floor(static_cast<uint64_t>(
                  std::max<int64_t>(options.registerRows, 1))));
    tileGroupedMatmul.bf16Dot = options.bf16Dot && hasCPUBF16Dot(options.cpu);
    // The explicit f32 register blocks are made of 16-lane vectors.
    tileGroupedMatmul.prefetch = options.moePrefetch && lanes == 16;
    pm.addPass(createTesseraTileGroupedMatmul(tileGroupedMatmul));
    pm.addPass(createTesseraFuseRoute());
  }

  // 1-2. Tessera to linalg on tensors.
  pm.addPass(createConvertTesseraToLinalg());
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // 2b. Register tiling and vectorization; accumulators stay in registers
  //     across reduction loops.
  if (!options.reference) {
    TesseraVectorizeOptions vectorize;
    vectorize.vectorWidth = lanes;
    vectorize.registerRows = options.registerRows;
    vectorize.registerVectors = options.registerVectors;
    pm.addNestedPass<func::FuncOp>(createTesseraVectorize(vectorize));
    // Masked transfers carry their mask as an operand from here on, which
    // bufferization understands.
    pm.addNestedPass<func::FuncOp>(vector::createLowerVectorMaskPass());
    pm.addNestedPass<func::FuncOp>(createTesseraApproximateMath());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createLoopInvariantCodeMotionPass());
    pm.addPass(createLoopInvariantSubsetHoistingPass());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
  }

  // 3. Bufferization.
  bufferization::OneShotBufferizePassOptions bufferizeOptions;
  bufferizeOptions.bufferizeFunctionBoundaries = true;
  bufferizeOptions.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferizeOptions));
  // Temporaries of sequential loops (the KV loop's score tiles) are
  // allocated once per loop, before deallocation is placed.
  if (!options.reference)
    pm.addNestedPass<func::FuncOp>(createTesseraHoistLoopBuffers());
  bufferization::BufferDeallocationPipelineOptions deallocOptions;
  bufferization::buildBufferDeallocationPipeline(pm, deallocOptions);
  pm.addPass(createConvertBufferizationToMemRefPass());
  // In-place updates of tiles leave copies of a subview onto an identical
  // one; CSE makes them self-copies, which canonicalization erases.
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());

  // 4. Loops and control flow.
  pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
  if (options.threads != 1) {
    ConvertSCFToOpenMPPassOptions openmp;
    openmp.numThreads = options.threads;
    pm.addPass(createConvertSCFToOpenMPPass(openmp));
  }
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());

  // 5. To the LLVM dialect. Contractions become outer products (FMAs of a
  //    broadcast column and a row), which keeps register blocks in zmm.
  // Row reductions (softmax max and sum) become horizontal vector.reduction
  // ops, which LLVM lowers to shuffle trees.
  pm.addNestedPass<func::FuncOp>(vector::createLowerVectorMultiReductionPass(
      vector::VectorMultiReductionLowering::InnerReduction));
  if (!options.reference)
    pm.addNestedPass<func::FuncOp>(createTesseraRelaxVectorReductions());
  VectorTransferToSCFOptions vectorToSCF;
  vectorToSCF.unroll = true;
  pm.addPass(createConvertVectorToSCFPass(vectorToSCF));
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(arith::createArithExpandOpsPass());
  ConvertVectorToLLVMPassOptions vectorToLLVM;
  vectorToLLVM.vectorContractLowering =
      vector::VectorContractLowering::OuterProduct;
  vectorToLLVM.reassociateFPReductions = true;
  // The bf16 dot products of tessera-tile-grouped-matmul.
  vectorToLLVM.x86Vector = true;
  // 16x16 f32 transposes (tessera-vectorize's blocks of transposed reads)
  // as AVX-512 shuffles.
  vectorToLLVM.vectorTransposeLowering =
      vector::VectorTransposeLowering::Shuffle16x16;
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::tessera::registerTesseraCPUPipelineDialects(
    DialectRegistry &registry) {
  registry.insert<TesseraDialect, affine::AffineDialect, arith::ArithDialect,
                  bufferization::BufferizationDialect, cf::ControlFlowDialect,
                  func::FuncDialect, index::IndexDialect, linalg::LinalgDialect,
                  LLVM::LLVMDialect, math::MathDialect, memref::MemRefDialect,
                  omp::OpenMPDialect, scf::SCFDialect, tensor::TensorDialect,
                  ub::UBDialect, vector::VectorDialect,
                  x86vector::X86VectorDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(
      registry);
  cf::registerBufferizableOpInterfaceExternalModels(registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  linalg::registerTilingInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  vector::registerBufferizableOpInterfaceExternalModels(registry);
}

void mlir::tessera::registerTesseraCPUTranslations(MLIRContext &context) {
  registerBuiltinDialectTranslation(context);
  registerLLVMDialectTranslation(context);
  registerOpenMPDialectTranslation(context);
}

void mlir::tessera::registerTesseraCPUPipeline() {
  // As PassPipelineRegistration, but an unknown `cpu` is reported.
  registerPassPipeline(
      "tessera-cpu-pipeline",
      "Lower tessera ops to the LLVM dialect for the host CPU",
      [](OpPassManager &pm, StringRef optionsString,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        TesseraCPUPipelineOptions options;
        if (failed(options.parseFromString(optionsString)))
          return failure();
        if (llvm::Error error = verifyTesseraCPUPipelineOptions(options))
          return errorHandler("tessera-cpu-pipeline: " +
                              llvm::toString(std::move(error)));
        buildTesseraCPUPipeline(pm, options);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optionHandler) {
        optionHandler(TesseraCPUPipelineOptions());
      });
}
