//===- TileAttention.cpp - Flash-attention tiling -------------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Rewrites `tessera.attention` into the flash-attention form on tensors. With
// Bq/Bk the query/KV blocks (pass options q-block/kv-block):
//
//   scf.forall (b, h, qb) in (B, Hq, ceildiv(Sq, Bq))     shared_outs(out, lse)
//     rows [r0, r0 + n), r0 = qb * Bq, n = min(Bq, Sq - r0)
//     q_t = q[b, h, r0:r0+n, :]                 rank-reduced [n, D], no copy
//     kvh = h / (Hq / Hkv)                      GQA by index (arith.divui)
//     m = -inf, l = 0, acc = 0                  [n], [n], [n, Dv] in f32
//     scf.for kb = lo to hi step Bk  iter_args(m, l, acc)
//       c   = min(Bk, hi - kb)
//       s   = q_t · k[b, kvh, kb:kb+c, :]ᵀ      [n, c], f32 accumulation
//       s   = (scale·s + bias)·log2(e)          base 2; softcap in between
//       s   = -inf where masked                 only in blocks that cross the
//                                               causal/window boundary
//       m'  = max(m, rowmax(s))
//       p   = exp2(s - m'),  corr = exp2(m - m')   (m' = -inf reads as 0)
//       l   = l·corr + rowsum(p)
//       acc = acc·corr + p · v[b, kvh, kb:kb+c, :]
//     out[b, h, r0:r0+n] = acc / l              (0 where l = 0)
//     lse[b, h, r0:r0+n] = (m + log2(l))·ln 2   (-inf where l = 0)
//
// The KV loop bounds skip every block that no row of the tile can see. With
// Skv_eff = kv_lens[b] (or Skv) and diag(i) = i + Skv_eff - Sq, row i sees
// key j iff j < Skv_eff, j <= diag(i) when causal and j > diag(i) - window
// when windowed (the reference's rule, for any kv_lens: a length past Skv
// moves the diagonal, not the last key, which stays Skv - 1), so for rows
// [r0, r0 + n):
//
//   hi = min(clamp(Skv_eff, 0, Skv), diag(r0 + n - 1) + 1)   (causal)
//        clamp(Skv_eff, 0, Skv)                              (else)
//   lo = max(0, diag(r0) - window + 1)        (window; else 0)
//
// The blocks are [lo + k·Bk, ...) clamped to hi, so every tile is in bounds
// and `j < Skv_eff` never needs a mask. A block fully inside the band of every
// row of the tile (`scf.if`) computes its scores without a mask; the others
// apply the reference's per-element rule.
//
// Decode (Sq = 1, static) with G = Hq / Hkv > 1 query heads per KV head and
// no bias: the forall runs over (b, kvh, hb) in (B, Hkv, ceildiv(G, Bq)) and
// the rows of a tile are the heads kvh·G + hb·Bq + [0, n) at the single query
// position, so every row has the same diagonal and each K/V block serves n
// heads (decode and MLA decode are bound by reading K/V).
//
// `tessera.latent_attention` is first rewritten into a `tessera.attention`
// over its single latent KV head (values = the first `latent_dim` columns),
// which is then tiled.
//
// Post-conditions: no `tessera.attention` or `tessera.latent_attention` is
// left; no tensor larger than [Bq, Bk] holds scores; the tile math is
// `linalg` (matmul, generic, reduce, fill) on tensors of at most [Bq, Bk] or
// [Bq, Dv] elements; when Sq (Skv) is static and a multiple of Bq (Bk), or
// smaller, the row (column) extent of the tiles is static.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/TesseraOps.h"
#include "tessera/Transforms/Passes.h"

#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>

namespace mlir {
namespace tessera {
#define GEN_PASS_DEF_TESSERATILEATTENTION
#include "tessera/Transforms/Passes.h.inc"
} // namespace tessera
} // namespace mlir

#define DEBUG_TYPE "tessera-tile-attention"

using namespace mlir;
using namespace mlir::tessera;

static constexpr float kNegInf = -std::numeric_limits<float>::infinity();
static constexpr double kLog2E = 1.44269504088896340736;
static constexpr double kLn2 = 0.69314718055994530942;

/// Query tiles of at most this many (static) rows compute their scores as
/// dot products along D, without transposing the K block: transposing a
/// 16 x 16 block costs about as many shuffles as the FMAs of 16 rows, while
/// reducing the dot products costs about 3 shuffles and adds per score.
static constexpr int64_t kDotProductRows = 8;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

static Value createMin(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  return b.createOrFold<arith::MinSIOp>(loc, lhs, rhs);
}

static Value createMax(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  return b.createOrFold<arith::MaxSIOp>(loc, lhs, rhs);
}

static Value createAdd(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  return b.createOrFold<arith::AddIOp>(loc, lhs, rhs);
}

static Value createSub(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  return b.createOrFold<arith::SubIOp>(loc, lhs, rhs);
}

/// The extent of the tile starting at `offset` in a loop over [.., `upper`)
/// with step `block`: min(block, upper - offset). It is the constant `block`
/// when `staticExtent` (the extent of the looped dimension, when it is static
/// and the loop starts at 0) is a multiple of `block`.
static OpFoldResult getTileExtent(OpBuilder &b, Location loc, Value offset,
                                  Value upper, int64_t block,
                                  std::optional<int64_t> staticExtent) {
  if (staticExtent && *staticExtent % block == 0)
    return b.getIndexAttr(block);
  return createMin(b, loc, createIndexConstant(b, loc, block),
                   createSub(b, loc, upper, offset));
}

/// The 2-d tile source[i0, i1, r : r + rows, c : c + cols] of a rank-4
/// tensor, rank-reduced to [rows, cols]. A view, never a copy.
static Value extractTile(OpBuilder &b, Location loc, Value source,
                         OpFoldResult i0, OpFoldResult i1, OpFoldResult r,
                         OpFoldResult c, OpFoldResult rows, OpFoldResult cols) {
  SmallVector<OpFoldResult> offsets = {i0, i1, r, c};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(1), rows,
                                     cols};
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  auto type = tensor::ExtractSliceOp::inferCanonicalRankReducedResultType(
      2, cast<RankedTensorType>(source.getType()), sizes);
  return tensor::ExtractSliceOp::create(b, loc, type, source, offsets, sizes,
                                        strides);
}

/// The 2-d tile source[i0, h : h + heads, 0, 0 : cols] of a rank-4 tensor
/// with one row per head, rank-reduced to [heads, cols]. A view.
static Value extractHeadTile(OpBuilder &b, Location loc, Value source,
                             OpFoldResult i0, OpFoldResult h,
                             OpFoldResult heads, OpFoldResult cols) {
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  SmallVector<OpFoldResult> offsets = {i0, h, zero, zero};
  SmallVector<OpFoldResult> sizes = {one, heads, one, cols};
  SmallVector<OpFoldResult> strides(4, one);
  auto type = tensor::ExtractSliceOp::inferCanonicalRankReducedResultType(
      2, cast<RankedTensorType>(source.getType()), sizes);
  return tensor::ExtractSliceOp::create(b, loc, type, source, offsets, sizes,
                                        strides);
}

/// An f32 tensor of shape `sizes` filled with `value`.
static Value createFilledF32Tensor(OpBuilder &b, Location loc,
                                   ArrayRef<OpFoldResult> sizes, float value) {
  return createFilledTensor(b, loc, sizes, createF32Constant(b, loc, value));
}

/// Identity and broadcast maps of the 2-d tile space (i, j).
static AffineMap getTileMap(MLIRContext *ctx) {
  return AffineMap::getMultiDimIdentityMap(2, ctx);
}
static AffineMap getRowMap(MLIRContext *ctx) {
  return AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
}

/// A parallel linalg.generic over the space of `init` (rank 1 or 2) whose
/// body yields `body(args)` (args: the input elements, then the `init` one).
static Value
createElementwise(OpBuilder &b, Location loc, ValueRange inputs,
                  ArrayRef<AffineMap> inputMaps, Value init,
                  function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  auto initType = cast<RankedTensorType>(init.getType());
  unsigned rank = initType.getRank();
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, b.getContext()));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, initType, inputs, init, maps, iterators,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(nb, nl, body(nb, nl, args));
             })
      .getResult(0);
}

/// The rank-2 tile `tile` as f32, transposed when `transpose` is set. Done
/// once per tile, it gives the block matmuls equal f32 operands in the
/// row-major layout their register blocks read contiguously.
static Value createF32Tile(OpBuilder &b, Location loc, Value tile,
                           bool transpose) {
  auto type = cast<RankedTensorType>(tile.getType());
  if (!transpose && type.getElementType().isF32())
    return tile;
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, tile);
  if (transpose)
    std::swap(sizes[0], sizes[1]);
  MLIRContext *ctx = b.getContext();
  AffineMap inputMap =
      transpose ? AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0}, ctx)
                : getTileMap(ctx);
  return createElementwise(
      b, loc, tile, inputMap,
      tensor::EmptyOp::create(b, loc, sizes, b.getF32Type()),
      [](OpBuilder &nb, Location nl, ValueRange args) {
        return extendToF32(nb, nl, args[0]);
      });
}

/// Reduces the [n, c] tensor `input` over its columns into `init` ([n]) with
/// `CombineOp`.
template <typename CombineOp>
static Value createRowReduction(OpBuilder &b, Location loc, Value input,
                                Value init) {
  return linalg::ReduceOp::create(
             b, loc, input, init, /*dimensions=*/{1},
             [](OpBuilder &nb, Location nl, ValueRange args) {
               Value result = CombineOp::create(nb, nl, args[0], args[1]);
               linalg::YieldOp::create(nb, nl, result);
             })
      .getResult(0);
}

/// `m` with -inf replaced by 0: the row maximum subtracted before exp2, so
/// that a row with no visible key so far gives exp2(-inf - 0) = 0, not NaN.
static Value createSafeMax(OpBuilder &b, Location loc, Value m) {
  Value isEmpty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, m,
                                        createF32Constant(b, loc, kNegInf));
  return arith::SelectOp::create(b, loc, isEmpty,
                                 createF32Constant(b, loc, 0.0f), m);
}

namespace {

//===----------------------------------------------------------------------===//
// tessera.attention
//===----------------------------------------------------------------------===//

/// What the body of one query tile needs to know: values defined above the
/// KV loop.
struct QueryTile {
  Value batch, head;
  OpFoldResult kvHead;
  Value rowStart;    // r0
  OpFoldResult rows; // n
  Value diagStart;   // diag(r0) = r0 + Skv_eff - Sq
  /// Decode with GQA/MQA: the rows are query heads of one KV head at the
  /// single query position, so every row has the diagonal `diagStart`.
  bool rowsAreHeads = false;
  Value q;             // [n, D]
  OpFoldResult qWidth; // D
  OpFoldResult vWidth; // Dv
};

/// The running state of the online softmax, carried by the KV loop.
struct SoftmaxState {
  Value max; // [n], base-2 scores
  Value sum; // [n]
  Value acc; // [n, Dv]
};

struct TileAttentionOp : public OpRewritePattern<AttentionOp> {
  TileAttentionOp(MLIRContext *ctx, int64_t queryBlock, int64_t kvBlock,
                  bool prefetch)
      : OpRewritePattern(ctx), queryBlock(queryBlock), kvBlock(kvBlock),
        prefetch(prefetch) {}

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (queryBlock <= 0 || kvBlock <= 0)
      return rewriter.notifyMatchFailure(op, "tile sizes must be positive");
    Location loc = op.getLoc();
    Value q = op.getQ(), k = op.getK(), v = op.getV();
    auto qType = cast<RankedTensorType>(q.getType());
    auto kType = cast<RankedTensorType>(k.getType());

    SmallVector<OpFoldResult> qSizes = tensor::getMixedSizes(rewriter, loc, q);
    SmallVector<OpFoldResult> kSizes = tensor::getMixedSizes(rewriter, loc, k);
    SmallVector<OpFoldResult> vSizes = tensor::getMixedSizes(rewriter, loc, v);
    Value seqQ = getValueOrCreateConstantIndexOp(rewriter, loc, qSizes[2]);
    Value seqKV = getValueOrCreateConstantIndexOp(rewriter, loc, kSizes[2]);

    // A block larger than a static extent shrinks to it, so that a single
    // tile (decode, short sequences) has a static shape.
    int64_t blockQ = queryBlock, blockKV = kvBlock;
    if (!qType.isDynamicDim(2))
      blockQ = std::max<int64_t>(1, std::min(blockQ, qType.getDimSize(2)));
    if (!kType.isDynamicDim(2))
      blockKV = std::max<int64_t>(1, std::min(blockKV, kType.getDimSize(2)));

    Value groupSize = rewriter.createOrFold<arith::DivUIOp>(
        loc, getValueOrCreateConstantIndexOp(rewriter, loc, qSizes[1]),
        getValueOrCreateConstantIndexOp(rewriter, loc, kSizes[1]));
    Value scale = createAttentionScale(rewriter, loc, op, qSizes[3]);
    Value numQBlocks = rewriter.createOrFold<arith::CeilDivUIOp>(
        loc, seqQ, createIndexConstant(rewriter, loc, blockQ));

    // The results, written tile by tile.
    SmallVector<Value> inits = {tensor::EmptyOp::create(
        rewriter, loc,
        SmallVector<OpFoldResult>{qSizes[0], qSizes[1], qSizes[2], vSizes[3]},
        qType.getElementType())};
    if (op.getLse())
      inits.push_back(tensor::EmptyOp::create(
          rewriter, loc,
          SmallVector<OpFoldResult>{qSizes[0], qSizes[1], qSizes[2]},
          rewriter.getF32Type()));

    // Decode (one static query row) with several query heads per KV head
    // and no per-head bias: a tile's rows are up to `queryBlock` heads of
    // one KV head, which then read each K/V block once for all of them.
    int64_t headsPerKV = 0, blockH = 0;
    if (!qType.isDynamicDim(2) && qType.getDimSize(2) == 1 &&
        !qType.isDynamicDim(1) && !kType.isDynamicDim(1) && !op.getBias() &&
        qType.getDimSize(1) > kType.getDimSize(1)) {
      headsPerKV = qType.getDimSize(1) / kType.getDimSize(1);
      blockH = std::min(queryBlock, headsPerKV);
    }
    SmallVector<OpFoldResult> space = {qSizes[0], qSizes[1],
                                       getAsOpFoldResult(numQBlocks)};
    if (headsPerKV)
      space = {qSizes[0], kSizes[1],
               rewriter.getIndexAttr(llvm::divideCeil(headsPerKV, blockH))};
    auto forall = scf::ForallOp::create(rewriter, loc, space, inits,
                                        /*mapping=*/std::nullopt);
    {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(forall.getBody());
      SmallVector<Value> ivs = forall.getInductionVars();

      QueryTile tile;
      tile.batch = ivs[0];
      tile.head = ivs[1];
      // GQA: KV head h / (Hq / Hkv); 0 for MQA and latent attention.
      if (headsPerKV) {
        // Heads [kvh·G + hb·Bh, ...) at query position 0.
        tile.kvHead = ivs[1];
        Value headInGroup = rewriter.createOrFold<arith::MulIOp>(
            loc, ivs[2], createIndexConstant(rewriter, loc, blockH));
        tile.head = createAdd(
            rewriter, loc,
            rewriter.createOrFold<arith::MulIOp>(
                loc, ivs[1], createIndexConstant(rewriter, loc, headsPerKV)),
            headInGroup);
        tile.rowStart = createIndexConstant(rewriter, loc, 0);
        tile.rows = getTileExtent(
            rewriter, loc, headInGroup,
            createIndexConstant(rewriter, loc, headsPerKV), blockH, headsPerKV);
        tile.rowsAreHeads = true;
      } else {
        tile.kvHead = kType.getDimSize(1) == 1
                          ? OpFoldResult(rewriter.getIndexAttr(0))
                          : OpFoldResult(rewriter.createOrFold<arith::DivUIOp>(
                                loc, ivs[1], groupSize));
        tile.rowStart = rewriter.createOrFold<arith::MulIOp>(
            loc, ivs[2], createIndexConstant(rewriter, loc, blockQ));
        tile.rows = getTileExtent(rewriter, loc, tile.rowStart, seqQ, blockQ,
                                  qType.isDynamicDim(2)
                                      ? std::nullopt
                                      : std::optional(qType.getDimSize(2)));
      }
      Value seqKVEff = buildEffectiveKVLength(rewriter, loc, op.getKvLens(),
                                              tile.batch, seqKV);
      // The keys that exist: [0, Skv_eff) within [0, Skv).
      Value kvLimit = seqKVEff;
      if (op.getKvLens())
        kvLimit = createMin(rewriter, loc,
                            createMax(rewriter, loc, seqKVEff,
                                      createIndexConstant(rewriter, loc, 0)),
                            seqKV);
      tile.diagStart =
          createSub(rewriter, loc,
                    createAdd(rewriter, loc, tile.rowStart, seqKVEff), seqQ);
      tile.q = createF32Tile(
          rewriter, loc,
          tile.rowsAreHeads
              ? extractHeadTile(rewriter, loc, q, tile.batch, tile.head,
                                tile.rows, qSizes[3])
              : extractTile(rewriter, loc, q, tile.batch, tile.head,
                            tile.rowStart, rewriter.getIndexAttr(0), tile.rows,
                            qSizes[3]),
          /*transpose=*/false);
      tile.qWidth = qSizes[3];
      tile.vWidth = vSizes[3];

      SoftmaxState state =
          buildKVLoop(rewriter, loc, op, tile, kvLimit, scale, blockKV);

      Value outTile = buildNormalizedOutput(rewriter, loc, state, tile,
                                            qType.getElementType());
      Value lseTile;
      if (op.getLse())
        lseTile = buildLogSumExp(rewriter, loc, state, tile);

      // Write the tile into the shared outputs.
      rewriter.setInsertionPointToStart(forall.getTerminator().getBody());
      SmallVector<OpFoldResult> one(4, rewriter.getIndexAttr(1));
      OpFoldResult zero = rewriter.getIndexAttr(0);
      Block::BlockArgListType outArgs = forall.getRegionOutArgs();
      // Rows are query positions of one head, or heads at one position.
      OpFoldResult heads = tile.rowsAreHeads ? tile.rows : one[1];
      OpFoldResult positions = tile.rowsAreHeads ? one[2] : tile.rows;
      tensor::ParallelInsertSliceOp::create(
          rewriter, loc, outTile, outArgs[0],
          SmallVector<OpFoldResult>{tile.batch, tile.head, tile.rowStart, zero},
          SmallVector<OpFoldResult>{one[0], heads, positions, tile.vWidth},
          one);
      if (lseTile)
        tensor::ParallelInsertSliceOp::create(
            rewriter, loc, lseTile, outArgs[1],
            SmallVector<OpFoldResult>{tile.batch, tile.head, tile.rowStart},
            SmallVector<OpFoldResult>{one[0], heads, positions},
            SmallVector<OpFoldResult>(3, rewriter.getIndexAttr(1)));
    }

    SmallVector<Value> results;
    for (auto [result, replaced] :
         llvm::zip_equal(forall.getResults(), op.getResults())) {
      Value value = result;
      if (value.getType() != replaced.getType())
        value =
            tensor::CastOp::create(rewriter, loc, replaced.getType(), value);
      results.push_back(value);
    }
    rewriter.replaceOp(op, results);
    return success();
  }

private:
  /// Skv_eff of batch `batch`: kv_lens[batch] (any i32, sign-extended), or
  /// Skv.
  static Value buildEffectiveKVLength(OpBuilder &b, Location loc, Value kvLens,
                                      Value batch, Value seqKV) {
    if (!kvLens)
      return seqKV;
    Value len = tensor::ExtractOp::create(b, loc, kvLens, batch);
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), len);
  }

  /// The KV loop of one query tile, over the keys below `kvLimit` (Skv_eff
  /// clamped to [0, Skv]): the bounds that skip invisible blocks and the
  /// online softmax over the blocks in between. Returns the final state.
  SoftmaxState buildKVLoop(OpBuilder &b, Location loc, AttentionOp op,
                           const QueryTile &tile, Value kvLimit, Value scale,
                           int64_t blockKV) const {
    bool causal = op.getCausal();
    auto window = static_cast<int64_t>(op.getWindow());
    Value rows = getValueOrCreateConstantIndexOp(b, loc, tile.rows);
    Value one = createIndexConstant(b, loc, 1);
    // diag of the last row of the tile.
    Value diagEnd =
        tile.rowsAreHeads
            ? tile.diagStart
            : createSub(b, loc, createAdd(b, loc, tile.diagStart, rows), one);

    Value lower = createIndexConstant(b, loc, 0);
    if (window > 0)
      lower = createMax(b, loc, lower,
                        createSub(b, loc, tile.diagStart,
                                  createIndexConstant(b, loc, window - 1)));
    Value upper = kvLimit;
    if (causal)
      upper = createMin(b, loc, upper, createAdd(b, loc, diagEnd, one));

    // Whole blocks of a static shape: when Skv is a static multiple of the
    // block and no kv_lens bound needs the exact end, the band's bounds are
    // widened to block boundaries (still inside [0, Skv)); the keys this
    // adds lie outside the causal/window band, so the masked epilogue of
    // those boundary blocks hides them.
    std::optional<int64_t> staticKVExtent;
    auto kType = cast<RankedTensorType>(op.getK().getType());
    if (!op.getKvLens() && !kType.isDynamicDim(2) &&
        kType.getDimSize(2) % blockKV == 0) {
      staticKVExtent = kType.getDimSize(2);
      Value block = createIndexConstant(b, loc, blockKV);
      lower = arith::MulIOp::create(
          b, loc, arith::DivSIOp::create(b, loc, lower, block), block);
      upper = arith::MulIOp::create(
          b, loc, arith::CeilDivSIOp::create(b, loc, upper, block), block);
    }

    SmallVector<OpFoldResult> rowSizes = {tile.rows};
    SmallVector<OpFoldResult> accSizes = {tile.rows, tile.vWidth};
    SoftmaxState init = {createFilledF32Tensor(b, loc, rowSizes, kNegInf),
                         createFilledF32Tensor(b, loc, rowSizes, 0.0f),
                         createFilledF32Tensor(b, loc, accSizes, 0.0f)};

    auto loop = scf::ForOp::create(
        b, loc, lower, upper, createIndexConstant(b, loc, blockKV),
        ValueRange{init.max, init.sum, init.acc},
        [&](OpBuilder &nb, Location nl, Value kvStart, ValueRange args) {
          OpFoldResult cols =
              getTileExtent(nb, nl, kvStart, upper, blockKV, staticKVExtent);
          OpFoldResult zero = nb.getIndexAttr(0);
          Value kTile = extractTile(nb, nl, op.getK(), tile.batch, tile.kvHead,
                                    kvStart, zero, cols, tile.qWidth);
          Value vTile = createF32Tile(nb, nl,
                                      extractTile(nb, nl, op.getV(), tile.batch,
                                                  tile.kvHead, kvStart, zero,
                                                  cols, tile.vWidth),
                                      /*transpose=*/false);
          if (prefetch && isDotProductTile(tile))
            buildNextBlockPrefetch(nb, nl, op, tile, kvStart, blockKV);
          Value scores =
              buildBlockScores(nb, nl, op, tile, kTile, kvStart, cols, scale);
          SoftmaxState next =
              buildOnlineSoftmaxStep(nb, nl, scores, vTile, {tile.rows, cols},
                                     {args[0], args[1], args[2]});
          scf::YieldOp::create(nb, nl,
                               ValueRange{next.max, next.sum, next.acc});
        });
    return {loop.getResult(0), loop.getResult(1), loop.getResult(2)};
  }

  /// Whether the scores of `tile` are dot products along D (see
  /// buildRawScores).
  static bool isDotProductTile(const QueryTile &tile) {
    std::optional<int64_t> rows = getConstantIntValue(tile.rows);
    return rows && *rows <= kDotProductRows;
  }

  /// Prefetches into L2 (`locality<2>`, prefetcht1), one 64-byte line at a
  /// time, the V rows of the block at `kvStart` (read after the scores) and
  /// the K rows of the next block (rows past the last key are clamped to
  /// it). Decode streams K and V from memory once; with the hardware
  /// prefetcher alone the loads of each block wait on DRAM (measured: Skv
  /// 32768, 2 threads, 40 -> 47 GB/s; prefetching both of the next block
  /// gives 44). Into L1 (prefetcht0) the 1024 requests of a step hold the
  /// L1 miss buffers and stall the FMAs behind them: 7-14% slower (1 and 2
  /// threads, 6 interleaved rounds).
  static void buildNextBlockPrefetch(OpBuilder &b, Location loc, AttentionOp op,
                                     const QueryTile &tile, Value kvStart,
                                     int64_t blockKV) {
    Value zero = createIndexConstant(b, loc, 0);
    Value one = createIndexConstant(b, loc, 1);
    Value kvHead = getValueOrCreateConstantIndexOp(b, loc, tile.kvHead);
    for (auto [source, ahead] :
         {std::pair(op.getV(), int64_t(0)), std::pair(op.getK(), blockKV)}) {
      auto type = cast<RankedTensorType>(source.getType());
      auto layout = StridedLayoutAttr::get(
          b.getContext(), ShapedType::kDynamic,
          SmallVector<int64_t>(type.getRank(), ShapedType::kDynamic));
      auto bufferType =
          MemRefType::get(type.getShape(), type.getElementType(), layout);
      Value buffer = bufferization::ToBufferOp::create(
          b, loc, bufferType, source, /*readOnly=*/true);
      Value last = arith::SubIOp::create(
          b, loc, tensor::DimOp::create(b, loc, source, 2), one);
      Value width = tensor::DimOp::create(b, loc, source, 3);
      int64_t lineElements =
          std::max<int64_t>(1, 512 / type.getElementTypeBitWidth());
      Value next =
          createAdd(b, loc, kvStart, createIndexConstant(b, loc, ahead));
      scf::ForOp::create(
          b, loc, zero, createIndexConstant(b, loc, blockKV), one, ValueRange{},
          [&](OpBuilder &rb, Location rl, Value r, ValueRange) {
            Value row = createMin(rb, rl, createAdd(rb, rl, next, r), last);
            scf::ForOp::create(
                rb, rl, zero, width, createIndexConstant(rb, rl, lineElements),
                ValueRange{},
                [&](OpBuilder &cb, Location cl, Value c, ValueRange) {
                  memref::PrefetchOp::create(
                      cb, cl, buffer, ValueRange{tile.batch, kvHead, row, c},
                      /*isWrite=*/false, /*localityHint=*/2,
                      /*isDataCache=*/true);
                  scf::YieldOp::create(cb, cl);
                });
            scf::YieldOp::create(rb, rl);
          });
    }
  }

  /// q_t [n, D] · k_tᵀ into the zero [n, cols] tensor `init`. A tile of at
  /// most kDotProductRows rows (decode: the query heads of one KV head)
  /// takes dot products along D of q rows and k rows as stored; a taller
  /// tile transposes k once per block, which its rows share.
  static Value buildRawScores(OpBuilder &b, Location loc, const QueryTile &tile,
                              Value kTile, Value init) {
    if (!isDotProductTile(tile)) {
      Value kTransposed = createF32Tile(b, loc, kTile, /*transpose=*/true);
      return linalg::MatmulOp::create(b, loc, init.getType(),
                                      ValueRange{tile.q, kTransposed}, init)
          .getResult(0);
    }
    SmallVector<AffineMap> maps = getDotProductMaps(b.getContext());
    SmallVector<utils::IteratorType> iterators = {
        utils::IteratorType::parallel, utils::IteratorType::parallel,
        utils::IteratorType::reduction};
    return linalg::GenericOp::create(
               b, loc, init.getType(), ValueRange{tile.q, kTile}, init, maps,
               iterators,
               [](OpBuilder &nb, Location nl, ValueRange args) {
                 Value product = arith::MulFOp::create(
                     nb, nl, args[0], extendToF32(nb, nl, args[1]));
                 linalg::YieldOp::create(
                     nb, nl,
                     arith::AddFOp::create(nb, nl, args[2], product)
                         .getResult());
               })
        .getResult(0);
  }

  /// The base-2 scores of one [n, c] block: q_t · k_tᵀ in f32, scaled, with
  /// the bias and softcap, masked when the block crosses the causal or
  /// window boundary of some row of the tile.
  static Value buildBlockScores(OpBuilder &b, Location loc, AttentionOp op,
                                const QueryTile &tile, Value kTile,
                                Value kvStart, OpFoldResult cols, Value scale) {
    SmallVector<OpFoldResult> sizes = {tile.rows, cols};
    Value init = createFilledF32Tensor(b, loc, sizes, 0.0f);
    Value raw = buildRawScores(b, loc, tile, kTile, init);

    Value biasTile;
    if (Value bias = op.getBias()) {
      // A static size-1 batch or head dimension broadcasts.
      auto biasType = cast<RankedTensorType>(bias.getType());
      OpFoldResult zero = b.getIndexAttr(0);
      OpFoldResult batch =
          biasType.getDimSize(0) == 1 ? zero : OpFoldResult(tile.batch);
      OpFoldResult head =
          biasType.getDimSize(1) == 1 ? zero : OpFoldResult(tile.head);
      biasTile = extractTile(b, loc, bias, batch, head, tile.rowStart, kvStart,
                             tile.rows, cols);
    }

    bool causal = op.getCausal();
    auto window = static_cast<int64_t>(op.getWindow());
    if (!causal && window == 0)
      return buildScoreEpilogue(b, loc, op, raw, biasTile, sizes, scale,
                                /*mask=*/nullptr);

    // Column j (local) of row i (local) is visible iff
    //   causal: kvStart + j <= diagStart + i
    //   window: kvStart + j >  diagStart + i - window
    auto mask = [&](OpBuilder &nb, Location nl) -> Value {
      Value i = linalg::IndexOp::create(nb, nl, 0);
      Value j = linalg::IndexOp::create(nb, nl, 1);
      Value key = arith::AddIOp::create(nb, nl, kvStart, j);
      Value diag = tile.rowsAreHeads
                       ? tile.diagStart
                       : arith::AddIOp::create(nb, nl, tile.diagStart, i);
      Value visible;
      if (causal)
        visible =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sle, key, diag);
      if (window > 0) {
        Value start = arith::SubIOp::create(
            nb, nl, diag, createIndexConstant(nb, nl, window));
        Value inWindow = arith::CmpIOp::create(
            nb, nl, arith::CmpIPredicate::sgt, key, start);
        visible = visible ? arith::AndIOp::create(nb, nl, visible, inWindow)
                          : inWindow;
      }
      return visible;
    };

    // The block is visible to every row of the tile when its last key is at
    // or before the first row's diagonal (causal) and its first key is past
    // the last row's window start (window).
    Value rows = getValueOrCreateConstantIndexOp(b, loc, tile.rows);
    Value colsValue = getValueOrCreateConstantIndexOp(b, loc, cols);
    Value fullyVisible;
    if (causal) {
      Value lastKey = createSub(b, loc, createAdd(b, loc, kvStart, colsValue),
                                createIndexConstant(b, loc, 1));
      fullyVisible = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle,
                                           lastKey, tile.diagStart);
    }
    if (window > 0) {
      Value lastDiag =
          tile.rowsAreHeads
              ? tile.diagStart
              : createSub(b, loc, createAdd(b, loc, tile.diagStart, rows),
                          createIndexConstant(b, loc, 1));
      Value start =
          createSub(b, loc, lastDiag, createIndexConstant(b, loc, window));
      Value inWindow = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt,
                                             kvStart, start);
      fullyVisible = fullyVisible
                         ? arith::AndIOp::create(b, loc, fullyVisible, inWindow)
                         : inWindow;
    }
    auto ifOp = scf::IfOp::create(
        b, loc, fullyVisible,
        [&](OpBuilder &nb, Location nl) {
          scf::YieldOp::create(nb, nl,
                               buildScoreEpilogue(nb, nl, op, raw, biasTile,
                                                  sizes, scale,
                                                  /*mask=*/nullptr));
        },
        [&](OpBuilder &nb, Location nl) {
          scf::YieldOp::create(nb, nl,
                               buildScoreEpilogue(nb, nl, op, raw, biasTile,
                                                  sizes, scale, mask));
        });
    return ifOp.getResult(0);
  }

  /// s = log2(e)·softcap(scale·raw + bias), -inf where `mask` (built in the
  /// body, may be null) is false. Without softcap, log2(e) is folded into
  /// the scale.
  static Value
  buildScoreEpilogue(OpBuilder &b, Location loc, AttentionOp op, Value raw,
                     Value biasTile, ArrayRef<OpFoldResult> sizes, Value scale,
                     function_ref<Value(OpBuilder &, Location)> mask) {
    MLIRContext *ctx = b.getContext();
    float softcap = op.getSoftcap().convertToFloat();
    Value log2e = createF32Constant(b, loc, static_cast<float>(kLog2E));
    // Without softcap the whole epilogue is linear: fold log2(e) into the
    // factors of raw and bias.
    Value rawFactor =
        softcap != 0.0f ? scale : arith::MulFOp::create(b, loc, scale, log2e);

    SmallVector<Value> inputs = {raw};
    SmallVector<AffineMap> maps = {getTileMap(ctx)};
    if (biasTile) {
      inputs.push_back(biasTile);
      maps.push_back(getTileMap(ctx));
    }
    Value init = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
    return createElementwise(
        b, loc, inputs, maps, init,
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value s = arith::MulFOp::create(nb, nl, args[0], rawFactor);
          if (biasTile) {
            Value bias = extendToF32(nb, nl, args[1]);
            if (softcap == 0.0f)
              bias = arith::MulFOp::create(nb, nl, bias, log2e);
            s = arith::AddFOp::create(nb, nl, s, bias);
          }
          if (softcap != 0.0f) {
            // s = log2(e) · c · tanh(s / c)
            Value cap = createF32Constant(nb, nl, softcap);
            Value tanh = math::TanhOp::create(
                nb, nl, arith::DivFOp::create(nb, nl, s, cap));
            s = arith::MulFOp::create(
                nb, nl, tanh,
                createF32Constant(nb, nl,
                                  static_cast<float>(softcap * kLog2E)));
          }
          if (mask)
            s = arith::SelectOp::create(nb, nl, mask(nb, nl), s,
                                        createF32Constant(nb, nl, kNegInf));
          return s;
        });
  }

  /// One step of the online softmax with the base-2 block scores `scores`
  /// ([n, c], `sizes`) and the value tile `vTile` ([c, Dv]). Every new state
  /// tensor is computed in the buffer of the old one (as `outs`), so that
  /// the loop's iter_args bufferize in place.
  static SoftmaxState buildOnlineSoftmaxStep(OpBuilder &b, Location loc,
                                             Value scores, Value vTile,
                                             ArrayRef<OpFoldResult> sizes,
                                             SoftmaxState state) {
    MLIRContext *ctx = b.getContext();
    ArrayRef<OpFoldResult> rowSizes = sizes.take_front();
    Type f32 = b.getF32Type();
    AffineMap rowIdentity = AffineMap::getMultiDimIdentityMap(1, ctx);

    // maxnumf (not maximumf): scores are never NaN, and maxnum reductions
    // lower to vmaxps trees instead of scalar NaN-propagating chains.
    Value blockMax = createRowReduction<arith::MaxNumFOp>(
        b, loc, scores, createFilledF32Tensor(b, loc, rowSizes, kNegInf));

    // m' = max(m, blockMax) written over m, and corr = exp2(m - m'), the
    // factor that rescales what was accumulated against m.
    auto update = linalg::GenericOp::create(
        b, loc, TypeRange{state.max.getType(), state.max.getType()}, blockMax,
        ValueRange{state.max, tensor::EmptyOp::create(b, loc, rowSizes, f32)},
        SmallVector<AffineMap>(3, rowIdentity), {utils::IteratorType::parallel},
        [](OpBuilder &nb, Location nl, ValueRange args) {
          Value oldMax = args[1];
          Value newMax = arith::MaxNumFOp::create(nb, nl, oldMax, args[0]);
          Value correction = math::Exp2Op::create(
              nb, nl,
              arith::SubFOp::create(nb, nl, oldMax,
                                    createSafeMax(nb, nl, newMax)));
          linalg::YieldOp::create(nb, nl, ValueRange{newMax, correction});
        });
    Value newMax = update.getResult(0), correction = update.getResult(1);

    // p = exp2(s - m'), 0 for keys at -inf.
    Value probs = createElementwise(
        b, loc, ValueRange{scores, newMax}, {getTileMap(ctx), getRowMap(ctx)},
        tensor::EmptyOp::create(b, loc, sizes, f32),
        [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value shifted = arith::SubFOp::create(nb, nl, args[0],
                                                createSafeMax(nb, nl, args[1]));
          return math::Exp2Op::create(nb, nl, shifted);
        });

    // l' = l·corr + rowsum(p).
    auto rescale = [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
      return arith::MulFOp::create(nb, nl, args[1], args[0]);
    };
    Value scaledSum =
        createElementwise(b, loc, correction, rowIdentity, state.sum, rescale);
    Value newSum = createRowReduction<arith::AddFOp>(b, loc, probs, scaledSum);

    // acc' = acc·corr + p · v_t.
    Value scaledAcc = createElementwise(b, loc, correction, getRowMap(ctx),
                                        state.acc, rescale);
    Value newAcc = linalg::MatmulOp::create(b, loc, scaledAcc.getType(),
                                            ValueRange{probs, vTile}, scaledAcc)
                       .getResult(0);
    return {newMax, newSum, newAcc};
  }

  /// out_t = acc / l (0 where l = 0), rounded to `elementType`.
  static Value buildNormalizedOutput(OpBuilder &b, Location loc,
                                     const SoftmaxState &state,
                                     const QueryTile &tile, Type elementType) {
    MLIRContext *ctx = b.getContext();
    Value init = tensor::EmptyOp::create(
        b, loc, SmallVector<OpFoldResult>{tile.rows, tile.vWidth}, elementType);
    return createElementwise(
        b, loc, ValueRange{state.acc, state.sum},
        {getTileMap(ctx), getRowMap(ctx)}, init,
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value acc = args[0], sum = args[1];
          Value zero = createF32Constant(nb, nl, 0.0f);
          Value empty = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ,
                                              sum, zero);
          Value result = arith::SelectOp::create(
              nb, nl, empty, zero, arith::DivFOp::create(nb, nl, acc, sum));
          return truncateFromF32(nb, nl, elementType, result);
        });
  }

  /// lse_t = (m + log2(l))·ln 2, the natural log-sum-exp; -inf where l = 0.
  static Value buildLogSumExp(OpBuilder &b, Location loc,
                              const SoftmaxState &state,
                              const QueryTile &tile) {
    AffineMap identity = AffineMap::getMultiDimIdentityMap(1, b.getContext());
    Value init = tensor::EmptyOp::create(
        b, loc, SmallVector<OpFoldResult>{tile.rows}, b.getF32Type());
    return createElementwise(
        b, loc, ValueRange{state.max, state.sum}, {identity, identity}, init,
        [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value m = args[0], l = args[1];
          Value empty =
              arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, l,
                                    createF32Constant(nb, nl, 0.0f));
          Value log2Sum =
              arith::AddFOp::create(nb, nl, m, math::Log2Op::create(nb, nl, l));
          Value lse = arith::MulFOp::create(
              nb, nl, log2Sum,
              createF32Constant(nb, nl, static_cast<float>(kLn2)));
          return arith::SelectOp::create(
              nb, nl, empty, createF32Constant(nb, nl, kNegInf), lse);
        });
  }

  int64_t queryBlock, kvBlock;
  bool prefetch;
};

//===----------------------------------------------------------------------===//
// tessera.latent_attention
//===----------------------------------------------------------------------===//

/// Rewrites latent attention into attention over its one latent KV head,
/// which TileAttentionOp then tiles.
struct LatentAttentionToAttention : public OpRewritePattern<LatentAttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LatentAttentionOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, createAttentionFromLatent(rewriter, op).getOut());
    return success();
  }
};

} // namespace

void mlir::tessera::populateTesseraTileAttentionPatterns(
    RewritePatternSet &patterns, int64_t queryBlock, int64_t kvBlock,
    bool prefetch) {
  patterns.add<TileAttentionOp>(patterns.getContext(), queryBlock, kvBlock,
                                prefetch);
  patterns.add<LatentAttentionToAttention>(patterns.getContext());
}

namespace {
struct TesseraTileAttentionPass
    : public tessera::impl::TesseraTileAttentionBase<TesseraTileAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(checkPositiveOptions(
            getOperation(), {{"q-block", queryBlock}, {"kv-block", kvBlock}})))
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    populateTesseraTileAttentionPatterns(patterns, queryBlock, kvBlock,
                                         prefetch);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
