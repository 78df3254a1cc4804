//===- AttentionToLinalg.cpp - Reference lowering of attention ops --------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The reference lowering of `tessera.attention` to linalg on tensors. It is
// the oracle every optimized attention path is tested against, so it computes
// the textbook formula one materialized f32 tensor at a time, with no tiling,
// fusion or online softmax:
//
//   s[b,h,i,j] = scale * sum_c q[b,h,i,c] * k[b,h/G,j,c]    (G = Hq / Hkv)
//   s          = softcap(s + bias[b,h,i,j])
//   s          = -inf where key j is masked for query i
//   m[b,h,i]   = max_j s                        (-inf for a fully masked row)
//   p[b,h,i,j] = exp(s - m)                     (0 when m = -inf)
//   l[b,h,i]   = sum_j p                        (0 exactly when m = -inf)
//   o[b,h,i,c] = (sum_j p * v[b,h/G,j,c]) / l   (0 when l = 0)
//   lse[b,h,i] = m + log(l)                     (-inf when l = 0)
//
// Every step is one linalg.generic; inputs are extended to f32 inside the
// generic bodies and `out` is truncated to its element type at the end.
//
// `tessera.latent_attention` is rewritten into a `tessera.attention` with a
// single KV head (the latent cache) whose values are its first `latent_dim`
// columns; the greedy driver then lowers that attention.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/TesseraOps.h"
#include "tessera/Transforms/Passes.h"

#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>
#include <optional>

using namespace mlir;
using namespace mlir::tessera;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

static constexpr float kNegInf = -std::numeric_limits<float>::infinity();

/// An f32 tensor of shape `sizes` filled with `value`.
static Value createFilledF32Tensor(OpBuilder &b, Location loc,
                                   ArrayRef<OpFoldResult> sizes, float value) {
  return createFilledTensor(b, loc, sizes, createF32Constant(b, loc, value));
}

/// The map (d0, ..., d{rank-1}) -> (d0, ..., d{numResults-1}), e.g. from
/// the score space (b, h, i, j) to the row space (b, h, i).
static AffineMap getLeadingDimsMap(MLIRContext *ctx, unsigned rank,
                                   unsigned numResults) {
  return AffineMap::getMultiDimIdentityMap(rank, ctx).getMajorSubMap(
      numResults);
}

/// Dimension `dim` of the first of `values` (ranked tensors of compatible
/// shapes) where it is static, else ShapedType::kDynamic.
static int64_t getStaticDimSize(ArrayRef<Value> values, unsigned dim) {
  for (Value value : values) {
    int64_t size = cast<RankedTensorType>(value.getType()).getDimSize(dim);
    if (!ShapedType::isDynamic(size))
      return size;
  }
  return ShapedType::kDynamic;
}

/// The KV head read by query head `h` (grouped-query attention): the
/// expression `h floordiv (Hq / Hkv)` when the group size is static, the
/// constant 0 when there is a single KV head, and std::nullopt when the group
/// size is known only at run time.
static std::optional<AffineExpr> getKVHeadExpr(AffineExpr h, int64_t numQHeads,
                                               int64_t numKVHeads) {
  if (numKVHeads == 1)
    return getAffineConstantExpr(0, h.getContext());
  if (ShapedType::isDynamic(numQHeads) || ShapedType::isDynamic(numKVHeads))
    return std::nullopt;
  return h.floorDiv(numQHeads / numKVHeads);
}

namespace {

//===----------------------------------------------------------------------===//
// tessera.attention
//===----------------------------------------------------------------------===//

struct AttentionOpLowering : public OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value q = op.getQ(), k = op.getK(), v = op.getV();

    // Sizes: q is [B, Hq, Sq, D], k is [B, Hkv, Skv, D], v is [.., Dv].
    SmallVector<OpFoldResult> qSizes = tensor::getMixedSizes(rewriter, loc, q);
    SmallVector<OpFoldResult> kSizes = tensor::getMixedSizes(rewriter, loc, k);
    SmallVector<OpFoldResult> vSizes = tensor::getMixedSizes(rewriter, loc, v);
    SmallVector<OpFoldResult> rowSizes = {qSizes[0], qSizes[1], qSizes[2]};
    SmallVector<OpFoldResult> scoreSizes = {qSizes[0], qSizes[1], qSizes[2],
                                            kSizes[2]};
    SmallVector<OpFoldResult> outSizes = {qSizes[0], qSizes[1], qSizes[2],
                                          vSizes[3]};

    int64_t numQHeads = getStaticDimSize({q, op.getOut()}, 1);
    int64_t numKVHeads = getStaticDimSize({k, v}, 1);
    // GQA reads K/V through the map h floordiv G when G = Hq / Hkv is
    // static; otherwise G is computed here and K/V are read by tensor.extract.
    Value groupSize;
    if (!getKVHeadExpr(rewriter.getAffineDimExpr(1), numQHeads, numKVHeads)) {
      groupSize = arith::DivUIOp::create(
          rewriter, loc,
          getValueOrCreateConstantIndexOp(rewriter, loc, qSizes[1]),
          getValueOrCreateConstantIndexOp(rewriter, loc, kSizes[1]));
    }

    Value scores = buildScores(rewriter, loc, q, k, scoreSizes, numQHeads,
                               numKVHeads, groupSize);
    scores = buildMaskedScores(rewriter, loc, op, scores, qSizes, kSizes,
                               scoreSizes);
    Value rowMax = buildRowMax(rewriter, loc, scores, rowSizes);
    Value probs = buildProbabilities(rewriter, loc, scores, rowMax, scoreSizes);
    Value rowSum = buildRowSum(rewriter, loc, probs, rowSizes);
    Value unnormalized = buildWeightedValues(rewriter, loc, probs, v, outSizes,
                                             numQHeads, numKVHeads, groupSize);
    Value out = buildNormalizedOutput(rewriter, loc, unnormalized, rowSum,
                                      outSizes, op.getOut().getType());

    SmallVector<Value> results = {out};
    if (Value lse = op.getLse())
      results.push_back(
          castIfNeeded(rewriter, loc,
                       buildLogSumExp(rewriter, loc, rowMax, rowSum, rowSizes),
                       lse.getType()));
    rewriter.replaceOp(op, results);
    return success();
  }

private:
  /// Casts `value` to `type` when the sizes derived from the operands are
  /// less static than the op's result type.
  static Value castIfNeeded(OpBuilder &b, Location loc, Value value,
                            Type type) {
    if (value.getType() == type)
      return value;
    return tensor::CastOp::create(b, loc, type, value);
  }

  /// Builds `acc[...] += f32(lhs[...]) * f32(kv[b, h/G, j, c])` over the
  /// iteration space (b, h, i, j, c), where `reductionDim` (j or c) is
  /// summed. `kv` is K or V ([B, Hkv, Skv, C]).
  static Value buildHeadContraction(OpBuilder &b, Location loc, Value lhs,
                                    AffineMap lhsMap, Value kv,
                                    AffineMap outMap, Value init,
                                    unsigned reductionDim, int64_t numQHeads,
                                    int64_t numKVHeads, Value groupSize) {
    MLIRContext *ctx = b.getContext();
    AffineExpr bDim, hDim, iDim, jDim, cDim;
    bindDims(ctx, bDim, hDim, iDim, jDim, cDim);
    std::optional<AffineExpr> kvHead =
        getKVHeadExpr(hDim, numQHeads, numKVHeads);

    SmallVector<Value> inputs = {lhs};
    SmallVector<AffineMap> maps = {lhsMap};
    if (kvHead) {
      inputs.push_back(kv);
      maps.push_back(AffineMap::get(5, 0, {bDim, *kvHead, jDim, cDim}, ctx));
    }
    maps.push_back(outMap);
    SmallVector<utils::IteratorType> iterators(5,
                                               utils::IteratorType::parallel);
    iterators[reductionDim] = utils::IteratorType::reduction;

    auto body = [&](OpBuilder &nb, Location nl, ValueRange args) {
      Value kvElem;
      if (kvHead) {
        kvElem = args[1];
      } else {
        // Dynamic group size: read kv[b, h / G, j, c] directly.
        Value batch = linalg::IndexOp::create(nb, nl, 0);
        Value head = linalg::IndexOp::create(nb, nl, 1);
        Value key = linalg::IndexOp::create(nb, nl, 3);
        Value col = linalg::IndexOp::create(nb, nl, 4);
        Value kvHeadIdx = arith::DivUIOp::create(nb, nl, head, groupSize);
        kvElem = tensor::ExtractOp::create(
            nb, nl, kv, ValueRange{batch, kvHeadIdx, key, col});
      }
      Value product = arith::MulFOp::create(
          nb, nl, extendToF32(nb, nl, args[0]), extendToF32(nb, nl, kvElem));
      Value sum = arith::AddFOp::create(nb, nl, args.back(), product);
      linalg::YieldOp::create(nb, nl, sum);
    };
    return linalg::GenericOp::create(b, loc, init.getType(), inputs, init, maps,
                                     iterators, body)
        .getResult(0);
  }

  /// raw[b,h,i,j] = sum_c q[b,h,i,c] * k[b,h/G,j,c], in f32.
  static Value buildScores(OpBuilder &b, Location loc, Value q, Value k,
                           ArrayRef<OpFoldResult> scoreSizes, int64_t numQHeads,
                           int64_t numKVHeads, Value groupSize) {
    MLIRContext *ctx = b.getContext();
    AffineExpr bDim, hDim, iDim, jDim, cDim;
    bindDims(ctx, bDim, hDim, iDim, jDim, cDim);
    AffineMap qMap = AffineMap::get(5, 0, {bDim, hDim, iDim, cDim}, ctx);
    AffineMap outMap = AffineMap::get(5, 0, {bDim, hDim, iDim, jDim}, ctx);
    Value init = createFilledF32Tensor(b, loc, scoreSizes, 0.0f);
    return buildHeadContraction(b, loc, q, qMap, k, outMap, init,
                                /*reductionDim=*/4, numQHeads, numKVHeads,
                                groupSize);
  }

  /// Whether query `i` of batch `b` may see key `j`, as an i1. `seqKVEff` is
  /// Skv_eff(b) (kv_lens[b] when given, else Skv):
  ///   kv_lens: j < Skv_eff
  ///   causal:  j <= diag               with diag = i + (Skv_eff - Sq)
  ///   window:  j > diag - window
  /// Returns a null value when nothing is masked.
  static Value buildVisibility(OpBuilder &b, Location loc, AttentionOp op,
                               Value i, Value j, Value seqQ, Value seqKVEff) {
    bool hasLens = static_cast<bool>(op.getKvLens());
    bool causal = op.getCausal();
    auto window = static_cast<int64_t>(op.getWindow());
    if (!hasLens && !causal && window == 0)
      return Value();

    SmallVector<Value> conditions;
    if (hasLens)
      conditions.push_back(arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::slt, j, seqKVEff));
    Value diag;
    if (causal || window != 0)
      diag = arith::SubIOp::create(
          b, loc, arith::AddIOp::create(b, loc, i, seqKVEff), seqQ);
    if (causal)
      conditions.push_back(
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, j, diag));
    if (window != 0) {
      Value windowStart = arith::SubIOp::create(
          b, loc, diag, arith::ConstantIndexOp::create(b, loc, window));
      conditions.push_back(arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::sgt, j, windowStart));
    }
    Value visible = conditions.front();
    for (Value condition : llvm::drop_begin(conditions))
      visible = arith::AndIOp::create(b, loc, visible, condition);
    return visible;
  }

  /// s[b,h,i,j] = mask(softcap(scale * raw + bias)): the final scores, with
  /// masked keys at -inf.
  static Value buildMaskedScores(OpBuilder &b, Location loc, AttentionOp op,
                                 Value raw, ArrayRef<OpFoldResult> qSizes,
                                 ArrayRef<OpFoldResult> kSizes,
                                 ArrayRef<OpFoldResult> scoreSizes) {
    MLIRContext *ctx = b.getContext();
    AffineExpr bDim, hDim, iDim, jDim;
    bindDims(ctx, bDim, hDim, iDim, jDim);
    AffineMap identity = AffineMap::getMultiDimIdentityMap(4, ctx);

    Value scale = createAttentionScale(b, loc, op, qSizes[3]);
    Value seqQ = getValueOrCreateConstantIndexOp(b, loc, qSizes[2]);
    Value seqKV = getValueOrCreateConstantIndexOp(b, loc, kSizes[2]);
    float softcap = op.getSoftcap().convertToFloat();

    SmallVector<Value> inputs = {raw};
    SmallVector<AffineMap> maps = {identity};
    Value bias = op.getBias();
    if (bias) {
      // A static size-1 batch or head dimension broadcasts.
      auto biasType = cast<RankedTensorType>(bias.getType());
      AffineExpr zero = getAffineConstantExpr(0, ctx);
      AffineExpr biasB = biasType.getDimSize(0) == 1 ? zero : bDim;
      AffineExpr biasH = biasType.getDimSize(1) == 1 ? zero : hDim;
      inputs.push_back(bias);
      maps.push_back(AffineMap::get(4, 0, {biasB, biasH, iDim, jDim}, ctx));
    }
    Value kvLens = op.getKvLens();
    if (kvLens) {
      inputs.push_back(kvLens);
      maps.push_back(AffineMap::get(4, 0, {bDim}, ctx));
    }
    maps.push_back(identity);

    auto body = [&](OpBuilder &nb, Location nl, ValueRange args) {
      Value s = arith::MulFOp::create(nb, nl, args[0], scale);
      unsigned next = 1;
      if (bias)
        s = arith::AddFOp::create(nb, nl, s, extendToF32(nb, nl, args[next++]));
      if (softcap != 0.0f) {
        // s = c * tanh(s / c)
        Value cap = createF32Constant(nb, nl, softcap);
        Value tanh =
            math::TanhOp::create(nb, nl, arith::DivFOp::create(nb, nl, s, cap));
        s = arith::MulFOp::create(nb, nl, cap, tanh);
      }
      Value seqKVEff = seqKV;
      if (kvLens)
        seqKVEff =
            arith::IndexCastOp::create(nb, nl, nb.getIndexType(), args[next++]);
      Value i = linalg::IndexOp::create(nb, nl, 2);
      Value j = linalg::IndexOp::create(nb, nl, 3);
      if (Value visible = buildVisibility(nb, nl, op, i, j, seqQ, seqKVEff))
        s = arith::SelectOp::create(nb, nl, visible, s,
                                    createF32Constant(nb, nl, kNegInf));
      linalg::YieldOp::create(nb, nl, s);
    };
    Value init = tensor::EmptyOp::create(b, loc, scoreSizes, b.getF32Type());
    SmallVector<utils::IteratorType> iterators(4,
                                               utils::IteratorType::parallel);
    return linalg::GenericOp::create(b, loc, init.getType(), inputs, init, maps,
                                     iterators, body)
        .getResult(0);
  }

  /// Reduces `scores` [B, Hq, Sq, Skv] over j with `combine`, starting from
  /// `initValue`.
  template <typename CombineOp>
  static Value buildRowReduction(OpBuilder &b, Location loc, Value scores,
                                 ArrayRef<OpFoldResult> rowSizes,
                                 float initValue) {
    MLIRContext *ctx = b.getContext();
    Value init = createFilledF32Tensor(b, loc, rowSizes, initValue);
    SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(4, ctx),
                                   getLeadingDimsMap(ctx, 4, 3)};
    SmallVector<utils::IteratorType> iterators(3,
                                               utils::IteratorType::parallel);
    iterators.push_back(utils::IteratorType::reduction);
    return linalg::GenericOp::create(
               b, loc, init.getType(), scores, init, maps, iterators,
               [](OpBuilder &nb, Location nl, ValueRange args) {
                 Value result = CombineOp::create(nb, nl, args[1], args[0]);
                 linalg::YieldOp::create(nb, nl, result);
               })
        .getResult(0);
  }

  /// m[b,h,i] = max_j s[b,h,i,j]; -inf when every key is masked.
  static Value buildRowMax(OpBuilder &b, Location loc, Value scores,
                           ArrayRef<OpFoldResult> rowSizes) {
    return buildRowReduction<arith::MaximumFOp>(b, loc, scores, rowSizes,
                                                kNegInf);
  }

  /// l[b,h,i] = sum_j p[b,h,i,j].
  static Value buildRowSum(OpBuilder &b, Location loc, Value probs,
                           ArrayRef<OpFoldResult> rowSizes) {
    return buildRowReduction<arith::AddFOp>(b, loc, probs, rowSizes, 0.0f);
  }

  /// p[b,h,i,j] = exp(s - m), and 0 for a fully masked row (m = -inf, where
  /// s - m would be NaN).
  static Value buildProbabilities(OpBuilder &b, Location loc, Value scores,
                                  Value rowMax,
                                  ArrayRef<OpFoldResult> scoreSizes) {
    MLIRContext *ctx = b.getContext();
    Value init = tensor::EmptyOp::create(b, loc, scoreSizes, b.getF32Type());
    AffineMap identity = AffineMap::getMultiDimIdentityMap(4, ctx);
    SmallVector<AffineMap> maps = {identity, getLeadingDimsMap(ctx, 4, 3),
                                   identity};
    SmallVector<utils::IteratorType> iterators(4,
                                               utils::IteratorType::parallel);
    return linalg::GenericOp::create(
               b, loc, init.getType(), ValueRange{scores, rowMax}, init, maps,
               iterators,
               [](OpBuilder &nb, Location nl, ValueRange args) {
                 Value s = args[0], m = args[1];
                 Value exp = math::ExpOp::create(
                     nb, nl, arith::SubFOp::create(nb, nl, s, m));
                 Value rowMasked =
                     arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, m,
                                           createF32Constant(nb, nl, kNegInf));
                 Value p = arith::SelectOp::create(
                     nb, nl, rowMasked, createF32Constant(nb, nl, 0.0f), exp);
                 linalg::YieldOp::create(nb, nl, p);
               })
        .getResult(0);
  }

  /// o[b,h,i,c] = sum_j p[b,h,i,j] * v[b,h/G,j,c], in f32.
  static Value buildWeightedValues(OpBuilder &b, Location loc, Value probs,
                                   Value v, ArrayRef<OpFoldResult> outSizes,
                                   int64_t numQHeads, int64_t numKVHeads,
                                   Value groupSize) {
    MLIRContext *ctx = b.getContext();
    AffineExpr bDim, hDim, iDim, jDim, cDim;
    bindDims(ctx, bDim, hDim, iDim, jDim, cDim);
    AffineMap pMap = AffineMap::get(5, 0, {bDim, hDim, iDim, jDim}, ctx);
    AffineMap outMap = AffineMap::get(5, 0, {bDim, hDim, iDim, cDim}, ctx);
    Value init = createFilledF32Tensor(b, loc, outSizes, 0.0f);
    return buildHeadContraction(b, loc, probs, pMap, v, outMap, init,
                                /*reductionDim=*/3, numQHeads, numKVHeads,
                                groupSize);
  }

  /// out[b,h,i,c] = o / l, 0 when l = 0 (no visible key), truncated to the
  /// element type of `out`.
  static Value buildNormalizedOutput(OpBuilder &b, Location loc,
                                     Value unnormalized, Value rowSum,
                                     ArrayRef<OpFoldResult> outSizes,
                                     Type outType) {
    MLIRContext *ctx = b.getContext();
    Type elementType = cast<RankedTensorType>(outType).getElementType();
    Value init = tensor::EmptyOp::create(b, loc, outSizes, elementType);
    AffineMap identity = AffineMap::getMultiDimIdentityMap(4, ctx);
    SmallVector<AffineMap> maps = {identity, getLeadingDimsMap(ctx, 4, 3),
                                   identity};
    SmallVector<utils::IteratorType> iterators(4,
                                               utils::IteratorType::parallel);
    Value out =
        linalg::GenericOp::create(
            b, loc, init.getType(), ValueRange{unnormalized, rowSum}, init,
            maps, iterators,
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              Value o = args[0], l = args[1];
              Value zero = createF32Constant(nb, nl, 0.0f);
              Value empty = arith::CmpFOp::create(
                  nb, nl, arith::CmpFPredicate::OEQ, l, zero);
              Value result = arith::SelectOp::create(
                  nb, nl, empty, zero, arith::DivFOp::create(nb, nl, o, l));
              if (!elementType.isF32())
                result = arith::TruncFOp::create(nb, nl, elementType, result);
              linalg::YieldOp::create(nb, nl, result);
            })
            .getResult(0);
    return castIfNeeded(b, loc, out, outType);
  }

  /// lse[b,h,i] = m + log(l), -inf when l = 0 (no visible key).
  static Value buildLogSumExp(OpBuilder &b, Location loc, Value rowMax,
                              Value rowSum, ArrayRef<OpFoldResult> rowSizes) {
    MLIRContext *ctx = b.getContext();
    Value init = tensor::EmptyOp::create(b, loc, rowSizes, b.getF32Type());
    AffineMap identity = AffineMap::getMultiDimIdentityMap(3, ctx);
    SmallVector<AffineMap> maps(3, identity);
    SmallVector<utils::IteratorType> iterators(3,
                                               utils::IteratorType::parallel);
    return linalg::GenericOp::create(
               b, loc, init.getType(), ValueRange{rowMax, rowSum}, init, maps,
               iterators,
               [](OpBuilder &nb, Location nl, ValueRange args) {
                 Value m = args[0], l = args[1];
                 Value empty =
                     arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, l,
                                           createF32Constant(nb, nl, 0.0f));
                 Value lse = arith::AddFOp::create(
                     nb, nl, m, math::LogOp::create(nb, nl, l));
                 Value result = arith::SelectOp::create(
                     nb, nl, empty, createF32Constant(nb, nl, kNegInf), lse);
                 linalg::YieldOp::create(nb, nl, result);
               })
        .getResult(0);
  }
};

//===----------------------------------------------------------------------===//
// tessera.latent_attention
//===----------------------------------------------------------------------===//

/// Rewrites latent attention into attention over one KV head:
///   k = kv viewed as [B, 1, Skv, L+R]   (tensor.expand_shape)
///   v = k[:, :, :, :L]                  (tensor.extract_slice)
/// q keeps its H heads, so every head reads KV head h floordiv H = 0.
struct LatentAttentionToAttention : public OpRewritePattern<LatentAttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LatentAttentionOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.setInsertionPoint(op);
    rewriter.replaceOp(op, createAttentionFromLatent(rewriter, op).getOut());
    return success();
  }
};

} // namespace

void mlir::tessera::populateTesseraAttentionToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<AttentionOpLowering, LatentAttentionToAttention>(
      patterns.getContext());
}
