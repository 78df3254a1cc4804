//===- GPUPipeline.h - Tessera to NVVM / ROCDL kernels ----------*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The two GPU pipelines, `tessera-nvptx-pipeline` and
// `tessera-amdgpu-pipeline`. They share the mapping of Tessera's ops onto
// blocks and threads (stages 0-3) and differ only in what a GPUTarget
// describes: the dialect kernels are lowered to, the target attribute of
// the kernel module, the device math library and the image formats.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_TARGET_GPU_GPUPIPELINE_H
#define TESSERA_TARGET_GPU_GPUPIPELINE_H

#include "mlir/Pass/PassOptions.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mlir {
class DialectRegistry;
class OpPassManager;

namespace tessera {

/// Options of `tessera-nvptx-pipeline` and `tessera-amdgpu-pipeline`.
struct TesseraGPUPipelineOptions
    : public PassPipelineOptions<TesseraGPUPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip",
      llvm::cl::desc("GPU architecture: sm_80, sm_90, sm_90a (NVPTX); "
                     "gfx90a, gfx942 (AMDGPU). Empty: the target's default "
                     "(sm_90, gfx942)"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> features{
      *this, "features",
      llvm::cl::desc("LLVM target features of the kernels (NVPTX default: "
                     "+ptx80)"),
      llvm::cl::init("")};
  PassOptions::Option<int64_t> blockSize{
      *this, "block-size",
      llvm::cl::desc("Threads per block of the element-wise kernels"),
      llvm::cl::init(256)};
  PassOptions::Option<bool> tensorCores{
      *this, "tensor-cores",
      llvm::cl::desc("Run f16/bf16 grouped GEMMs and attention on the "
                     "matrix units where the target has kernels for them "
                     "(NVPTX sm_80+: both; AMDGPU gfx90a/gfx94x/gfx950: "
                     "both on MFMA)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> fuseMoE{
      *this, "fuse-moe",
      llvm::cl::desc("Gather the up projection's rows from the tokens and "
                     "fold the routing weights into the down projection "
                     "(tessera-fuse-moe; off until timed on a GPU)"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> tensorCoreStages{
      *this, "tensor-core-stages",
      llvm::cl::desc("K tiles in flight in the tensor-core kernels' shared "
                     "memory (fewer where they do not fit)"),
      llvm::cl::init(4)};
  PassOptions::Option<int64_t> tensorCoreMinBlocks{
      *this, "tensor-core-min-blocks",
      llvm::cl::desc("Blocks of a tensor-core kernel resident per "
                     "multiprocessor (bounds its registers)"),
      llvm::cl::init(1)};
  PassOptions::Option<int64_t> tensorCoreTileN{
      *this, "tensor-core-tile-n",
      llvm::cl::desc("Output columns per block of the tensor-core grouped "
                     "GEMM (128 or 256)"),
      llvm::cl::init(256)};
  PassOptions::Option<int64_t> tensorCoreWgmmaTileM{
      *this, "tensor-core-wgmma-tile-m",
      llvm::cl::desc("NVPTX sm_90a: rows per block of the wgmma grouped "
                     "GEMM (128: two warpgroups, 192: three; "
                     "tessera-tensor-core-grouped-matmul wgmma-tile-m; 192 "
                     "untimed on a GPU)"),
      llvm::cl::init(128)};
  PassOptions::Option<int64_t> tensorCoreQBlock{
      *this, "tensor-core-q-block",
      llvm::cl::desc("Query rows per block of the tensor-core attention "
                     "kernels (64 or 128)"),
      llvm::cl::init(128)};
  PassOptions::Option<int64_t> tensorCoreWarpRows{
      *this, "tensor-core-warp-rows",
      llvm::cl::desc("Query rows per warp (AMD: wavefront) of the "
                     "tensor-core attention kernels (16 or 32)"),
      llvm::cl::init(32)};
  PassOptions::Option<bool> tensorCoreLatentWgmma{
      *this, "tensor-core-latent-wgmma",
      llvm::cl::desc("NVPTX sm_90a: latent attention's scores by wgmma "
                     "(tessera-tensor-core-attention latent-wgmma; off "
                     "until timed on a GPU)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> tensorCoreAttentionWgmma{
      *this, "tensor-core-attention-wgmma",
      llvm::cl::desc("NVPTX sm_90a: attention's scores by wgmma "
                     "(tessera-tensor-core-attention attention-wgmma; off "
                     "until timed on a GPU)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> tensorCoreWgmmaValues{
      *this, "tensor-core-wgmma-values",
      llvm::cl::desc("NVPTX sm_90a, with one of the two above: P.V by wgmma "
                     "too (tessera-tensor-core-attention wgmma-values; off "
                     "until timed on a GPU)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> stopBeforeKernelLowering{
      *this, "stop-before-kernel-lowering",
      llvm::cl::desc("Stop after stage 3 with the kernels still in the GPU "
                     "dialect (their parallel loops nested, affine ops "
                     "lowered), as tessera-gpu-emulate runs them; not for "
                     "tessera-compile"),
      llvm::cl::init(false)};
  PassOptions::ListOption<std::string> link{
      *this, "link",
      llvm::cl::desc("Bitcode libraries linked into the kernels when they "
                     "are serialized (libdevice.10.bc, ocml.bc, ...)")};
};

/// What differs between GPU vendors. One instance per target, for the
/// pipeline builders and for the compiler's artifact emission.
class GPUTarget {
public:
  virtual ~GPUTarget();
  /// `nvptx` or `amdgpu`: the name of the target in tools and artifacts.
  virtual llvm::StringRef getName() const = 0;
  /// The chip used when the options name none.
  virtual llvm::StringRef getDefaultChip() const = 0;
  /// Checks a chip name (`sm_90a`, `gfx942`).
  virtual llvm::Error verifyChip(llvm::StringRef chip) const = 0;
  /// Adds the passes, run on tessera ops before the generic lowering, that
  /// replace ops by the target's matrix-unit kernels (tensor cores, MFMA);
  /// nothing where the target has none yet.
  virtual void
  addMatrixUnitPasses(OpPassManager &pm,
                      const TesseraGPUPipelineOptions &options) const = 0;
  /// Adds the lowering of `gpu.module` bodies to the vendor dialect (NVVM or
  /// ROCDL), nested on the kernel modules.
  virtual void
  addKernelLoweringPasses(OpPassManager &pm,
                          const TesseraGPUPipelineOptions &options) const = 0;
  /// Adds the pass attaching the vendor target attribute (chip, features,
  /// linked libraries) to the kernel modules.
  virtual void
  addAttachTargetPass(OpPassManager &pm,
                      const TesseraGPUPipelineOptions &options) const = 0;
};

const GPUTarget &getNVPTXTarget();
const GPUTarget &getAMDGPUTarget();

/// Checks what the pipeline builder cannot report (chip name, block size).
llvm::Error
verifyTesseraGPUPipelineOptions(const GPUTarget &target,
                                const TesseraGPUPipelineOptions &options);

/// Builds the pipeline from tessera ops on tensors to kernels in the vendor
/// dialect with the target attached. Stages and what holds after each:
///   0. convert-tessera-to-linalg (the reference lowering): linalg/scf/tensor.
///   1. one-shot-bufferize (function boundaries, identity layouts) and
///      buffer-results-to-out-params: results are out-parameters marked
///      `bufferize.result`, static temporaries are `memref.alloc`s.
///   2. linalg to parallel loops.
///   3. tessera-map-to-gpu: the functions hold only allocations, constants
///      and `gpu.launch_func`s of kernels in `gpu.module @tessera_kernels`.
///   4. the kernels lowered to NVVM / ROCDL (bare-pointer arguments) and the
///      target attached; `gpu-module-to-binary` (run by the compiler, not by
///      this pipeline) serializes them. With `stop-before-kernel-lowering`
///      the pipeline ends before this, with the kernels' parallel loops
///      nested and their affine ops lowered (tessera-gpu-emulate's input).
void buildTesseraGPUPipeline(OpPassManager &pm, const GPUTarget &target,
                             const TesseraGPUPipelineOptions &options);

/// Registers the dialects and interface models the GPU pipelines need.
void registerTesseraGPUPipelineDialects(DialectRegistry &registry);

/// Registers `tessera-nvptx-pipeline` and `tessera-amdgpu-pipeline`.
void registerTesseraGPUPipelines();

} // namespace tessera
} // namespace mlir

#endif // TESSERA_TARGET_GPU_GPUPIPELINE_H
