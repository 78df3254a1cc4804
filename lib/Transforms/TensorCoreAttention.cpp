//===- TensorCoreAttention.cpp - Flash attention on tensor/matrix cores --===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Replaces an eligible `tessera.attention` (f16 or bf16, static shapes, head
// dimensions D and Dv multiples of 16 of at most 128; a bias and a softcap
// turn the scores into softcap(scale q k + bias) before the mask) or
// `tessera.latent_attention` (f16 or bf16, static shapes, L and R multiples of
// 16) by a flash-attention kernel of `gpu.module @tessera_kernels` that runs on
// the tensor cores, and its launch between `bufferization.to_buffer` of the
// operands and `bufferization.to_tensor` of the results (as
// tessera-tensor-core-grouped-matmul).
//
// The kernel. The rows of a (batch, KV head) are the (query head, query)
// pairs of its query heads, head-major (GQA packing: K and V are read once
// per KV head, and a decode step's query heads share blocks; latent
// attention is one KV head for all query heads). A block of `q-block /
// warp-rows` warps owns `q-block` of these rows; each warp owns `warp-rows`
// rows, 16 or 32 (one or two row fragments of 16); a KV head of at most 64
// rows (decode) takes blocks of 64 rows and warps of 16 instead, which
// halves the idle rows of a block. The block stages its Q tile in shared
// memory once (a warp of one row fragment keeps its Q fragments in
// registers when D <= 128), then walks the key blocks of 64 the rows can see
// (causal and window bands and kv_lens bound the loop; blocks outside the
// band are never visited): K and V tiles are double-buffered in dynamic
// shared memory with `cp.async` (the next K tile loads while the scores are
// computed, the next V tile while P.V is), S = Q K^T comes from
// `mma.sync.m16n8k16` on `ldmatrix` fragments (with two row fragments, each
// K and V fragment read from shared memory feeds two mma, which halves the
// shared-memory traffic per mma: the default), an online softmax in base 2
// (the scale times log2(e) folded into one multiply-add before
// `ex2.approx`) keeps a running max and sum per row, and the probabilities,
// rounded to the input type, feed P.V's A operand straight from the score
// accumulators (an m16n8 C fragment pair is an m16k16 A fragment). Only the
// key blocks that cut the band or the key range apply the mask; the band of
// a block spans the smallest to the largest query index of its rows. The
// heaviest row blocks of a causal launch run first.
//
// Latent attention (DeepSeek MLA, D = L + R = 576, L = 512 values) differs
// in three ways: one tile per key block holds K and, in its first L
// columns, V (one copy, one barrier per block); the L output columns are
// split between `colGroups` warps per row fragment (256 each: 128 f32
// accumulators a thread), which each compute the row fragment's scores;
// and Q stays in shared memory. Its key blocks are 32 keys.
//
// Hopper (sm_90a, behind the pass options attention-wgmma and latent-wgmma):
// the scores come from `wgmma.mma_async` instead. Warps hold 16 rows and
// the 4 warps of a warpgroup 64: a block's 64-row quarters (attention) or
// its column groups (latent attention, 64 rows) are warpgroups. Q and K
// are staged unpadded in 128-byte swizzled blocks of 64 columns, which the
// tensor cores read from shared memory once per warpgroup and D / 16
// m64nNk16 steps; the copies are fenced for the async proxy before the
// barrier that publishes them. The accumulators come out in mma.sync's C
// fragment layout (warp w of the warpgroup: rows 16 w..), so the softmax
// and P.V (mma.sync, V's tile padded as before) are unchanged.
//
// Split KV. When the (row block, batch, KV head) blocks cannot fill the
// GPU (decode), `kv-splits` blocks share a row block's key blocks (grid z);
// each writes its rows' normalized f32 output and natural lse to a
// workspace, and a second kernel combines them: out = sum_s w_s O_s /
// sum_s w_s with w_s = exp(lse_s - max lse), lse = max + log(sum w).
//
// AMD CDNA (gfx90a, gfx940-942, gfx950): the same rows, band, score
// transform, mask, online softmax, split KV and combine on the matrix cores
// (`amdgpu.mfma 16x16x16`, wavefronts of 64 lanes). An MFMA lane l holds
// A[l % 16][4 (l / 16) + i], B[4 (l / 16) + i][l % 16] and
// D[4 (l / 16) + i][l % 16], i = 0..3, so the D of S = Q K^T would hold a
// row's scores across lanes in the layout of neither operand of P.V. The
// kernel computes the transposes instead: S^T = K Q^T (K from LDS as A, Q^T
// from registers as B) leaves each lane the scores of one row, l % 16, at
// keys 4 (l / 16) + i, which is the B operand of O^T = V^T P^T as it
// stands; V is staged transposed in LDS so that A reads 4 contiguous
// elements, and the lane's O^T elements are its row's columns
// 4 (l / 16) + i. A row's max and sum reduce over the 4 lanes l ^ 16,
// l ^ 32 (two shuffles). There is no asynchronous copy: each key block
// loads the next block's K and V into registers before its products and
// stores them to the (single) LDS stage after the next barrier. Latent
// attention loads only K's chunks and stores those of the first L columns
// to V^T too; as on NVIDIA, `colGroups` wavefronts share a row fragment,
// each with L / colGroups output columns, and key blocks are 16 where K
// [32, D] and V^T [L, 32] exceed the 64 KiB of LDS (D = 576).
//
// A row that sees no key gives zeros and an lse of -inf, as the reference.
// Needs sm_80 or newer, or one of those AMD chips; other chips, and other
// attentions (f32, dynamic shapes), keep the generic lowering.
//
//===----------------------------------------------------------------------===//

#include "TensorCoreUtils.h"
#include "tessera/Dialect/Tessera/IR/TesseraOps.h"
#include "tessera/Transforms/Passes.h"

#include "mlir/Dialect/AMDGPU/IR/AMDGPUDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

namespace mlir {
namespace tessera {
#define GEN_PASS_DEF_TESSERATENSORCOREATTENTION
#include "tessera/Transforms/Passes.h.inc"
} // namespace tessera
} // namespace mlir

#define DEBUG_TYPE "tessera-tensor-core-attention"

using namespace mlir;
using namespace mlir::tessera;
using namespace mlir::tessera::tensor_core;

namespace {

/// Keys per block: 8 score fragments of 16x8 per warp, 4 k-steps of P.V;
/// 4 and 2 for latent attention.
constexpr int64_t kKeyBlock = 64, kLatentKeyBlock = 32;
/// Output columns per warp of latent attention (128 f32 accumulators).
constexpr int64_t kLatentWarpColumns = 256;
/// Threads of a block of the split-KV combine kernel, one column each.
constexpr int64_t kCombineThreads = 128;

/// The shape of one attention, for the kernel emitter.
struct Problem {
  int64_t batch, qHeads, kvHeads, seqQ, seqKV;
  /// Columns of Q and K, and of V and the output.
  int64_t dim, valueDim;
  /// Latent attention: one KV operand [B, Skv, D] for every query head,
  /// whose first `valueDim` columns are V.
  bool latent;
  bool causal, hasLens, hasLse;
  int64_t window;
  double scale;
  /// An additive bias [B or 1, Hq or 1, Sq, Skv] and a softcap (0: none):
  /// the scores become softcap(scale q k + bias) before the mask.
  bool hasBias;
  double softcap;
  Type element;

  /// Rows of a KV head: its query heads x Sq.
  int64_t getPackedRows() const { return qHeads / kvHeads * seqQ; }
};

/// How the kernel divides a problem.
struct Tiling {
  /// Rows per block and per warp (16 or 32).
  int64_t qBlock, warpRows;
  /// Warps that share a row fragment, each with valueDim / colGroups of the
  /// output columns.
  int64_t colGroups;
  /// Keys per block (64, or 32 for latent attention) and the stages of K
  /// (and V) tiles in shared memory.
  int64_t keyBlock, stages;
  /// Blocks that share the key blocks of a row block (grid z); above 1 the
  /// blocks write partial results that a second kernel combines.
  int64_t splits;
  /// AMD matrix cores (MFMA, wavefronts of 64 lanes) instead of NVIDIA's
  /// mma.sync (warps of 32).
  bool mfma;
  /// sm_90a: each 64 rows of a block (attention) or each column group
  /// (latent attention) is a warpgroup of 16-row warps whose scores are one
  /// wgmma m64nNk16 chain from Q and K tiles in 128-byte swizzled shared
  /// memory.
  bool wgmma = false;
  /// With wgmma, P.V too: each warpgroup stores its probabilities to a
  /// swizzled P tile and one wgmma m64nNk16 chain (N its output columns)
  /// multiplies it by V's swizzled tile; else P.V is mma.sync.
  bool wgmmaValues = false;

  int64_t getWaveSize() const { return mfma ? 64 : 32; }
  int64_t getRowWarps() const { return qBlock / warpRows; }
  int64_t getThreads() const {
    return getWaveSize() * getRowWarps() * colGroups;
  }
};

/// Why `op` keeps the generic lowering, or an empty string.
std::string whyNotEligible(AttentionOp op) {
  auto q = cast<RankedTensorType>(op.getQ().getType());
  auto k = cast<RankedTensorType>(op.getK().getType());
  auto v = cast<RankedTensorType>(op.getV().getType());
  if (!q.hasStaticShape() || !k.hasStaticShape() || !v.hasStaticShape())
    return "dynamic shapes";
  if (!isa<Float16Type, BFloat16Type>(q.getElementType()))
    return "operands are not f16 or bf16";
  int64_t d = q.getDimSize(3), dv = v.getDimSize(3);
  if (d % 16 != 0 || d > 128 || dv % 16 != 0 || dv > 128)
    return "head dimensions are not multiples of 16 up to 128";
  if (q.getNumElements() == 0 || k.getNumElements() == 0)
    return "empty operands";
  // One block row per (batch, KV head): the grid's y dimension.
  if (q.getDimSize(0) * k.getDimSize(1) > 65535)
    return "more than 65535 (batch, KV head) pairs";
  std::optional<double> scale = op.getStaticScale();
  if (!scale || !(*scale > 0.0))
    return "the scale is not positive";
  return "";
}

std::string whyNotEligible(LatentAttentionOp op) {
  auto q = cast<RankedTensorType>(op.getQ().getType());
  auto kv = cast<RankedTensorType>(op.getKv().getType());
  if (!q.hasStaticShape() || !kv.hasStaticShape())
    return "dynamic shapes";
  if (!isa<Float16Type, BFloat16Type>(q.getElementType()))
    return "operands are not f16 or bf16";
  int64_t d = q.getDimSize(3), latent = op.getLatentDim();
  if (latent % 16 != 0 || d % 16 != 0)
    return "the latent and rope dimensions are not multiples of 16";
  if (q.getNumElements() == 0 || kv.getNumElements() == 0)
    return "empty operands";
  if (q.getDimSize(0) > 65535)
    return "more than 65535 batches";
  std::optional<double> scale = op.getStaticScale();
  if (!scale || !(*scale > 0.0))
    return "the scale is not positive";
  return "";
}

/// What Q [B, Hq, Sq, D] and the common operands and attributes of `op`
/// tell (the rest is for the caller).
template <typename OpT> Problem getQueryProblem(OpT op) {
  auto qType = cast<RankedTensorType>(op.getQ().getType());
  Problem p;
  p.batch = qType.getDimSize(0);
  p.qHeads = qType.getDimSize(1);
  p.seqQ = qType.getDimSize(2);
  p.dim = qType.getDimSize(3);
  p.element = qType.getElementType();
  p.causal = op.getCausal();
  p.hasLens = static_cast<bool>(op.getKvLens());
  p.scale = *op.getStaticScale();
  return p;
}

Problem getProblem(AttentionOp op) {
  Problem p = getQueryProblem(op);
  auto kType = cast<RankedTensorType>(op.getK().getType());
  p.valueDim = cast<RankedTensorType>(op.getV().getType()).getDimSize(3);
  p.kvHeads = kType.getDimSize(1);
  p.seqKV = kType.getDimSize(2);
  p.latent = false;
  p.window = op.getWindow();
  p.hasLse = static_cast<bool>(op.getLse());
  p.hasBias = static_cast<bool>(op.getBias());
  p.softcap = op.getSoftcap().convertToFloat();
  return p;
}

Problem getProblem(LatentAttentionOp op) {
  Problem p = getQueryProblem(op);
  p.valueDim = op.getLatentDim();
  p.kvHeads = 1;
  p.seqKV = cast<RankedTensorType>(op.getKv().getType()).getDimSize(1);
  p.latent = true;
  p.window = 0;
  p.hasLse = false;
  p.hasBias = false;
  p.softcap = 0.0;
  return p;
}

/// The shared-memory tiles of the kernel: Q, then the stages of K and (not
/// for latent attention, whose V is in K's tile) of V. MFMA: K [key, d]
/// and V transposed [d, key], one stage each.
SmallVector<MemRefType> getSharedTiles(MLIRContext *ctx, const Problem &p,
                                       const Tiling &t) {
  if (t.mfma)
    return {getSharedTileType(ctx, p.element, {t.keyBlock, p.dim}),
            getSharedTileType(ctx, p.element, {p.valueDim, t.keyBlock})};
  if (t.wgmma) {
    // Unpadded, in blocks of 64 columns (one 128-byte swizzled row each):
    // Q [D / 64, qBlock, 64], K [stages, D / 64, keys, 64]; both sizes are
    // multiples of 1024 bytes, so every tile starts at a swizzle period.
    // Attention's V is swizzled too for wgmma P.V, else it keeps the padded
    // rows of P.V's ldmatrix.
    auto workgroup =
        gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
    int64_t perRow = getSwizzleRowElements(p.element);
    auto swizzled = [&](ArrayRef<int64_t> shape) {
      return MemRefType::get(shape, p.element, MemRefLayoutAttrInterface(),
                             workgroup);
    };
    SmallVector<MemRefType> tiles = {
        swizzled({p.dim / perRow, t.qBlock, perRow}),
        swizzled({t.stages, p.dim / perRow, t.keyBlock, perRow})};
    if (!p.latent)
      tiles.push_back(
          t.wgmmaValues
              ? swizzled({t.stages, p.valueDim / perRow, t.keyBlock, perRow})
              : getSharedTileType(ctx, p.element,
                                  {t.stages, t.keyBlock, p.valueDim}));
    // P [warpgroups, 64 rows, 64 keys] (latent attention's 32 keys use
    // the first half of each row).
    if (t.wgmmaValues)
      tiles.push_back(swizzled({t.getThreads() / 128, 64, perRow}));
    return tiles;
  }
  SmallVector<MemRefType> tiles = {
      getSharedTileType(ctx, p.element, {t.qBlock, p.dim}),
      getSharedTileType(ctx, p.element, {t.stages, t.keyBlock, p.dim})};
  if (!p.latent)
    tiles.push_back(
        getSharedTileType(ctx, p.element, {t.stages, t.keyBlock, p.valueDim}));
  return tiles;
}

int64_t getSharedBytes(MLIRContext *ctx, const Problem &p, const Tiling &t) {
  int64_t bytes = 0;
  for (MemRefType tile : getSharedTiles(ctx, p, t))
    bytes += getBytes(tile);
  return bytes;
}

/// The tiling of `p`: `qBlock` and `warpRows` of the options for attention
/// (64 and 16 for a KV head of at most 64 rows); for latent attention the
/// rows rounded up to 16 (at most 64), warps of 16 rows, the output
/// columns in groups of at most 256 and key blocks of 32 (MFMA: 16 where
/// 32 do not fit); std::nullopt
/// when two stages of the tiles (MFMA: one) do not fit in `sharedBytes`.
/// `kvSplits` (0: as many as keep `multiprocessors` busy, at most one per
/// key block) splits the keys. `wgmma` (sm_90a and the pass option for the
/// kind of `p`) gives wgmma scores where D (L + R) is a multiple of 64:
/// attention in warps of 16 rows (a warpgroup per 64 rows), latent
/// attention where its blocks are 64 rows (a warpgroup per column group);
/// `wgmmaValues` adds P.V where a warpgroup's output columns are a
/// multiple of 64.
std::optional<Tiling> chooseTiling(MLIRContext *ctx, const Problem &p,
                                   bool mfma, bool wgmma, bool wgmmaValues,
                                   int64_t qBlock, int64_t warpRows,
                                   int64_t kvSplits, int64_t sharedBytes,
                                   int64_t multiprocessors) {
  Tiling t;
  int64_t rows = p.getPackedRows();
  t.mfma = mfma;
  t.qBlock = qBlock;
  t.warpRows = warpRows;
  t.colGroups = 1;
  if (p.latent) {
    t.qBlock = std::min<int64_t>(64, llvm::alignTo(rows, 16));
    t.warpRows = 16;
    // The smallest number of groups of whole 16-column pairs.
    t.colGroups = llvm::divideCeil(p.valueDim, kLatentWarpColumns);
    while (p.valueDim % (16 * t.colGroups) != 0)
      ++t.colGroups;
  } else if (rows <= 64) {
    // Decode: few rows a KV head; smaller blocks waste fewer rows (measured
    // on the H100: 0.197 ms instead of 0.222 for the GQA decode benchmark).
    t.qBlock = 64;
    t.warpRows = 16;
  }
  // Latent attention: key blocks of 32 (no spills at D = 576, unlike 64:
  // 0.134 instead of 0.174 ms for the MLA decode benchmark on the H100).
  // Three stages measured no faster (0.1375 ms).
  t.keyBlock = p.latent ? kLatentKeyBlock : kKeyBlock;
  // MFMA: the next block waits in registers, not in a second stage.
  t.stages = mfma ? 1 : 2;
  t.wgmma = wgmma && !mfma && p.dim % getSwizzleRowElements(p.element) == 0 &&
            (!p.latent || t.qBlock == 64);
  if (t.wgmma)
    t.warpRows = 16;
  t.wgmmaValues =
      t.wgmma && wgmmaValues &&
      p.valueDim / t.colGroups % getSwizzleRowElements(p.element) == 0;
  // MFMA latent attention: K [32, 576] and V^T [512, 32] exceed 64 KiB of
  // LDS; blocks of 16 keys (one score fragment) fit in 43 KiB.
  if (mfma && p.latent && getSharedBytes(ctx, p, t) > sharedBytes)
    t.keyBlock = 16;
  if (getSharedBytes(ctx, p, t) > sharedBytes)
    return std::nullopt;
  int64_t blocks = llvm::divideCeil(rows, t.qBlock) * p.batch * p.kvHeads;
  int64_t keyBlocks = llvm::divideCeil(p.seqKV, t.keyBlock);
  t.splits = kvSplits > 0 ? kvSplits : multiprocessors / blocks;
  t.splits =
      std::clamp<int64_t>(t.splits, 1, std::min<int64_t>(keyBlocks, 65535));
  return t;
}

/// What the mma.sync and the MFMA kernel emitters share: the arguments,
/// index arithmetic, the keys a block's rows may see, and the transform and
/// the mask of a score.
class EmitterBase {
protected:
  EmitterBase(ImplicitLocOpBuilder &b, gpu::GPUFuncOp kernel, const Problem &p,
              const Tiling &t)
      : b(b), p(p), t(t) {
    Block &entry = kernel.getBody().front();
    unsigned next = 0;
    q = entry.getArgument(next++);
    k = entry.getArgument(next++);
    v = p.latent ? k : entry.getArgument(next++);
    if (p.hasBias)
      bias = entry.getArgument(next++);
    if (p.hasLens)
      lens = entry.getArgument(next++);
    out = entry.getArgument(next++);
    if (p.hasLse || t.splits > 1)
      lse = entry.getArgument(next++);
  }

  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, value);
  }
  Value f32(double value) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(value));
  }
  Value add(Value l, Value r) { return arith::AddIOp::create(b, l, r); }
  Value sub(Value l, Value r) { return arith::SubIOp::create(b, l, r); }
  Value mul(Value l, Value r) { return arith::MulIOp::create(b, l, r); }
  Value div(Value l, int64_t r) {
    return arith::DivUIOp::create(b, l, index(r));
  }
  Value rem(Value l, int64_t r) {
    return arith::RemUIOp::create(b, l, index(r));
  }
  Value cmp(arith::CmpIPredicate pred, Value l, Value r) {
    return arith::CmpIOp::create(b, pred, l, r);
  }
  Value minSI(Value l, Value r) { return arith::MinSIOp::create(b, l, r); }
  Value maxSI(Value l, Value r) { return arith::MaxSIOp::create(b, l, r); }
  Value exp2(Value x) { return createExp2(b, x, t.mfma); }
  Value log2(Value x) { return createLog2(b, x, t.mfma); }
  /// A vector<4xf32> of zeros (an accumulator fragment).
  Value zeroFragment() {
    auto type = VectorType::get({4}, b.getF32Type());
    return arith::ConstantOp::create(
        b, type, DenseElementsAttr::get(type, b.getF32FloatAttr(0.0f)));
  }

  /// The query head and query index of packed row `r` (the block-relative
  /// row plus r0): rows are the (head, query) pairs of the KV head's query
  /// heads, head-major.
  std::pair<Value, Value> getHeadAndQuery(Value r);
  /// Sets batch, kvHead, r0, the band of the block's rows and the key
  /// blocks [blockBegin, blockEnd) the block visits (its split's share).
  void emitBlockBounds();
  /// The last key packed row `r` may see when causal: its query index plus
  /// Skv_eff - Sq.
  Value getDiagonal(Value r) { return add(getHeadAndQuery(r).second, offset); }
  /// Whether `key` is visible to a row of diagonal `diag`.
  Value isVisible(Value key, Value diag);
  /// Whether key block `block` cuts the key range or the band of the
  /// block's rows (the others need no mask).
  Value needsMask(Value block);
  /// Whether the scores are transformed (bias, softcap) before the mask:
  /// then they reach the softmax already scaled, in base 2.
  bool transformsScores() const { return p.hasBias || p.softcap != 0.0; }
  /// softcap(scale s + bias) log2(e) of the score of packed row `r` and
  /// `key`; the bias element's row is clamped to the last packed row and its
  /// key to the last key (what lies past them is never stored or is masked).
  Value transformScore(Value score, Value r, Value key);

  ImplicitLocOpBuilder &b;
  const Problem &p;
  const Tiling &t;
  /// Out and lse are the partial results (f32) of the split when there are
  /// several.
  Value q, k, v, bias, lens, out, lse;
  Value batch, kvHead, split;
  /// The block's first packed row; the smallest and largest query index of
  /// its rows (bounds of the band it may see).
  Value r0, queryMin, queryMax;
  /// Keys at or past kvLimit (min(Skv, Skv_eff)) are masked; offset is
  /// Skv_eff - Sq; the loop visits key blocks [blockBegin, blockEnd).
  Value kvLimit, offset, blockBegin, blockEnd;
};

std::pair<Value, Value> EmitterBase::getHeadAndQuery(Value r) {
  int64_t group = p.qHeads / p.kvHeads;
  Value head = add(mul(kvHead, index(group)), div(r, p.seqQ));
  return {head, rem(r, p.seqQ)};
}

void EmitterBase::emitBlockBounds() {
  // Blocks in reverse: the heaviest (last) query blocks of a causal
  // attention first.
  int64_t rowBlocks = llvm::divideCeil(p.getPackedRows(), t.qBlock);
  r0 = mul(
      sub(index(rowBlocks - 1), gpu::BlockIdOp::create(b, gpu::Dimension::x)),
      index(t.qBlock));
  Value bh = gpu::BlockIdOp::create(b, gpu::Dimension::y);
  batch = div(bh, p.kvHeads);
  kvHead = rem(bh, p.kvHeads);
  // The query indices of the block's rows: r0 % Sq .. rLast % Sq when they
  // belong to one head, else any.
  Value rLast =
      minSI(add(r0, index(t.qBlock - 1)), index(p.getPackedRows() - 1));
  Value oneHead =
      cmp(arith::CmpIPredicate::eq, div(r0, p.seqQ), div(rLast, p.seqQ));
  queryMin = arith::SelectOp::create(b, oneHead, rem(r0, p.seqQ), index(0));
  queryMax = arith::SelectOp::create(b, oneHead, rem(rLast, p.seqQ),
                                     index(p.seqQ - 1));

  // The keys the block's rows may see: [lo, hi) of [0, kvLimit).
  Value seqKVEff = index(p.seqKV);
  if (lens)
    seqKVEff = arith::IndexCastOp::create(
        b, b.getIndexType(), memref::LoadOp::create(b, lens, batch));
  kvLimit = maxSI(minSI(seqKVEff, index(p.seqKV)), index(0));
  offset = sub(seqKVEff, index(p.seqQ));
  Value hi = kvLimit;
  if (p.causal)
    hi = minSI(hi, add(add(queryMax, index(1)), offset));
  Value lo = index(0);
  if (p.window)
    lo = maxSI(lo, add(sub(add(queryMin, offset), index(p.window)), index(1)));
  blockBegin = arith::DivSIOp::create(b, lo, index(t.keyBlock));
  blockEnd =
      maxSI(arith::CeilDivSIOp::create(b, hi, index(t.keyBlock)), blockBegin);
  if (t.splits > 1) {
    // Split z takes the z-th of `splits` equal runs of these key blocks.
    split = gpu::BlockIdOp::create(b, gpu::Dimension::z);
    Value perSplit = arith::CeilDivSIOp::create(b, sub(blockEnd, blockBegin),
                                                index(t.splits));
    Value begin = add(blockBegin, mul(split, perSplit));
    blockEnd = maxSI(minSI(blockEnd, add(begin, perSplit)), begin);
    blockBegin = begin;
  }
}

Value EmitterBase::isVisible(Value key, Value diag) {
  Value visible = cmp(arith::CmpIPredicate::slt, key, kvLimit);
  if (p.causal)
    visible = arith::AndIOp::create(b, visible,
                                    cmp(arith::CmpIPredicate::sle, key, diag));
  if (p.window)
    visible = arith::AndIOp::create(
        b, visible,
        cmp(arith::CmpIPredicate::sgt, key, sub(diag, index(p.window))));
  return visible;
}

Value EmitterBase::needsMask(Value block) {
  Value keyStart = mul(block, index(t.keyBlock));
  Value needed =
      cmp(arith::CmpIPredicate::sgt, add(keyStart, index(t.keyBlock)), kvLimit);
  if (p.causal)
    needed = arith::OrIOp::create(b, needed,
                                  cmp(arith::CmpIPredicate::sgt,
                                      add(keyStart, index(t.keyBlock - 1)),
                                      add(queryMin, offset)));
  if (p.window)
    needed =
        arith::OrIOp::create(b, needed,
                             cmp(arith::CmpIPredicate::sle, keyStart,
                                 sub(add(queryMax, offset), index(p.window))));
  return needed;
}

Value EmitterBase::transformScore(Value score, Value r, Value key) {
  Type f32Type = b.getF32Type();
  Value value = arith::MulFOp::create(b, score, f32(p.scale));
  if (bias) {
    auto biasType = cast<MemRefType>(bias.getType());
    auto [head, query] =
        getHeadAndQuery(minSI(r, index(p.getPackedRows() - 1)));
    Value term = memref::LoadOp::create(
        b, bias,
        ValueRange{biasType.getDimSize(0) == 1 ? index(0) : batch,
                   biasType.getDimSize(1) == 1 ? index(0) : head, query,
                   minSI(key, index(p.seqKV - 1))});
    if (term.getType() != f32Type)
      term = arith::ExtFOp::create(b, f32Type, term);
    value = arith::AddFOp::create(b, value, term);
  }
  if (p.softcap != 0.0)
    value = arith::MulFOp::create(
        b,
        math::TanhOp::create(
            b, arith::MulFOp::create(b, value, f32(1.0 / p.softcap))),
        f32(p.softcap));
  return arith::MulFOp::create(b, value, f32(M_LOG2E));
}

/// Builds the mma.sync kernel body; see the file comment.
class KernelEmitter : EmitterBase {
public:
  KernelEmitter(ImplicitLocOpBuilder &b, gpu::GPUFuncOp kernel,
                const Problem &p, const Tiling &t)
      : EmitterBase(b, kernel, p, t), rowFrags(t.warpRows / 16),
        keyFrags(t.keyBlock / 8), valueCols(p.valueDim / t.colGroups) {}

  void emit();

private:
  /// The max (or sum) of `value` over the 4 lanes that hold a row.
  Value reduceQuad(Value value, bool isMax);

  void emitCopyTile(Value tile, ValueRange tileIndex, Value source,
                    int64_t rows, int64_t cols,
                    function_ref<SmallVector<Value>(Value)> sourceRow);
  /// Copies the first `cols` columns of key block `block` into `stage` of
  /// `tile`.
  void emitLoadKeys(Value tile, Value source, int64_t cols, Value stage,
                    Value block);
  /// The block-relative first row of the warp's row fragment `mi`.
  Value getFragmentRow(int64_t mi);
  SmallVector<Value> getQFragment(int64_t mi, int64_t kk);
  /// Whether `tile` is stored in 128-byte swizzled blocks of 64 columns
  /// (wgmma's Q and K, latent attention's V, which is K's tile, and V for
  /// wgmma P.V).
  bool isSwizzled(Value tile) const {
    return t.wgmma &&
           (tile == tileQ || tile == tileK || (t.wgmmaValues && tile == tileV));
  }
  /// The index of row `r`, column `c` (a multiple of 8) of shared tile
  /// `tile` after the `prefix` indices (the stage): padded rows, or the
  /// swizzled blocks of 64 columns.
  SmallVector<Value> getTileIndex(Value tile, ValueRange prefix, Value r,
                                  Value c);
  SmallVector<Value> emitScores(Value stage);
  /// An i64 constant, and an index as i64 (wgmma descriptor offsets).
  Value i64(int64_t value) {
    return arith::ConstantIntOp::create(b, b.getI64Type(), value);
  }
  Value toI64(Value value) {
    return arith::IndexCastUIOp::create(b, b.getI64Type(), value);
  }
  /// emitScores on sm_90a: one wgmma chain per warpgroup.
  SmallVector<Value> emitWgmmaScores(Value stage);
  /// With wgmma, which reads shared memory through the async proxy: makes
  /// the thread's finished copies and stores visible to it (before the
  /// barrier that publishes them).
  void emitAsyncProxyFence();
  SmallVector<Value> emitMask(ValueRange scores, Value keyBlock, int64_t mi);
  /// softcap(scale s + bias) log2(e) for every score of key block `block`.
  SmallVector<Value> emitScoreTransform(ArrayRef<Value> scores, Value block);
  /// The scores of every row fragment, masked when `block` needs it.
  SmallVector<Value> emitMaskIfNeeded(ArrayRef<Value> scores, Value block);
  SmallVector<Value> emitOnlineSoftmax(ValueRange scores, ValueRange o,
                                       ValueRange maxes, ValueRange sums,
                                       SmallVector<Value> &probabilities);
  /// The online-softmax step of every row fragment: O, the maxes and the
  /// sums as the loop carries them.
  SmallVector<Value>
  emitSoftmaxStep(ValueRange scores, ValueRange carried,
                  SmallVector<SmallVector<Value>> &probabilities);
  SmallVector<Value> emitProbabilitiesTimesValues(
      Value stage, ArrayRef<SmallVector<Value>> probabilities, ValueRange o);
  /// emitProbabilitiesTimesValues on sm_90a: P through shared memory, one
  /// wgmma chain per warpgroup.
  SmallVector<Value>
  emitWgmmaProbabilitiesTimesValues(Value stage, ArrayRef<Value> probabilities,
                                    ValueRange o);
  void emitStore(ValueRange o, ValueRange maxes, ValueRange sums, int64_t mi);

  /// 16-row fragments per warp, 8-key score fragments per block, output
  /// columns per warp.
  int64_t rowFrags, keyFrags, valueCols;
  Value tileQ, tileK, tileV, tileP;
  /// With wgmma: the shared addresses (i64) of the Q and K tiles (and of V
  /// and P for P.V).
  Value baseQ, baseK, baseV, baseP;
  Value tid, lane, warp;
  /// The warp's row warp and its first output column.
  Value rowWarp, colBase;
  /// Q's A fragments per k-step, when the warp keeps them in registers
  /// (one row fragment per warp); else they are read from shared memory.
  SmallVector<SmallVector<Value>> qFrags;
};

Value KernelEmitter::getFragmentRow(int64_t mi) {
  return add(mul(rowWarp, index(16 * rowFrags)), index(16 * mi));
}

/// Q's A fragment of row fragment `mi` and k-step `kk`: lanes 0-15 address
/// rows 0-15 at d = 16kk, lanes 16-31 the same rows at d + 8; registers
/// (rows, d) 0-7/0-7, 8-15/0-7, 0-7/8-15, 8-15/8-15.
SmallVector<Value> KernelEmitter::getQFragment(int64_t mi, int64_t kk) {
  if (!qFrags.empty())
    return qFrags[kk];
  return getLdMatrixRows(
      b, nvgpu::LdMatrixOp::create(
             b, VectorType::get({4, 2}, p.element), tileQ,
             ValueRange{add(getFragmentRow(mi), rem(lane, 16)),
                        add(index(kk * 16), mul(div(lane, 16), index(8)))},
             /*transpose=*/false, /*numTiles=*/4));
}

Value KernelEmitter::reduceQuad(Value value, bool isMax) {
  for (int64_t mask : {1, 2}) {
    Value other =
        gpu::ShuffleOp::create(b, value, mask, 32, gpu::ShuffleMode::XOR)
            .getShuffleResult();
    value = isMax ? Value(arith::MaximumFOp::create(b, value, other))
                  : Value(arith::AddFOp::create(b, value, other));
  }
  return value;
}

/// cp.async of `rows` x `cols` elements into tile[tileIndex.., :, :]: row r
/// of the tile from source[sourceRow(r)..., :cols].
void KernelEmitter::emitCopyTile(
    Value tile, ValueRange tileIndex, Value source, int64_t rows, int64_t cols,
    function_ref<SmallVector<Value>(Value)> sourceRow) {
  int64_t chunksPerRow = cols / kChunk, chunks = rows * chunksPerRow;
  int64_t threads = t.getThreads();
  for (int64_t part = 0; part * threads < chunks; ++part) {
    Value chunk = add(tid, index(part * threads));
    auto copy = [&] {
      Value r = div(chunk, chunksPerRow);
      Value c = mul(rem(chunk, chunksPerRow), index(kChunk));
      SmallVector<Value> src = sourceRow(r);
      src.push_back(c);
      nvgpu::DeviceAsyncCopyOp::create(
          b, tile, getTileIndex(tile, tileIndex, r, c), source, src,
          b.getIndexAttr(kChunk), Value(), b.getUnitAttr());
    };
    if ((part + 1) * threads <= chunks) {
      copy();
      continue;
    }
    auto ifCopy = scf::IfOp::create(
        b, cmp(arith::CmpIPredicate::ult, chunk, index(chunks)), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifCopy.thenBlock());
    copy();
  }
}

/// Issues the copies of key block `block` into `stage` of `tile` (K or V)
/// when the block is before the end of the band, and commits a group either
/// way (an empty one keeps the wait counts uniform).
void KernelEmitter::emitLoadKeys(Value tile, Value source, int64_t cols,
                                 Value stage, Value block) {
  auto ifLoad = scf::IfOp::create(
      b, cmp(arith::CmpIPredicate::slt, block, blockEnd), false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifLoad.thenBlock());
    // Keys clamped to the last one (what lies past the end is masked).
    Value key0 = mul(block, index(t.keyBlock));
    emitCopyTile(tile, stage, source, t.keyBlock, cols, [&](Value r) {
      Value key = minSI(add(key0, r), index(p.seqKV - 1));
      if (p.latent)
        return SmallVector<Value>{batch, key};
      return SmallVector<Value>{batch, kvHead, key};
    });
  }
  NVVM::CpAsyncCommitGroupOp::create(b);
}

/// S = Q K^T of the warp's rows and the keys of `stage`: keyFrags
/// vector<4xf32> fragments of 16x8 per row fragment (row fragment-major). K
/// is stored [key, d], which is B in column-major order: an x4 ldmatrix
/// without transpose reads two fragments' k-step (keys of fragments j and j
/// + 1, d and d + 8), used by every row fragment.
SmallVector<Value> KernelEmitter::emitScores(Value stage) {
  if (t.wgmma)
    return emitWgmmaScores(stage);
  SmallVector<Value> s(rowFrags * keyFrags, zeroFragment());
  auto ldType = VectorType::get({4, 2}, p.element);
  Value keyInPair = add(rem(lane, 8), mul(div(lane, 16), index(8)));
  Value dHalf = mul(rem(div(lane, 8), 2), index(8));
  for (int64_t kk = 0; kk < p.dim / 16; ++kk) {
    SmallVector<SmallVector<Value>> a;
    for (int64_t mi = 0; mi < rowFrags; ++mi)
      a.push_back(getQFragment(mi, kk));
    for (int64_t j = 0; j < keyFrags; j += 2) {
      SmallVector<Value> regs =
          getLdMatrixRows(b, nvgpu::LdMatrixOp::create(
                                 b, ldType, tileK,
                                 ValueRange{stage, add(index(j * 8), keyInPair),
                                            add(index(kk * 16), dHalf)},
                                 /*transpose=*/false, /*numTiles=*/4));
      for (int64_t mi = 0; mi < rowFrags; ++mi) {
        Value *frag = &s[mi * keyFrags + j];
        frag[0] =
            createMmaSync(b, p.element, a[mi], {regs[0], regs[1]}, frag[0]);
        frag[1] =
            createMmaSync(b, p.element, a[mi], {regs[2], regs[3]}, frag[1]);
      }
    }
  }
  return s;
}

SmallVector<Value> KernelEmitter::getTileIndex(Value tile, ValueRange prefix,
                                               Value r, Value c) {
  SmallVector<Value> result(prefix);
  if (!isSwizzled(tile)) {
    result.append({r, c});
    return result;
  }
  int64_t perRow = getSwizzleRowElements(p.element);
  Value chunk = div(rem(c, perRow), kChunk);
  Value slot = arith::XOrIOp::create(b, chunk, rem(r, kSwizzleRows));
  result.append({div(c, perRow), r, mul(slot, index(kChunk))});
  return result;
}

/// S = Q K^T for the warpgroup's 64 rows (its 4 warps' row fragments:
/// rows 64 (rowWarp / 4).. of the block) and the keyBlock keys of `stage`:
/// D / 16 wgmma m64nNk16 committed as one group and waited for. Both operands
/// are K-major (rows of d): a k-step moves 32 bytes along a swizzled row, or to
/// the next 64-column block; 8-row groups are 1024 bytes apart. Warp w of the
/// warpgroup holds rows 16 w + lane / 4 (+ 8) and element 4 j + 2 half + e at
/// key 8 j + 2 (lane % 4) + e: the mma.sync C fragments of emitScores.
SmallVector<Value> KernelEmitter::emitWgmmaScores(Value stage) {
  int64_t bytes = p.element.getIntOrFloatBitWidth() / 8;
  int64_t perRow = getSwizzleRowElements(p.element), blocks = p.dim / perRow;
  int64_t groupBytes = kSwizzleRows * kSwizzleBytes;
  Value offsetK = arith::MulIOp::create(
      b, toI64(stage), i64(blocks * t.keyBlock * kSwizzleBytes));
  Value offsetQ =
      arith::MulIOp::create(b, toI64(div(rowWarp, 4)), i64(64 * kSwizzleBytes));
  Value acc = LLVM::ZeroOp::create(
      b,
      LLVM::LLVMStructType::getLiteral(
          b.getContext(), SmallVector<Type>(t.keyBlock / 2, b.getF32Type())));
  NVVM::WgmmaFenceAlignedOp::create(b);
  for (int64_t kk = 0; kk < p.dim / 16; ++kk) {
    int64_t block = kk * 16 / perRow, inRow = kk * 16 % perRow * bytes;
    Value descQ = createWgmmaDescriptor(
        b, baseQ, 16, groupBytes,
        arith::AddIOp::create(b, offsetQ,
                              i64(block * t.qBlock * kSwizzleBytes + inRow)));
    Value descK = createWgmmaDescriptor(
        b, baseK, 16, groupBytes,
        arith::AddIOp::create(b, offsetK,
                              i64(block * t.keyBlock * kSwizzleBytes + inRow)));
    acc = createWgmma(b, p.element, acc, descQ, descK, t.keyBlock,
                      /*bMajorN=*/false);
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b);
  NVVM::WgmmaWaitGroupSyncOp::create(b, 0);
  return unpackWgmmaAccumulators(b, acc);
}

void KernelEmitter::emitAsyncProxyFence() {
  if (!t.wgmma)
    return;
  NVVM::FenceProxyOp::create(
      b, NVVM::ProxyKind::async_shared,
      NVVM::SharedSpaceAttr::get(b.getContext(),
                                 NVVM::SharedSpace::shared_cta));
}

/// The scores of row fragment `mi` with keys the rows may not see at -inf:
/// fragment element (half, e) of fragment j is row lane/4 + 8 half, key
/// 8j + 2(lane%4) + e.
SmallVector<Value> KernelEmitter::emitMask(ValueRange scores, Value keyBlock,
                                           int64_t mi) {
  SmallVector<Value> masked;
  Value negInf = f32(-INFINITY);
  Value key0 =
      add(mul(keyBlock, index(t.keyBlock)), mul(rem(lane, 4), index(2)));
  Value row0 = add(r0, add(getFragmentRow(mi), div(lane, 4)));
  for (int64_t j = 0; j < keyFrags; ++j) {
    SmallVector<Value> elements;
    for (int64_t half = 0; half < 2; ++half) {
      Value diag = getDiagonal(add(row0, index(8 * half)));
      for (int64_t e = 0; e < 2; ++e) {
        Value visible = isVisible(add(key0, index(8 * j + e)), diag);
        Value score = vector::ExtractOp::create(b, scores[j], 2 * half + e);
        elements.push_back(arith::SelectOp::create(b, visible, score, negInf));
      }
    }
    masked.push_back(vector::FromElementsOp::create(
        b, VectorType::get({4}, b.getF32Type()), elements));
  }
  return masked;
}

/// Fragment element (half, e) of fragment j of row fragment mi is row
/// lane/4 + 8 half, key 8j + 2(lane%4) + e (as in emitMask).
SmallVector<Value> KernelEmitter::emitScoreTransform(ArrayRef<Value> scores,
                                                     Value block) {
  Value key0 = add(mul(block, index(t.keyBlock)), mul(rem(lane, 4), index(2)));
  SmallVector<Value> result;
  for (int64_t mi = 0; mi < rowFrags; ++mi) {
    Value row0 = add(r0, add(getFragmentRow(mi), div(lane, 4)));
    for (int64_t j = 0; j < keyFrags; ++j) {
      Value frag = scores[mi * keyFrags + j];
      SmallVector<Value> elements;
      for (int64_t half = 0; half < 2; ++half)
        for (int64_t e = 0; e < 2; ++e)
          elements.push_back(transformScore(
              vector::ExtractOp::create(b, frag, 2 * half + e),
              add(row0, index(8 * half)), add(key0, index(8 * j + e))));
      result.push_back(vector::FromElementsOp::create(
          b, VectorType::get({4}, b.getF32Type()), elements));
    }
  }
  return result;
}

/// Only blocks that cut the key range or the band are masked.
SmallVector<Value> KernelEmitter::emitMaskIfNeeded(ArrayRef<Value> scores,
                                                   Value block) {
  SmallVector<Type> scoreTypes(scores.size(),
                               VectorType::get({4}, b.getF32Type()));
  auto ifMask = scf::IfOp::create(b, scoreTypes, needsMask(block),
                                  /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifMask.thenBlock());
  SmallVector<Value> masked;
  for (int64_t mi = 0; mi < rowFrags; ++mi)
    llvm::append_range(
        masked, emitMask(scores.slice(mi * keyFrags, keyFrags), block, mi));
  scf::YieldOp::create(b, masked);
  b.setInsertionPointToStart(ifMask.elseBlock());
  scf::YieldOp::create(b, scores);
  return ifMask.getResults();
}

/// One online-softmax step over the scores of a key block: per row (half
/// 0 and 1 of the fragments), the new running max m' = max(m, max(s) c)
/// with c = scale log2(e), probabilities p = 2^(s c - m'), the running sum
/// l' = l 2^(m - m') + sum(p) (a partial sum per lane, reduced at the end)
/// and O scaled by 2^(m - m'). A row that has seen no key yet keeps m' =
/// -inf and uses 0 in place of it, so that no inf - inf appears. Returns
/// O, m' and l' (as the loop carries them) and sets `probabilities` to the
/// A fragments of P.V (4 registers each, row-major).
SmallVector<Value>
KernelEmitter::emitOnlineSoftmax(ValueRange scores, ValueRange o,
                                 ValueRange maxes, ValueRange sums,
                                 SmallVector<Value> &probabilities) {
  Type f32Type = b.getF32Type();
  Value scaleLog2 = f32(transformsScores() ? 1.0 : p.scale * M_LOG2E);
  Value negInf = f32(-INFINITY);
  SmallVector<SmallVector<Value>> pValues(keyFrags, SmallVector<Value>(4));
  SmallVector<Value> newMaxes, newSums, alphas;
  for (int64_t half = 0; half < 2; ++half) {
    Value rowMax = negInf;
    for (int64_t j = 0; j < keyFrags; ++j)
      for (int64_t e = 0; e < 2; ++e)
        rowMax = arith::MaximumFOp::create(
            b, rowMax, vector::ExtractOp::create(b, scores[j], 2 * half + e));
    rowMax = reduceQuad(rowMax, /*isMax=*/true);
    Value newMax = arith::MaximumFOp::create(
        b, maxes[half], arith::MulFOp::create(b, rowMax, scaleLog2));
    Value unseen =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, newMax, negInf);
    Value base = arith::SelectOp::create(b, unseen, f32(0.0), newMax);
    Value negBase = arith::NegFOp::create(b, base);
    alphas.push_back(exp2(arith::SubFOp::create(b, maxes[half], base)));
    Value sum = arith::MulFOp::create(b, sums[half], alphas.back());
    for (int64_t j = 0; j < keyFrags; ++j) {
      for (int64_t e = 0; e < 2; ++e) {
        Value score = vector::ExtractOp::create(b, scores[j], 2 * half + e);
        Value prob = exp2(math::FmaOp::create(b, score, scaleLog2, negBase));
        pValues[j][2 * half + e] = prob;
        sum = arith::AddFOp::create(b, sum, prob);
      }
    }
    newMaxes.push_back(newMax);
    newSums.push_back(sum);
  }
  // An m16n8 C fragment pair (keys 16kk.. and 16kk + 8..) is the m16k16 A
  // fragment of P.V: registers (row, keys) g/0-7, g+8/0-7, g/8-15, g+8/8-15.
  auto pairType = VectorType::get({2}, f32Type);
  auto pack = [&](Value x, Value y) -> Value {
    Value pair = vector::FromElementsOp::create(b, pairType, ValueRange{x, y});
    return arith::TruncFOp::create(b, VectorType::get({2}, p.element), pair);
  };
  probabilities.clear();
  for (int64_t j = 0; j < keyFrags; j += 2)
    for (int64_t frag : {j, j + 1})
      for (int64_t half = 0; half < 2; ++half)
        probabilities.push_back(
            pack(pValues[frag][2 * half], pValues[frag][2 * half + 1]));
  // Registers are ordered (j, half) for j, j + 1: g/0-7, g+8/0-7, g/8-15,
  // g+8/8-15, as the A fragment wants.
  SmallVector<Value> carried;
  auto fragType = VectorType::get({4}, f32Type);
  for (Value frag : o) {
    SmallVector<Value> elements;
    for (int64_t i = 0; i < 4; ++i)
      elements.push_back(arith::MulFOp::create(
          b, vector::ExtractOp::create(b, frag, i), alphas[i / 2]));
    carried.push_back(vector::FromElementsOp::create(b, fragType, elements));
  }
  carried.append(newMaxes);
  carried.append(newSums);
  return carried;
}

SmallVector<Value>
KernelEmitter::emitSoftmaxStep(ValueRange scores, ValueRange carried,
                               SmallVector<SmallVector<Value>> &probabilities) {
  int64_t numO = valueCols / 8;
  ValueRange carriedO = carried.take_front(rowFrags * numO);
  ValueRange carriedMaxes = carried.slice(rowFrags * numO, 2 * rowFrags);
  ValueRange carriedSums = carried.take_back(2 * rowFrags);
  probabilities.assign(rowFrags, {});
  SmallVector<Value> o, maxes, sums;
  for (int64_t mi = 0; mi < rowFrags; ++mi) {
    SmallVector<Value> next = emitOnlineSoftmax(
        scores.slice(mi * keyFrags, keyFrags), carriedO.slice(mi * numO, numO),
        carriedMaxes.slice(2 * mi, 2), carriedSums.slice(2 * mi, 2),
        probabilities[mi]);
    llvm::append_range(o, ArrayRef<Value>(next).take_front(numO));
    llvm::append_range(maxes, ArrayRef<Value>(next).slice(numO, 2));
    llvm::append_range(sums, ArrayRef<Value>(next).take_back(2));
  }
  llvm::append_range(o, maxes);
  llvm::append_range(o, sums);
  return o;
}

/// O += P V over the keys of `stage` for every row fragment (O and
/// `probabilities` row fragment-major) and the warp's output columns: V is
/// stored [key, d] (B row-major, K-major), read with transposed x4 ldmatrix
/// loads that give two fragments' B registers.
SmallVector<Value> KernelEmitter::emitProbabilitiesTimesValues(
    Value stage, ArrayRef<SmallVector<Value>> probabilities, ValueRange o) {
  if (t.wgmmaValues)
    return emitWgmmaProbabilitiesTimesValues(stage, probabilities[0], o);
  SmallVector<Value> result(o);
  auto ldType = VectorType::get({4, 2}, p.element);
  Value laneRow = rem(lane, 16);
  Value laneCol = add(colBase, mul(div(lane, 16), index(8)));
  int64_t numO = valueCols / 8;
  for (int64_t kk = 0; kk < t.keyBlock / 16; ++kk) {
    for (int64_t j = 0; j < numO; j += 2) {
      SmallVector<Value> regs = getLdMatrixRows(
          b, nvgpu::LdMatrixOp::create(
                 b, ldType, tileV,
                 getTileIndex(tileV, stage, add(index(kk * 16), laneRow),
                              add(index(j * 8), laneCol)),
                 /*transpose=*/true, /*numTiles=*/4));
      for (int64_t mi = 0; mi < rowFrags; ++mi) {
        ArrayRef<Value> a = ArrayRef<Value>(probabilities[mi]).slice(4 * kk, 4);
        Value *frag = &result[mi * numO + j];
        frag[0] = createMmaSync(b, p.element, a, {regs[0], regs[1]}, frag[0]);
        frag[1] = createMmaSync(b, p.element, a, {regs[2], regs[3]}, frag[1]);
      }
    }
  }
  return result;
}

/// O += P V for the warpgroup's 64 rows and the keys of `stage`. Each
/// thread stores its probabilities (A fragments: rows lane / 4 (+ 8) of
/// its warp, keys 8 j + 2 (lane % 4)..) to the warpgroup's P tile, K-major
/// and swizzled (chunk j of row r at j ^ (r % 8)); after the async-proxy
/// fence and a barrier, keyBlock / 16 wgmma m64nNk16 (N the warp's
/// valueCols output columns) read P and V, which is MN-major: its 64-column
/// blocks a block of keys apart, 8-key groups 1024 bytes apart. O's
/// fragments are the accumulators in mma.sync's C layout.
SmallVector<Value> KernelEmitter::emitWgmmaProbabilitiesTimesValues(
    Value stage, ArrayRef<Value> probabilities, ValueRange o) {
  int64_t perRow = getSwizzleRowElements(p.element);
  int64_t groupBytes = kSwizzleRows * kSwizzleBytes;
  Value warpGroup = div(tid, 128);
  // probabilities[4 (j / 2) + 2 (j % 2) + half]: rows lane / 4 + 8 half,
  // keys 8 j + 2 (lane % 4) + {0, 1}.
  Value quad = div(lane, 4);
  for (int64_t j = 0; j < keyFrags; ++j)
    for (int64_t half = 0; half < 2; ++half) {
      Value row = add(mul(rem(warp, 4), index(16)), add(quad, index(8 * half)));
      Value slot = arith::XOrIOp::create(b, index(j), quad);
      Value col = add(mul(slot, index(kChunk)), mul(rem(lane, 4), index(2)));
      vector::StoreOp::create(b,
                              probabilities[4 * (j / 2) + 2 * (j % 2) + half],
                              tileP, ValueRange{warpGroup, row, col});
    }
  emitAsyncProxyFence();
  gpu::BarrierOp::create(b);

  int64_t vBlocks = (p.latent ? p.dim : p.valueDim) / perRow;
  int64_t vBlockBytes = t.keyBlock * kSwizzleBytes;
  Value offsetV = arith::AddIOp::create(
      b, arith::MulIOp::create(b, toI64(stage), i64(vBlocks * vBlockBytes)),
      arith::MulIOp::create(b, toI64(div(colBase, perRow)), i64(vBlockBytes)));
  Value offsetP =
      arith::MulIOp::create(b, toI64(warpGroup), i64(64 * kSwizzleBytes));
  NVVM::WgmmaFenceAlignedOp::create(b);
  Value acc = packWgmmaAccumulators(b, o);
  int64_t bytes = p.element.getIntOrFloatBitWidth() / 8;
  for (int64_t kk = 0; kk < t.keyBlock / 16; ++kk) {
    Value descP = createWgmmaDescriptor(
        b, baseP, 16, groupBytes,
        arith::AddIOp::create(b, offsetP, i64(kk * 16 * bytes)));
    Value descV = createWgmmaDescriptor(
        b, baseV, vBlockBytes, groupBytes,
        arith::AddIOp::create(b, offsetV, i64(kk * 16 * kSwizzleBytes)));
    acc = createWgmma(b, p.element, acc, descP, descV, valueCols,
                      /*bMajorN=*/true);
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b);
  NVVM::WgmmaWaitGroupSyncOp::create(b, 0);
  return unpackWgmmaAccumulators(b, acc);
}

/// out = O / l (zeros for rows that saw no key) and lse = ln 2 (m + log2 l)
/// (-inf for them) for the rows of row fragment `mi` before Sq; with split
/// KV, in f32 to the split's partial results.
void KernelEmitter::emitStore(ValueRange o, ValueRange maxes, ValueRange sums,
                              int64_t mi) {
  Value laneCol = mul(rem(lane, 4), index(2));
  Type f32Type = b.getF32Type();
  bool partial = t.splits > 1;
  Type outElement = partial ? f32Type : p.element;
  for (int64_t half = 0; half < 2; ++half) {
    Value sum = reduceQuad(sums[half], /*isMax=*/false);
    Value seen =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, sum, f32(0.0));
    Value inverse = arith::SelectOp::create(
        b, seen, arith::DivFOp::create(b, f32(1.0), sum), f32(0.0));
    Value packed =
        add(r0, add(getFragmentRow(mi), add(div(lane, 4), index(8 * half))));
    auto ifRow = scf::IfOp::create(
        b, cmp(arith::CmpIPredicate::slt, packed, index(p.getPackedRows())),
        false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifRow.thenBlock());
    auto [head, row] = getHeadAndQuery(packed);
    SmallVector<Value> rowIndex = {batch, head, row};
    if (partial)
      rowIndex.insert(rowIndex.begin(), split);
    for (int64_t j = 0; j < valueCols / 8; ++j) {
      Value pair = vector::FromElementsOp::create(
          b, VectorType::get({2}, f32Type),
          ValueRange{
              arith::MulFOp::create(
                  b, vector::ExtractOp::create(b, o[j], 2 * half), inverse),
              arith::MulFOp::create(
                  b, vector::ExtractOp::create(b, o[j], 2 * half + 1),
                  inverse)});
      if (!partial)
        pair =
            arith::TruncFOp::create(b, VectorType::get({2}, outElement), pair);
      SmallVector<Value> outIndex(rowIndex);
      outIndex.push_back(add(colBase, add(index(j * 8), laneCol)));
      vector::StoreOp::create(b, pair, out, outIndex);
    }
    if (!lse)
      continue;
    // One lane of the row's first column group stores its lse.
    Value first =
        cmp(arith::CmpIPredicate::eq, add(laneCol, colBase), index(0));
    auto ifLane = scf::IfOp::create(b, first, false);
    b.setInsertionPointToStart(ifLane.thenBlock());
    Value value = arith::MulFOp::create(
        b, arith::AddFOp::create(b, maxes[half], log2(sum)), f32(M_LN2));
    value = arith::SelectOp::create(b, seen, value, f32(-INFINITY));
    memref::StoreOp::create(b, value, lse, rowIndex);
  }
}

void KernelEmitter::emit() {
  SmallVector<Value> tiles =
      createDynamicSharedViews(b, getSharedTiles(b.getContext(), p, t));
  tileQ = tiles[0];
  tileK = tiles[1];
  tileV = p.latent ? tileK : tiles[2];
  if (t.wgmma) {
    baseQ = getSharedAddress(b, tileQ);
    baseK = getSharedAddress(b, tileK);
  }
  if (t.wgmmaValues) {
    tileP = tiles.back();
    baseV = p.latent ? baseK : getSharedAddress(b, tileV);
    baseP = getSharedAddress(b, tileP);
  }
  tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  lane = rem(tid, 32);
  warp = div(tid, 32);
  rowWarp = rem(warp, t.getRowWarps());
  colBase = mul(div(warp, t.getRowWarps()), index(valueCols));
  emitBlockBounds();

  // Prologue: Q, then the first K and V blocks, each its own group.
  emitCopyTile(tileQ, {}, q, t.qBlock, p.dim, [&](Value r) {
    // Rows past the end repeat the last one (never stored).
    auto [head, query] =
        getHeadAndQuery(minSI(add(r0, r), index(p.getPackedRows() - 1)));
    return SmallVector<Value>{batch, head, query};
  });
  NVVM::CpAsyncCommitGroupOp::create(b);
  emitLoadKeys(tileK, k, p.dim, index(0), blockBegin);
  // Latent attention: the first stages - 1 blocks (the loop loads the
  // next stages - 1 ahead).
  if (p.latent)
    for (int64_t s = 1; s + 1 < t.stages; ++s)
      emitLoadKeys(tileK, k, p.dim, index(s), add(blockBegin, index(s)));
  if (!p.latent) {
    emitLoadKeys(tileV, v, p.valueDim, index(0), blockBegin);
    NVVM::CpAsyncWaitGroupOp::create(b, 2);
    gpu::BarrierOp::create(b);
    // One row fragment per warp keeps Q in registers; with two, registers
    // go to the accumulators and Q is read from shared memory at each step
    // (by ldmatrix; by the tensor cores with wgmma).
    if (rowFrags == 1 && !t.wgmma) {
      SmallVector<SmallVector<Value>> frags;
      for (int64_t kk = 0; kk < p.dim / 16; ++kk)
        frags.push_back(getQFragment(0, kk));
      qFrags = std::move(frags);
    }
  }

  // The loop carries O (row fragment-major), then the running maxes and
  // then the running sums of the lane's rows (2 per row fragment).
  int64_t numO = valueCols / 8;
  SmallVector<Value> init(rowFrags * numO, zeroFragment());
  init.append(2 * rowFrags, f32(-INFINITY));
  init.append(2 * rowFrags, f32(0.0));
  auto loop = scf::ForOp::create(b, blockBegin, blockEnd, index(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value block = loop.getInductionVar();
    Value step = sub(block, blockBegin);
    Value stage = rem(step, t.stages);
    SmallVector<SmallVector<Value>> probabilities;
    SmallVector<Value> carried;
    if (p.latent) {
      // The block's keys (and values) are in, the next stages - 2 may be in
      // flight; the stage of the previous block is free (its P.V is done):
      // it takes the block stages - 1 ahead.
      NVVM::CpAsyncWaitGroupOp::create(b, t.stages - 2);
      emitAsyncProxyFence();
      gpu::BarrierOp::create(b);
      emitLoadKeys(tileK, k, p.dim,
                   rem(add(step, index(t.stages - 1)), t.stages),
                   add(block, index(t.stages - 1)));
      carried = emitSoftmaxStep(emitMaskIfNeeded(emitScores(stage), block),
                                loop.getRegionIterArgs(), probabilities);
    } else {
      // K of this block is in; the other stage is free (its scores are
      // done).
      Value nextStage = rem(add(step, index(1)), 2);
      Value nextBlock = add(block, index(1));
      NVVM::CpAsyncWaitGroupOp::create(b, 1);
      emitAsyncProxyFence();
      gpu::BarrierOp::create(b);
      emitLoadKeys(tileK, k, p.dim, nextStage, nextBlock);
      SmallVector<Value> scores = emitScores(stage);
      if (transformsScores())
        scores = emitScoreTransform(scores, block);
      carried = emitSoftmaxStep(emitMaskIfNeeded(scores, block),
                                loop.getRegionIterArgs(), probabilities);
      // V of this block is in; the other stage is free (its P.V is done).
      NVVM::CpAsyncWaitGroupOp::create(b, 1);
      if (t.wgmmaValues)
        emitAsyncProxyFence();
      gpu::BarrierOp::create(b);
      emitLoadKeys(tileV, v, p.valueDim, nextStage, nextBlock);
    }
    SmallVector<Value> o = emitProbabilitiesTimesValues(
        stage, probabilities,
        ArrayRef<Value>(carried).take_front(rowFrags * numO));
    llvm::append_range(o, ArrayRef<Value>(carried).drop_front(rowFrags * numO));
    scf::YieldOp::create(b, o);
  }
  NVVM::CpAsyncWaitGroupOp::create(b, 0);
  ValueRange results = loop.getResults();
  for (int64_t mi = 0; mi < rowFrags; ++mi)
    emitStore(results.slice(mi * numO, numO),
              results.slice(rowFrags * numO + 2 * mi, 2),
              results.take_back(2 * rowFrags).slice(2 * mi, 2), mi);
  gpu::ReturnOp::create(b);
}

/// Builds the MFMA kernel body (AMD CDNA); see the file comment.
class MfmaKernelEmitter : EmitterBase {
public:
  MfmaKernelEmitter(ImplicitLocOpBuilder &b, gpu::GPUFuncOp kernel,
                    const Problem &p, const Tiling &t)
      : EmitterBase(b, kernel, p, t), rowFrags(t.warpRows / 16),
        keyFrags(t.keyBlock / 16), valueFrags(p.valueDim / t.colGroups / 16) {}

  void emit();

private:
  /// The max (or sum) of `value` over the 4 lanes that hold a row (lanes
  /// l, l ^ 16, l ^ 32, l ^ 48).
  Value reduceRow(Value value, bool isMax);
  /// The packed row of the lane in row fragment `mi`.
  Value getRow(int64_t mi) {
    return add(
        r0, add(mul(rowWave, index(t.warpRows)), add(index(16 * mi), laneRow)));
  }
  /// The key of element i of the lane's score fragment kf of key block
  /// `block`.
  Value getKey(Value block, int64_t kf, int64_t i) {
    return add(mul(block, index(t.keyBlock)), add(index(16 * kf + i), laneK));
  }
  /// Output column `col` of the wavefront's column group.
  Value getColumn(Value col) { return colBase ? add(colBase, col) : col; }
  Value mfma(Value a, Value bOperand, Value c) {
    return amdgpu::MFMAOp::create(b, c.getType(), /*m=*/16, /*n=*/16,
                                  /*k=*/16, /*blocks=*/1, a, bOperand, c);
  }
  /// Calls `body(r, c)` for each chunk of 8 elements of a key block of
  /// `cols` columns that the thread copies: key r, columns c.. (threads past
  /// the last chunk repeat it).
  void forEachChunk(int64_t cols, function_ref<void(Value, Value)> body);
  /// The thread's chunks of key block `block` (K's, then V's; latent
  /// attention: K's, whose first valueDim columns are V) loaded into
  /// registers, the keys clamped to the last one (what lies past it is
  /// masked).
  SmallVector<Value> emitLoadBlock(Value block);
  /// The chunks of emitLoadBlock written to the tiles, V transposed.
  void emitStoreBlock(ValueRange chunks);
  /// Stores `chunk` (8 values of key r from column c) transposed to V^T.
  void emitStoreTransposed(Value chunk, Value r, Value c);
  SmallVector<Value> emitScores();
  SmallVector<Value> emitScoreTransform(ArrayRef<Value> scores, Value block);
  SmallVector<Value> emitMaskIfNeeded(ArrayRef<Value> scores, Value block);
  SmallVector<Value> emitSoftmaxStep(ArrayRef<Value> scores, ValueRange carried,
                                     SmallVector<Value> &probabilities);
  SmallVector<Value> emitProbabilitiesTimesValues(ArrayRef<Value> probabilities,
                                                  ValueRange o);
  void emitStore(ValueRange o, Value max, Value sum, int64_t mi);

  /// 16-row fragments per wavefront, 16-key score fragments per block,
  /// 16-column output fragments per wavefront.
  int64_t rowFrags, keyFrags, valueFrags;
  Value tileK, tileVt;
  /// The thread, its wavefront, its row in a fragment (lane % 16) and the
  /// first of its 4 elements along k (4 (lane / 16)).
  Value tid, wave, laneRow, laneK;
  /// The wavefront's row wavefront and its first output column (latent
  /// attention splits the columns between `colGroups` wavefronts; null
  /// with one group).
  Value rowWave, colBase;
  /// Q's B fragments, [row fragment][k-step].
  SmallVector<SmallVector<Value>> qFrags;
};

Value MfmaKernelEmitter::reduceRow(Value value, bool isMax) {
  for (int64_t mask : {16, 32}) {
    Value other =
        gpu::ShuffleOp::create(b, value, mask, 64, gpu::ShuffleMode::XOR)
            .getShuffleResult();
    value = isMax ? Value(arith::MaximumFOp::create(b, value, other))
                  : Value(arith::AddFOp::create(b, value, other));
  }
  return value;
}

void MfmaKernelEmitter::forEachChunk(int64_t cols,
                                     function_ref<void(Value, Value)> body) {
  int64_t chunksPerRow = cols / kChunk, chunks = t.keyBlock * chunksPerRow;
  int64_t threads = t.getThreads();
  for (int64_t part = 0; part * threads < chunks; ++part) {
    Value chunk = add(tid, index(part * threads));
    if ((part + 1) * threads > chunks)
      chunk = arith::MinUIOp::create(b, chunk, index(chunks - 1));
    body(div(chunk, chunksPerRow),
         mul(rem(chunk, chunksPerRow), index(kChunk)));
  }
}

SmallVector<Value> MfmaKernelEmitter::emitLoadBlock(Value block) {
  auto chunkType = VectorType::get({kChunk}, p.element);
  Value key0 = mul(block, index(t.keyBlock));
  SmallVector<Value> chunks;
  auto load = [&](Value source, int64_t cols) {
    forEachChunk(cols, [&](Value r, Value c) {
      Value key = minSI(add(key0, r), index(p.seqKV - 1));
      SmallVector<Value> indices = {batch, kvHead, key, c};
      if (p.latent)
        indices.erase(indices.begin() + 1);
      chunks.push_back(vector::LoadOp::create(b, chunkType, source, indices));
    });
  };
  load(k, p.dim);
  if (!p.latent)
    load(v, p.valueDim);
  return chunks;
}

void MfmaKernelEmitter::emitStoreTransposed(Value chunk, Value r, Value c) {
  for (int64_t e = 0; e < kChunk; ++e)
    memref::StoreOp::create(b, vector::ExtractOp::create(b, chunk, e), tileVt,
                            ValueRange{add(c, index(e)), r});
}

void MfmaKernelEmitter::emitStoreBlock(ValueRange chunks) {
  unsigned next = 0;
  forEachChunk(p.dim, [&](Value r, Value c) {
    Value chunk = chunks[next++];
    vector::StoreOp::create(b, chunk, tileK, ValueRange{r, c});
    if (!p.latent)
      return;
    // The chunks of the first valueDim columns are V's too.
    auto ifValue = scf::IfOp::create(
        b, cmp(arith::CmpIPredicate::ult, c, index(p.valueDim)), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifValue.thenBlock());
    emitStoreTransposed(chunk, r, c);
  });
  if (p.latent)
    return;
  forEachChunk(p.valueDim, [&](Value r, Value c) {
    emitStoreTransposed(chunks[next++], r, c);
  });
}

/// S^T = K Q^T of the wavefront's rows and the staged keys: keyFrags
/// vector<4xf32> fragments of 16x16 per row fragment (row fragment-major).
/// K is the A operand (lane l reads key l % 16 at d = 4 (l / 16) + 0..3,
/// contiguous in the tile) and Q^T the B operand (lane l holds row l % 16 at
/// the same d), so that element i of a fragment is the score of row l % 16
/// and key 4 (l / 16) + i: each lane holds scores of one row.
SmallVector<Value> MfmaKernelEmitter::emitScores() {
  auto operandType = VectorType::get({4}, p.element);
  SmallVector<Value> s(rowFrags * keyFrags, zeroFragment());
  for (int64_t kk = 0; kk < p.dim / 16; ++kk) {
    SmallVector<Value> keys;
    for (int64_t kf = 0; kf < keyFrags; ++kf)
      keys.push_back(
          vector::LoadOp::create(b, operandType, tileK,
                                 ValueRange{add(index(16 * kf), laneRow),
                                            add(index(16 * kk), laneK)}));
    for (int64_t mi = 0; mi < rowFrags; ++mi)
      for (int64_t kf = 0; kf < keyFrags; ++kf) {
        Value &frag = s[mi * keyFrags + kf];
        frag = mfma(keys[kf], qFrags[mi][kk], frag);
      }
  }
  return s;
}

SmallVector<Value> MfmaKernelEmitter::emitScoreTransform(ArrayRef<Value> scores,
                                                         Value block) {
  SmallVector<Value> result;
  for (int64_t mi = 0; mi < rowFrags; ++mi) {
    Value row = getRow(mi);
    for (int64_t kf = 0; kf < keyFrags; ++kf) {
      SmallVector<Value> elements;
      for (int64_t i = 0; i < 4; ++i)
        elements.push_back(transformScore(
            vector::ExtractOp::create(b, scores[mi * keyFrags + kf], i), row,
            getKey(block, kf, i)));
      result.push_back(vector::FromElementsOp::create(
          b, VectorType::get({4}, b.getF32Type()), elements));
    }
  }
  return result;
}

/// Only blocks that cut the key range or the band are masked.
SmallVector<Value> MfmaKernelEmitter::emitMaskIfNeeded(ArrayRef<Value> scores,
                                                       Value block) {
  auto fragType = VectorType::get({4}, b.getF32Type());
  SmallVector<Type> scoreTypes(scores.size(), fragType);
  auto ifMask = scf::IfOp::create(b, scoreTypes, needsMask(block),
                                  /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifMask.thenBlock());
  Value negInf = f32(-INFINITY);
  SmallVector<Value> masked;
  for (int64_t mi = 0; mi < rowFrags; ++mi) {
    Value diag = getDiagonal(getRow(mi));
    for (int64_t kf = 0; kf < keyFrags; ++kf) {
      SmallVector<Value> elements;
      for (int64_t i = 0; i < 4; ++i)
        elements.push_back(arith::SelectOp::create(
            b, isVisible(getKey(block, kf, i), diag),
            vector::ExtractOp::create(b, scores[mi * keyFrags + kf], i),
            negInf));
      masked.push_back(vector::FromElementsOp::create(b, fragType, elements));
    }
  }
  scf::YieldOp::create(b, masked);
  b.setInsertionPointToStart(ifMask.elseBlock());
  scf::YieldOp::create(b, scores);
  return ifMask.getResults();
}

/// The online softmax of KernelEmitter::emitOnlineSoftmax for the lane's
/// row of each row fragment: carried are O (row fragment-major), then a
/// running max and a running (lane-partial) sum per row fragment. Sets
/// `probabilities` to the B operands of P.V (the fragments' probabilities
/// rounded to the input type).
SmallVector<Value>
MfmaKernelEmitter::emitSoftmaxStep(ArrayRef<Value> scores, ValueRange carried,
                                   SmallVector<Value> &probabilities) {
  int64_t numO = rowFrags * valueFrags;
  Type f32Type = b.getF32Type();
  Value scaleLog2 = f32(transformsScores() ? 1.0 : p.scale * M_LOG2E);
  Value negInf = f32(-INFINITY);
  SmallVector<Value> o, maxes, sums;
  probabilities.clear();
  for (int64_t mi = 0; mi < rowFrags; ++mi) {
    ArrayRef<Value> rowScores = scores.slice(mi * keyFrags, keyFrags);
    Value rowMax = negInf;
    for (Value frag : rowScores)
      for (int64_t i = 0; i < 4; ++i)
        rowMax = arith::MaximumFOp::create(
            b, rowMax, vector::ExtractOp::create(b, frag, i));
    rowMax = reduceRow(rowMax, /*isMax=*/true);
    Value oldMax = carried[numO + mi];
    Value newMax = arith::MaximumFOp::create(
        b, oldMax, arith::MulFOp::create(b, rowMax, scaleLog2));
    Value unseen =
        arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, newMax, negInf);
    Value base = arith::SelectOp::create(b, unseen, f32(0.0), newMax);
    Value negBase = arith::NegFOp::create(b, base);
    Value alpha = exp2(arith::SubFOp::create(b, oldMax, base));
    Value sum = arith::MulFOp::create(b, carried[numO + rowFrags + mi], alpha);
    for (Value frag : rowScores) {
      SmallVector<Value> probs;
      for (int64_t i = 0; i < 4; ++i) {
        Value score = vector::ExtractOp::create(b, frag, i);
        probs.push_back(
            exp2(math::FmaOp::create(b, score, scaleLog2, negBase)));
        sum = arith::AddFOp::create(b, sum, probs.back());
      }
      probabilities.push_back(arith::TruncFOp::create(
          b, VectorType::get({4}, p.element),
          vector::FromElementsOp::create(b, VectorType::get({4}, f32Type),
                                         probs)));
    }
    Value alphas =
        vector::BroadcastOp::create(b, VectorType::get({4}, f32Type), alpha);
    for (int64_t df = 0; df < valueFrags; ++df)
      o.push_back(
          arith::MulFOp::create(b, carried[mi * valueFrags + df], alphas));
    maxes.push_back(newMax);
    sums.push_back(sum);
  }
  llvm::append_range(o, maxes);
  llvm::append_range(o, sums);
  return o;
}

/// O^T += V^T P^T over the staged keys: V^T is the A operand (lane l reads
/// column 16 df + l % 16 at keys 4 (l / 16) + 0..3, contiguous in the
/// transposed tile), the probabilities the B operand (lane l holds row
/// l % 16 at those keys), so that element i of O fragment df is the lane's
/// row at column 16 df + 4 (l / 16) + i.
SmallVector<Value>
MfmaKernelEmitter::emitProbabilitiesTimesValues(ArrayRef<Value> probabilities,
                                                ValueRange o) {
  auto operandType = VectorType::get({4}, p.element);
  SmallVector<Value> result(o);
  for (int64_t kf = 0; kf < keyFrags; ++kf)
    for (int64_t df = 0; df < valueFrags; ++df) {
      Value values = vector::LoadOp::create(
          b, operandType, tileVt,
          ValueRange{getColumn(add(index(16 * df), laneRow)),
                     add(index(16 * kf), laneK)});
      for (int64_t mi = 0; mi < rowFrags; ++mi) {
        Value &frag = result[mi * valueFrags + df];
        frag = mfma(values, probabilities[mi * keyFrags + kf], frag);
      }
    }
  return result;
}

/// out = O / l (zeros for a row that saw no key) and lse = ln 2 (m + log2
/// l) (-inf then) for the lane's row of row fragment `mi` when it is before
/// the end; with split KV, in f32 to the split's partial results.
void MfmaKernelEmitter::emitStore(ValueRange o, Value max, Value sum,
                                  int64_t mi) {
  Type f32Type = b.getF32Type();
  bool partial = t.splits > 1;
  sum = reduceRow(sum, /*isMax=*/false);
  Value seen =
      arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, sum, f32(0.0));
  Value inverse = arith::SelectOp::create(
      b, seen, arith::DivFOp::create(b, f32(1.0), sum), f32(0.0));
  Value row = getRow(mi);
  auto ifRow = scf::IfOp::create(
      b, cmp(arith::CmpIPredicate::slt, row, index(p.getPackedRows())), false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifRow.thenBlock());
  auto [head, query] = getHeadAndQuery(row);
  SmallVector<Value> rowIndex = {batch, head, query};
  if (partial)
    rowIndex.insert(rowIndex.begin(), split);
  Value inverses =
      vector::BroadcastOp::create(b, VectorType::get({4}, f32Type), inverse);
  for (int64_t df = 0; df < valueFrags; ++df) {
    Value values = arith::MulFOp::create(b, o[df], inverses);
    if (!partial)
      values =
          arith::TruncFOp::create(b, VectorType::get({4}, p.element), values);
    SmallVector<Value> outIndex(rowIndex);
    outIndex.push_back(getColumn(add(index(16 * df), laneK)));
    vector::StoreOp::create(b, values, out, outIndex);
  }
  if (!lse)
    return;
  // The lanes of the first key group of the first column group store the
  // lse.
  auto ifLane = scf::IfOp::create(
      b, cmp(arith::CmpIPredicate::eq, getColumn(laneK), index(0)), false);
  b.setInsertionPointToStart(ifLane.thenBlock());
  Value value = arith::MulFOp::create(
      b, arith::AddFOp::create(b, max, log2(sum)), f32(M_LN2));
  value = arith::SelectOp::create(b, seen, value, f32(-INFINITY));
  memref::StoreOp::create(b, value, lse, rowIndex);
}

/// Q's fragments in registers; per key block: the block's chunks (loaded
/// into registers by the previous step) stored to the tiles between two
/// barriers, the next block's chunks loaded, then the scores, the online
/// softmax and P.V while those loads are in flight.
void MfmaKernelEmitter::emit() {
  SmallVector<Value> tiles =
      createDynamicSharedViews(b, getSharedTiles(b.getContext(), p, t));
  tileK = tiles[0];
  tileVt = tiles[1];
  tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  wave = div(tid, 64);
  rowWave = wave;
  if (t.colGroups > 1) {
    rowWave = rem(wave, t.getRowWarps());
    colBase = mul(div(wave, t.getRowWarps()), index(valueFrags * 16));
  }
  Value lane = rem(tid, 64);
  laneRow = rem(lane, 16);
  laneK = mul(div(lane, 16), index(4));
  emitBlockBounds();

  // Lane l holds Q's row l % 16 at d = 16 kk + 4 (l / 16) + 0..3; rows past
  // the end repeat the last one (never stored).
  auto operandType = VectorType::get({4}, p.element);
  for (int64_t mi = 0; mi < rowFrags; ++mi) {
    auto [head, query] =
        getHeadAndQuery(minSI(getRow(mi), index(p.getPackedRows() - 1)));
    qFrags.emplace_back();
    for (int64_t kk = 0; kk < p.dim / 16; ++kk)
      qFrags.back().push_back(vector::LoadOp::create(
          b, operandType, q,
          ValueRange{batch, head, query, add(index(16 * kk), laneK)}));
  }

  // The loop carries O, the running maxes and sums (one each per row
  // fragment) and the chunks of the block it stages.
  int64_t numO = rowFrags * valueFrags;
  SmallVector<Value> init(numO, zeroFragment());
  init.append(rowFrags, f32(-INFINITY));
  init.append(rowFrags, f32(0.0));
  int64_t numState = init.size();
  llvm::append_range(init, emitLoadBlock(blockBegin));
  auto loop = scf::ForOp::create(b, blockBegin, blockEnd, index(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value block = loop.getInductionVar();
    ValueRange carried = loop.getRegionIterArgs();
    // The tiles are free once every wavefront is past the previous P.V.
    gpu::BarrierOp::create(b);
    emitStoreBlock(carried.drop_front(numState));
    gpu::BarrierOp::create(b);
    SmallVector<Value> next = emitLoadBlock(add(block, index(1)));
    SmallVector<Value> scores = emitScores();
    if (transformsScores())
      scores = emitScoreTransform(scores, block);
    SmallVector<Value> probabilities;
    SmallVector<Value> state =
        emitSoftmaxStep(emitMaskIfNeeded(scores, block),
                        carried.take_front(numState), probabilities);
    SmallVector<Value> o = emitProbabilitiesTimesValues(
        probabilities, ArrayRef<Value>(state).take_front(numO));
    llvm::append_range(o, ArrayRef<Value>(state).drop_front(numO));
    llvm::append_range(o, next);
    scf::YieldOp::create(b, o);
  }
  ValueRange results = loop.getResults();
  for (int64_t mi = 0; mi < rowFrags; ++mi)
    emitStore(results.slice(mi * valueFrags, valueFrags), results[numO + mi],
              results[numO + rowFrags + mi], mi);
  gpu::ReturnOp::create(b);
}

/// The body of the kernel that combines the partial results of the splits
/// (arguments: partial out [S, B, Hq, Sq, Dv] and lse [S, B, Hq, Sq], out,
/// lse when the op has it). A block per (batch, head, query) row, a thread
/// per column: with m the largest partial lse (0 when all are -inf) and
/// w_s = 2^((lse_s - m) log2 e), out = sum_s w_s O_s / sum_s w_s (zeros
/// when the sum is 0) and lse = m + ln(sum_s w_s) (-inf then).
void emitCombine(ImplicitLocOpBuilder &b, gpu::GPUFuncOp kernel,
                 const Problem &p, const Tiling &t) {
  Block &entry = kernel.getBody().front();
  Value partialOut = entry.getArgument(0), partialLse = entry.getArgument(1),
        out = entry.getArgument(2);
  Value lse = p.hasLse ? entry.getArgument(3) : Value();
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, value);
  };
  auto f32 = [&](double value) -> Value {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(value));
  };
  Value row = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value query = arith::RemUIOp::create(b, row, index(p.seqQ));
  Value bh = arith::DivUIOp::create(b, row, index(p.seqQ));
  Value head = arith::RemUIOp::create(b, bh, index(p.qHeads));
  Value batch = arith::DivUIOp::create(b, bh, index(p.qHeads));
  // A loop over the splits: body(split, accumulator) -> accumulator.
  auto reduceSplits = [&](Value init,
                          function_ref<Value(Value, Value)> body) -> Value {
    auto loop = scf::ForOp::create(b, index(0), index(t.splits), index(1),
                                   ValueRange{init});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    scf::YieldOp::create(
        b, body(loop.getInductionVar(), loop.getRegionIterArgs()[0]));
    return loop.getResult(0);
  };
  auto loadLse = [&](Value split) -> Value {
    return memref::LoadOp::create(b, partialLse,
                                  ValueRange{split, batch, head, query});
  };
  Value negInf = f32(-INFINITY);
  Value max = reduceSplits(negInf, [&](Value split, Value acc) -> Value {
    return arith::MaximumFOp::create(b, acc, loadLse(split));
  });
  Value none = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, max, negInf);
  Value base = arith::SelectOp::create(b, none, f32(0.0), max);
  auto weight = [&](Value split) -> Value {
    return createExp2(
        b,
        arith::MulFOp::create(b, arith::SubFOp::create(b, loadLse(split), base),
                              f32(M_LOG2E)),
        t.mfma);
  };
  Value sum = reduceSplits(f32(0.0), [&](Value split, Value acc) -> Value {
    return arith::AddFOp::create(b, acc, weight(split));
  });
  Value seen =
      arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, sum, f32(0.0));
  Value inverse = arith::SelectOp::create(
      b, seen, arith::DivFOp::create(b, f32(1.0), sum), f32(0.0));
  for (int64_t part = 0; part * kCombineThreads < p.valueDim; ++part) {
    Value col = arith::AddIOp::create(b, tid, index(part * kCombineThreads));
    OpBuilder::InsertionGuard guard(b);
    if ((part + 1) * kCombineThreads > p.valueDim) {
      auto ifCol =
          scf::IfOp::create(b,
                            arith::CmpIOp::create(b, arith::CmpIPredicate::ult,
                                                  col, index(p.valueDim)),
                            false);
      b.setInsertionPointToStart(ifCol.thenBlock());
    }
    Value acc = reduceSplits(f32(0.0), [&](Value split, Value acc) -> Value {
      Value value = memref::LoadOp::create(
          b, partialOut, ValueRange{split, batch, head, query, col});
      return math::FmaOp::create(b, weight(split), value, acc);
    });
    Value result = arith::MulFOp::create(b, acc, inverse);
    if (result.getType() != p.element)
      result = arith::TruncFOp::create(b, p.element, result);
    memref::StoreOp::create(b, result, out,
                            ValueRange{batch, head, query, col});
  }
  if (lse) {
    auto ifFirst = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, index(0)),
        false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifFirst.thenBlock());
    Value value = arith::AddFOp::create(
        b, base,
        arith::MulFOp::create(b, createLog2(b, sum, t.mfma), f32(M_LN2)));
    memref::StoreOp::create(b, arith::SelectOp::create(b, seen, value, negInf),
                            lse, ValueRange{batch, head, query});
  }
  gpu::ReturnOp::create(b);
}

MemRefType asBuffer(Type type) {
  auto tensor = cast<RankedTensorType>(type);
  return MemRefType::get(tensor.getShape(), tensor.getElementType());
}

/// A kernel `name` of `kernels` with arguments `argTypes`, `threads` threads
/// and `grid` blocks; the builder is at the start of its body.
gpu::GPUFuncOp createKernel(ImplicitLocOpBuilder &kb, StringRef name,
                            TypeRange argTypes, int64_t threads,
                            ArrayRef<int64_t> grid) {
  auto kernel =
      gpu::GPUFuncOp::create(kb, name, kb.getFunctionType(argTypes, {}));
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), kb.getUnitAttr());
  kernel.setKnownBlockSizeAttr(
      kb.getDenseI32ArrayAttr({static_cast<int32_t>(threads), 1, 1}));
  SmallVector<int32_t> grid32;
  for (int64_t size : grid)
    grid32.push_back(static_cast<int32_t>(size));
  kernel.setKnownGridSizeAttr(kb.getDenseI32ArrayAttr(grid32));
  kb.setInsertionPointToStart(&kernel.getBody().front());
  return kernel;
}

/// Replaces `op` (an attention or latent attention) by a launch of a new
/// flash-attention kernel, and with split KV of the kernel that combines
/// its partial results.
void rewriteAttention(Operation *op, const Problem &p, const Tiling &t,
                      gpu::GPUModuleOp kernels, StringRef name) {
  MLIRContext *ctx = op->getContext();
  Type f32 = Float32Type::get(ctx);
  SmallVector<Type> resultTypes;
  for (Type type : op->getResultTypes())
    resultTypes.push_back(asBuffer(type));
  // With split KV, the partial out and lse of every split.
  SmallVector<Type> partialTypes;
  if (t.splits > 1)
    partialTypes = {
        MemRefType::get({t.splits, p.batch, p.qHeads, p.seqQ, p.valueDim}, f32),
        MemRefType::get({t.splits, p.batch, p.qHeads, p.seqQ}, f32)};
  ArrayRef<Type> writes = t.splits > 1 ? partialTypes : resultTypes;

  // The kernels.
  SmallVector<Type> argTypes;
  for (Value operand : op->getOperands())
    argTypes.push_back(asBuffer(operand.getType()));
  llvm::append_range(argTypes, writes);
  ImplicitLocOpBuilder kb =
      ImplicitLocOpBuilder::atBlockEnd(op->getLoc(), kernels.getBody());
  int64_t gridX = llvm::divideCeil(p.getPackedRows(), t.qBlock),
          gridY = p.batch * p.kvHeads;
  gpu::GPUFuncOp kernel = createKernel(kb, name, argTypes, t.getThreads(),
                                       {gridX, gridY, t.splits});
  if (t.mfma)
    MfmaKernelEmitter(kb, kernel, p, t).emit();
  else
    KernelEmitter(kb, kernel, p, t).emit();
  gpu::GPUFuncOp combine;
  int64_t combineRows = p.batch * p.qHeads * p.seqQ;
  if (t.splits > 1) {
    SmallVector<Type> combineTypes(partialTypes);
    llvm::append_range(combineTypes, resultTypes);
    kb.setInsertionPointToEnd(kernels.getBody());
    combine = createKernel(kb, (name + "_combine").str(), combineTypes,
                           kCombineThreads, {combineRows, 1, 1});
    emitCombine(kb, combine, p, t);
  }

  // The launches.
  ImplicitLocOpBuilder b(op->getLoc(), op);
  SmallVector<Value> args;
  for (Value operand : op->getOperands())
    args.push_back(createLaunchOperand(b, operand));
  SmallVector<Value> results, partials;
  for (Type type : resultTypes)
    results.push_back(memref::AllocOp::create(b, cast<MemRefType>(type)));
  for (Type type : partialTypes)
    partials.push_back(memref::AllocOp::create(b, cast<MemRefType>(type)));
  llvm::append_range(args, t.splits > 1 ? partials : results);
  createKernelLaunch(b, kernel, gridX, gridY, t.getThreads(),
                     getSharedBytes(ctx, p, t), args, t.splits);
  if (combine) {
    SmallVector<Value> combineArgs(partials);
    llvm::append_range(combineArgs, results);
    createKernelLaunch(b, combine, combineRows, 1, kCombineThreads, 0,
                       combineArgs);
  }
  for (auto [result, buffer] : llvm::zip(op->getResults(), results))
    result.replaceAllUsesWith(bufferization::ToTensorOp::create(
        b, result.getType(), buffer, /*restrict=*/true, /*writable=*/true));
  op->erase();
}

struct TesseraTensorCoreAttentionPass
    : public tessera::impl::TesseraTensorCoreAttentionBase<
          TesseraTensorCoreAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<Chip> target = getChipOrError(module, getArgument(), chip);
    if (failed(target))
      return signalPassFailure();
    if ((qBlock != 64 && qBlock != 128) || (warpRows != 16 && warpRows != 32)) {
      emitError(module.getLoc(),
                "tessera-tensor-core-attention: 'q-block' must be 64 or "
                "128 and 'warp-rows' 16 or 32, got ")
          << static_cast<int64_t>(qBlock) << " and "
          << static_cast<int64_t>(warpRows);
      return signalPassFailure();
    }
    if (kvSplits < 0) {
      emitError(module.getLoc(), "tessera-tensor-core-attention: 'kv-splits' "
                                 "must be 0 (automatic) or positive, got ")
          << static_cast<int64_t>(kvSplits);
      return signalPassFailure();
    }
    // No cp.async and bf16 mma below sm_80, no MFMA on other AMD chips: the
    // generic lowering stays.
    bool mfma = target->amd;
    if (mfma ? !hasMfma(chip) : target->capability < 80)
      return;
    MLIRContext *ctx = &getContext();
    // wgmma needs the arch-specific sm_90a.
    bool hasWgmma =
        !mfma && target->capability == 90 && StringRef(chip).ends_with("a");
    int64_t sharedBytes =
        mfma ? kMfmaSharedBytes : getMaxSharedBytes(target->capability);
    int64_t multiprocessors = mfma ? getComputeUnitCount(chip)
                                   : getMultiprocessorCount(target->capability);
    auto tilingOf = [&](const Problem &p) {
      bool wgmma = hasWgmma && (p.latent ? latentWgmma : attentionWgmma);
      return chooseTiling(ctx, p, mfma, wgmma, wgmmaValues, qBlock, warpRows,
                          kvSplits, sharedBytes, multiprocessors);
    };
    auto why = [&](auto op) -> std::string {
      std::string reason = whyNotEligible(op);
      if (reason.empty() && !tilingOf(getProblem(op)))
        return "the tiles do not fit in shared memory";
      return reason;
    };
    SmallVector<Operation *> ops;
    for (AttentionOp op : collectEligible<AttentionOp>(
             module, DEBUG_TYPE,
             [&](AttentionOp op) -> std::string { return why(op); }))
      ops.push_back(op);
    for (LatentAttentionOp op : collectEligible<LatentAttentionOp>(
             module, DEBUG_TYPE,
             [&](LatentAttentionOp op) -> std::string { return why(op); }))
      ops.push_back(op);
    if (ops.empty())
      return;
    gpu::GPUModuleOp kernels = getOrCreateKernelModule(module);
    // Kernels named <function>_flash<N> and <function>_mla<N>.
    llvm::StringMap<unsigned> nextFlash, nextMla;
    for (Operation *op : ops) {
      Problem p = isa<AttentionOp>(op)
                      ? getProblem(cast<AttentionOp>(op))
                      : getProblem(cast<LatentAttentionOp>(op));
      std::string name =
          p.latent ? getUniqueKernelName(kernels, op, "mla", nextMla)
                   : getUniqueKernelName(kernels, op, "flash", nextFlash);
      rewriteAttention(op, p, *tilingOf(p), kernels, name);
    }
  }
};

} // namespace
