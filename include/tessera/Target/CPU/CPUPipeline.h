//===- CPUPipeline.h - Tessera to LLVM on the CPU ---------------*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_TARGET_CPU_CPUPIPELINE_H
#define TESSERA_TARGET_CPU_CPUPIPELINE_H

#include "mlir/Pass/PassOptions.h"
#include "llvm/Support/Error.h"

namespace mlir {
class DialectRegistry;
class MLIRContext;
class OpPassManager;

namespace tessera {

/// Options of `tessera-cpu-pipeline`.
struct TesseraCPUPipelineOptions
    : public PassPipelineOptions<TesseraCPUPipelineOptions> {
  PassOptions::Option<bool> reference{
      *this, "reference",
      llvm::cl::desc("Lower with the reference lowering only (no tiling or "
                     "fusion): the oracle that tessera-run --check uses"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> attentionQueryBlock{
      *this, "attention-q-block",
      llvm::cl::desc("Query rows per attention tile"), llvm::cl::init(64)};
  PassOptions::Option<int64_t> attentionKVBlock{
      *this, "attention-kv-block",
      llvm::cl::desc("Keys per step of the attention online softmax"),
      llvm::cl::init(64)};
  PassOptions::Option<bool> attentionPrefetch{
      *this, "attention-prefetch",
      llvm::cl::desc("Prefetch the next K/V block in decode attention "
                     "(tessera-tile-attention prefetch)"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> moeColumnBlock{
      *this, "moe-column-block",
      llvm::cl::desc("Output columns per parallel task of the expert GEMMs"),
      llvm::cl::init(64)};
  PassOptions::Option<int64_t> moeKBlock{
      *this, "moe-k-block",
      llvm::cl::desc("Reduction block of the expert GEMMs (kept in cache)"),
      llvm::cl::init(256)};
  PassOptions::Option<bool> moePrefetch{
      *this, "moe-prefetch",
      llvm::cl::desc("Prefetch the next weight block from the f32 and bf16 "
                     "dot-product register blocks of the expert GEMMs where "
                     "vectors have 16 lanes (tessera-tile-grouped-matmul "
                     "prefetch)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> fuseMoE{
      *this, "fuse-moe",
      llvm::cl::desc("Gather the expert GEMMs' rows from the tokens and fold "
                     "the routing weights into them (tessera-fuse-moe)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> bf16Dot{
      *this, "bf16-dot",
      llvm::cl::desc("Multiply bf16 expert GEMMs with AVX512-BF16 dot "
                     "products where `cpu` has them (vdpbf16ps)"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> cpu{
      *this, "cpu",
      llvm::cl::desc("CPU the vector code is for: native (the host) or an "
                     "LLVM CPU name such as znver4 or x86-64-v3; decides "
                     "vector-width when that is 0"),
      llvm::cl::init("native")};
  PassOptions::Option<int64_t> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("f32 lanes per vector register: 16 (AVX-512), 8 (AVX2); "
                     "0 = the widest vectors of `cpu`"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> registerRows{
      *this, "register-rows",
      llvm::cl::desc("Rows of a contraction's register block"),
      llvm::cl::init(8)};
  PassOptions::Option<int64_t> registerVectors{
      *this, "register-vectors",
      llvm::cl::desc("Vectors per row of a contraction's register block"),
      llvm::cl::init(2)};
  PassOptions::Option<unsigned> threads{
      *this, "threads",
      llvm::cl::desc("Threads for the parallel loops of tiled ops (OpenMP): "
                     "0 = the OpenMP default (all cores), 1 = no OpenMP"),
      llvm::cl::init(0)};
};

/// The f32 lanes of the widest vector registers of `cpu` ("native" or an
/// LLVM CPU name of the host's architecture): 16 with AVX-512, 8 with AVX,
/// 4 otherwise. An error names an unknown CPU.
llvm::Expected<int64_t> getCPUVectorWidth(llvm::StringRef cpu);

/// Whether `cpu` (native or an LLVM CPU name) has the AVX512-BF16 dot
/// product (vdpbf16ps); false for an unknown name.
bool hasCPUBF16Dot(llvm::StringRef cpu);

/// Checks what `buildTesseraCPUPipeline` cannot report: that `cpu` names a
/// known CPU. (The passes check their own options when they run.)
llvm::Error
verifyTesseraCPUPipelineOptions(const TesseraCPUPipelineOptions &options);

/// Builds the pipeline from tessera ops on tensors to the LLVM dialect for
/// the host CPU. Stages and what holds after each:
///   0. unless `reference`: tessera-decompose-moe, tessera-tile-attention
///      (flash attention) and tessera-tile-grouped-matmul (cache-blocked
///      expert GEMMs); the remaining tessera ops are untiled.
///   1. convert-tessera-to-linalg: no tessera op is left; linalg/scf/tensor.
///      Unless `reference`: tessera-vectorize tiles linalg ops to register
///      blocks and vectorizes them (vector.contract, masked transfers).
///   2. canonicalize, cse.
///   3. one-shot-bufferize (function boundaries, identity layouts) and the
///      buffer deallocation pipeline: memrefs only, results are freshly
///      allocated buffers owned by the caller.
///   4. scf.forall to scf.parallel, then (threads != 1) to OpenMP
///      (omp.parallel + omp.wsloop); linalg to loops, scf to cf, strided
///      metadata, affine: cf + memref (+ omp).
///   5. math/arith/index/memref/func/cf/ub to LLVM: only the llvm dialect.
/// `options` should have passed verifyTesseraCPUPipelineOptions; an unknown
/// `cpu` gets 4-lane vectors.
void buildTesseraCPUPipeline(OpPassManager &pm,
                             const TesseraCPUPipelineOptions &options);

/// Registers the dialects and interface models (bufferization, tiling) that
/// the
/// pipeline needs in a context that only knows the input's dialects, such as
/// an embedding application's; tools that register everything need not call
/// it.
void registerTesseraCPUPipelineDialects(DialectRegistry &registry);

/// Registers the translations from the pipeline's output (the llvm and omp
/// dialects) to LLVM IR in `context`.
void registerTesseraCPUTranslations(MLIRContext &context);

/// Registers `tessera-cpu-pipeline` with the global pipeline registry.
void registerTesseraCPUPipeline();

} // namespace tessera
} // namespace mlir

#endif // TESSERA_TARGET_CPU_CPUPIPELINE_H
