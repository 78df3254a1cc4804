//===- MoEToLinalg.cpp - Reference lowering of the MoE ops ----------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Lowers tessera.route, tessera.dispatch, tessera.grouped_matmul and
// tessera.combine to linalg, tensor, scf, arith and math on tensors. This is
// the reference lowering, the oracle the optimized paths are tested against:
// every step is chosen to be easy to check by reading, not to be fast.
//
// - route: scores (softmax or sigmoid) and selection scores `sel = s + bias`
//   are elementwise linalg.generics. Top-k never sorts: an expert's rank is
//   the number of experts that beat it ("a beats b" when sel[a] > sel[b],
//   NaN below every number, or sel[a] == sel[b] and a < b, a strict total
//   order whatever the scores hold), counted by an O(E^2)
//   reduction. Group-limited routing ranks experts inside their group (the
//   top two give the group score), ranks the groups the same way and sets
//   the experts of dropped groups to -inf before the final ranking. Slot r
//   then holds the expert of rank r, picked by a reduction over experts.
// - dispatch: per-expert counts and their padded exclusive prefix sum are
//   reductions; a sequential scf.for over the (token, slot) pairs scatters
//   each pair to its expert's cursor in `perm`; the rows are gathered from
//   `x` through `perm`.
// - grouped_matmul: an scf.for over experts multiplies each (clamped) row
//   segment by its expert's weights with linalg.matmul into an f32
//   accumulator; the SwiGLU epilogue and the truncation are generics.
// - combine: an scf.for inverts `perm`, then a reduction over slots gathers
//   and weights the expert rows of every token.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/TesseraOps.h"
#include "tessera/Transforms/Passes.h"

#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::tessera;

namespace {

using utils::IteratorType;
using BodyBuilder = function_ref<void(OpBuilder &, Location, ValueRange)>;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

constexpr IteratorType kParallel = IteratorType::parallel;
constexpr IteratorType kReduction = IteratorType::reduction;

/// The map from `numLoops` loops to the operand dimensions `dims`:
/// `loopMap(ctx, 3, {0, 2})` is `(d0, d1, d2) -> (d0, d2)`.
AffineMap loopMap(MLIRContext *ctx, unsigned numLoops,
                  ArrayRef<unsigned> dims) {
  return AffineMap::getMultiDimMapWithTargets(numLoops, dims, ctx);
}

/// A linalg.generic reading `inputs` and updating `inits`; returns its
/// results (one per init).
SmallVector<Value> buildGeneric(OpBuilder &b, Location loc, ValueRange inputs,
                                ValueRange inits, ArrayRef<AffineMap> maps,
                                ArrayRef<IteratorType> iterators,
                                BodyBuilder body) {
  auto generic = linalg::GenericOp::create(b, loc, inits.getTypes(), inputs,
                                           inits, maps, iterators, body);
  return SmallVector<Value>(generic.getResults());
}

/// Terminates a linalg.generic body with the single value `value`.
void yieldValue(OpBuilder &b, Location loc, Value value) {
  linalg::YieldOp::create(b, loc, value);
}

Value i32Constant(OpBuilder &b, Location loc, int32_t value) {
  return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(value));
}

Value floatConstant(OpBuilder &b, Location loc, Type type, double value) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
}

Value negInfF32(OpBuilder &b, Location loc) {
  auto f32 = b.getF32Type();
  return arith::ConstantOp::create(
      b, loc,
      b.getFloatAttr(f32, APFloat::getInf(f32.getFloatSemantics(),
                                          /*Negative=*/true)));
}

/// `lhs * rhs` of two sizes, folded when both are static.
OpFoldResult mulSizes(OpBuilder &b, Location loc, OpFoldResult lhs,
                      OpFoldResult rhs) {
  std::optional<int64_t> l = getConstantIntValue(lhs);
  std::optional<int64_t> r = getConstantIntValue(rhs);
  if (l && r)
    return b.getIndexAttr(*l * *r);
  return arith::MulIOp::create(b, loc,
                               getValueOrCreateConstantIndexOp(b, loc, lhs),
                               getValueOrCreateConstantIndexOp(b, loc, rhs))
      .getResult();
}

/// An uninitialized tensor of the given sizes.
Value buildEmpty(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                 Type elementType) {
  return tensor::EmptyOp::create(b, loc, sizes, elementType);
}

/// `tensor` with the (compatible) type `type`: a tensor.cast where the
/// lowering knows more or fewer static sizes than the op's result type.
Value castTo(OpBuilder &b, Location loc, Type type, Value tensor) {
  if (tensor.getType() == type)
    return tensor;
  return tensor::CastOp::create(b, loc, type, tensor);
}

/// The rank-2 tensor `source` elementwise mapped by `fn` into a new tensor of
/// `elementType`.
Value buildElementwise(OpBuilder &b, Location loc, Value source,
                       Type elementType,
                       function_ref<Value(OpBuilder &, Location, Value)> fn) {
  MLIRContext *ctx = b.getContext();
  Value init =
      buildEmpty(b, loc, tensor::getMixedSizes(b, loc, source), elementType);
  AffineMap id = loopMap(ctx, 2, {0, 1});
  return buildGeneric(b, loc, source, init, {id, id}, {kParallel, kParallel},
                      [&](OpBuilder &nb, Location nloc, ValueRange args) {
                        yieldValue(nb, nloc, fn(nb, nloc, args[0]));
                      })[0];
}

/// A tensor of f32 values truncated to `elementType` (no-op for f32).
Value truncateTensor(OpBuilder &b, Location loc, Value source,
                     Type elementType) {
  if (elementType == b.getF32Type())
    return source;
  return buildElementwise(b, loc, source, elementType,
                          [&](OpBuilder &nb, Location nloc, Value v) {
                            return truncateFromF32(nb, nloc, elementType, v);
                          });
}

//===----------------------------------------------------------------------===//
// tessera.route
//===----------------------------------------------------------------------===//

/// `s = softmax(logits)` along the expert dimension, in f32:
/// `exp(x - max) / sum(exp(x - max))`.
Value buildSoftmax(OpBuilder &b, Location loc, Value logits) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, logits);
  AffineMap tokenExpert = loopMap(ctx, 2, {0, 1}), token = loopMap(ctx, 2, {0});

  Value max = buildGeneric(
      b, loc, logits, createFilledTensor(b, loc, sizes[0], negInfF32(b, loc)),
      {tokenExpert, token}, {kParallel, kReduction},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value x = extendToF32(nb, nloc, args[0]);
        yieldValue(nb, nloc, arith::MaximumFOp::create(nb, nloc, args[1], x));
      })[0];

  Value exps = buildGeneric(
      b, loc, ValueRange{logits, max}, buildEmpty(b, loc, sizes, f32),
      {tokenExpert, token, tokenExpert}, {kParallel, kParallel},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value x = extendToF32(nb, nloc, args[0]);
        Value shifted = arith::SubFOp::create(nb, nloc, x, args[1]);
        yieldValue(nb, nloc, math::ExpOp::create(nb, nloc, shifted));
      })[0];

  Value sum = buildGeneric(
      b, loc, exps,
      createFilledTensor(b, loc, sizes[0], floatConstant(b, loc, f32, 0.0)),
      {tokenExpert, token}, {kParallel, kReduction},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        yieldValue(nb, nloc, arith::AddFOp::create(nb, nloc, args[1], args[0]));
      })[0];

  return buildGeneric(
      b, loc, ValueRange{exps, sum}, buildEmpty(b, loc, sizes, f32),
      {tokenExpert, token, tokenExpert}, {kParallel, kParallel},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        yieldValue(nb, nloc, arith::DivFOp::create(nb, nloc, args[0], args[1]));
      })[0];
}

/// `s = sigmoid(logits) = 1 / (1 + exp(-x))`, in f32.
Value buildSigmoid(OpBuilder &b, Location loc, Value logits) {
  return buildElementwise(
      b, loc, logits, b.getF32Type(),
      [&](OpBuilder &nb, Location nloc, Value v) -> Value {
        Value x = extendToF32(nb, nloc, v);
        Value one = floatConstant(nb, nloc, nb.getF32Type(), 1.0);
        Value negExp =
            math::ExpOp::create(nb, nloc, arith::NegFOp::create(nb, nloc, x));
        Value denom = arith::AddFOp::create(nb, nloc, one, negExp);
        return arith::DivFOp::create(nb, nloc, one, denom);
      });
}

/// `sel[t, e] = s[t, e] + bias[e]`.
Value buildBiasedScores(OpBuilder &b, Location loc, Value scores, Value bias) {
  MLIRContext *ctx = b.getContext();
  Value init =
      buildEmpty(b, loc, tensor::getMixedSizes(b, loc, scores), b.getF32Type());
  AffineMap tokenExpert = loopMap(ctx, 2, {0, 1});
  return buildGeneric(
      b, loc, ValueRange{scores, bias}, init,
      {tokenExpert, loopMap(ctx, 2, {1}), tokenExpert}, {kParallel, kParallel},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value biasValue = extendToF32(nb, nloc, args[1]);
        yieldValue(nb, nloc,
                   arith::AddFOp::create(nb, nloc, args[0], biasValue));
      })[0];
}

/// `rank[t, e]` = the number of entries e' of row t of `scores` that beat e:
/// `scores[t, e'] > scores[t, e]` (NaN below every number), or equal scores
/// and `e' < e` (createRouteOrder). This is a strict total order, so the
/// ranks of a row are a permutation of 0..E-1 and ties go to the lower
/// index. With `groupSize`, only entries of e's
/// group (`e' / groupSize == e / groupSize`) compete.
Value buildRanks(OpBuilder &b, Location loc, Value scores,
                 Value groupSize = nullptr) {
  MLIRContext *ctx = b.getContext();
  Value init = createFilledTensor(b, loc, tensor::getMixedSizes(b, loc, scores),
                                  i32Constant(b, loc, 0));
  // Loops (t, e, e'): the reduction runs over the competitors e'.
  return buildGeneric(
      b, loc, ValueRange{scores, scores}, init,
      {loopMap(ctx, 3, {0, 2}), loopMap(ctx, 3, {0, 1}),
       loopMap(ctx, 3, {0, 1})},
      {kParallel, kParallel, kReduction},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value other = args[0], self = args[1], count = args[2];
        Value e = linalg::IndexOp::create(nb, nloc, 1);
        Value otherIdx = linalg::IndexOp::create(nb, nloc, 2);
        Value beats = createRouteOrder(nb, nloc, other, otherIdx, self, e);
        if (groupSize) {
          Value sameGroup = arith::CmpIOp::create(
              nb, nloc, arith::CmpIPredicate::eq,
              arith::DivUIOp::create(nb, nloc, otherIdx, groupSize),
              arith::DivUIOp::create(nb, nloc, e, groupSize));
          beats = arith::AndIOp::create(nb, nloc, beats, sameGroup);
        }
        Value one = arith::ExtUIOp::create(nb, nloc, nb.getI32Type(), beats);
        yieldValue(nb, nloc, arith::AddIOp::create(nb, nloc, count, one));
      })[0];
}

/// Group-limited routing: `sel` with the experts outside the `numKept` best
/// of the `numGroups` contiguous groups set to -inf. A group's score is the
/// sum of its two best `sel` (within-group rank 0 or 1).
Value buildGroupLimitedScores(OpBuilder &b, Location loc, Value sel,
                              int64_t numGroups, int64_t numKept) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  OpFoldResult numTokens = tensor::getMixedSize(b, loc, sel, 0);
  OpFoldResult numExperts = tensor::getMixedSize(b, loc, sel, 1);
  Value groupSize = arith::DivUIOp::create(
      b, loc, getValueOrCreateConstantIndexOp(b, loc, numExperts),
      createIndexConstant(b, loc, numGroups));

  Value inGroupRank = buildRanks(b, loc, sel, groupSize);

  // groupScore[t, g] = Σ_e (e in g and inGroupRank[t, e] < 2) ? sel[t, e] : 0.
  // Loops (t, g, e).
  Value zero = floatConstant(b, loc, f32, 0.0);
  SmallVector<OpFoldResult> groupSizes = {numTokens, b.getIndexAttr(numGroups)};
  Value groupScores = buildGeneric(
      b, loc, ValueRange{sel, inGroupRank},
      createFilledTensor(b, loc, groupSizes, zero),
      {loopMap(ctx, 3, {0, 2}), loopMap(ctx, 3, {0, 2}),
       loopMap(ctx, 3, {0, 1})},
      {kParallel, kParallel, kReduction},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value g = linalg::IndexOp::create(nb, nloc, 1);
        Value e = linalg::IndexOp::create(nb, nloc, 2);
        Value inGroup = arith::CmpIOp::create(
            nb, nloc, arith::CmpIPredicate::eq,
            arith::DivUIOp::create(nb, nloc, e, groupSize), g);
        Value topTwo =
            arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::slt, args[1],
                                  i32Constant(nb, nloc, 2));
        Value counted = arith::AndIOp::create(nb, nloc, inGroup, topTwo);
        Value term = arith::SelectOp::create(nb, nloc, counted, args[0],
                                             floatConstant(nb, nloc, f32, 0.0));
        yieldValue(nb, nloc, arith::AddFOp::create(nb, nloc, args[2], term));
      })[0];

  Value groupRank = buildRanks(b, loc, groupScores);

  // masked[t, e] = sel[t, e] if e's group g has groupRank[t, g] < numKept,
  // else -inf. Loops (t, e, g); exactly one g is e's group.
  Value masked =
      createFilledTensor(b, loc, {numTokens, numExperts}, negInfF32(b, loc));
  return buildGeneric(
      b, loc, ValueRange{sel, groupRank}, masked,
      {loopMap(ctx, 3, {0, 1}), loopMap(ctx, 3, {0, 2}),
       loopMap(ctx, 3, {0, 1})},
      {kParallel, kParallel, kReduction},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value e = linalg::IndexOp::create(nb, nloc, 1);
        Value g = linalg::IndexOp::create(nb, nloc, 2);
        Value inGroup = arith::CmpIOp::create(
            nb, nloc, arith::CmpIPredicate::eq,
            arith::DivUIOp::create(nb, nloc, e, groupSize), g);
        Value kept = arith::CmpIOp::create(
            nb, nloc, arith::CmpIPredicate::slt, args[1],
            i32Constant(nb, nloc, static_cast<int32_t>(numKept)));
        Value selected = arith::AndIOp::create(nb, nloc, inGroup, kept);
        yieldValue(
            nb, nloc,
            arith::SelectOp::create(nb, nloc, selected, args[0], args[2]));
      })[0];
}

/// For r < topK: `ids[t, r]` = the expert e with `rank[t, e] == r` and
/// `weights[t, r] = scores[t, e]`. Ranks are unique, so exactly one expert
/// matches each slot.
std::pair<Value, Value> buildPickByRank(OpBuilder &b, Location loc, Value ranks,
                                        Value scores, int64_t topK) {
  MLIRContext *ctx = b.getContext();
  SmallVector<OpFoldResult> sizes = {tensor::getMixedSize(b, loc, ranks, 0),
                                     b.getIndexAttr(topK)};
  Value idsInit = createFilledTensor(b, loc, sizes, i32Constant(b, loc, 0));
  Value weightsInit = createFilledTensor(
      b, loc, sizes, floatConstant(b, loc, b.getF32Type(), 0.0));
  // Loops (t, r, e).
  SmallVector<Value> picked = buildGeneric(
      b, loc, ValueRange{ranks, scores}, ValueRange{idsInit, weightsInit},
      {loopMap(ctx, 3, {0, 2}), loopMap(ctx, 3, {0, 2}),
       loopMap(ctx, 3, {0, 1}), loopMap(ctx, 3, {0, 1})},
      {kParallel, kParallel, kReduction},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Type i32 = nb.getI32Type();
        Value r = arith::IndexCastOp::create(
            nb, nloc, i32, linalg::IndexOp::create(nb, nloc, 1));
        Value e = arith::IndexCastOp::create(
            nb, nloc, i32, linalg::IndexOp::create(nb, nloc, 2));
        Value match = arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::eq,
                                            args[0], r);
        Value id = arith::SelectOp::create(nb, nloc, match, e, args[2]);
        Value weight =
            arith::SelectOp::create(nb, nloc, match, args[1], args[3]);
        linalg::YieldOp::create(nb, nloc, ValueRange{id, weight});
      });
  return {picked[0], picked[1]};
}

/// `weights[t, r] / Σ_r' weights[t, r']`.
Value buildNormalized(OpBuilder &b, Location loc, Value weights) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, weights);
  AffineMap tokenSlot = loopMap(ctx, 2, {0, 1}), token = loopMap(ctx, 2, {0});
  Value sum = buildGeneric(
      b, loc, weights,
      createFilledTensor(b, loc, sizes[0], floatConstant(b, loc, f32, 0.0)),
      {tokenSlot, token}, {kParallel, kReduction},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        yieldValue(nb, nloc, arith::AddFOp::create(nb, nloc, args[1], args[0]));
      })[0];
  return buildGeneric(
      b, loc, ValueRange{weights, sum}, buildEmpty(b, loc, sizes, f32),
      {tokenSlot, token, tokenSlot}, {kParallel, kParallel},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        yieldValue(nb, nloc, arith::DivFOp::create(nb, nloc, args[0], args[1]));
      })[0];
}

struct RouteOpLowering : public OpRewritePattern<RouteOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RouteOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value logits = op.getLogits();

    // 1. Scores in f32.
    Value scores = op.getScoring() == Scoring::sigmoid
                       ? buildSigmoid(rewriter, loc, logits)
                       : buildSoftmax(rewriter, loc, logits);

    // 2. Selection scores: the bias affects selection only.
    Value sel = scores;
    if (Value bias = op.getBias())
      sel = buildBiasedScores(rewriter, loc, scores, bias);

    // 3. Group-limited routing (a no-op when every group is kept).
    int64_t numGroups = op.getNGroup(), numKept = op.getNumKeptGroups();
    if (numGroups > 1 && numKept < numGroups)
      sel = buildGroupLimitedScores(rewriter, loc, sel, numGroups, numKept);

    // 4. The top_k best, in descending order, with their unbiased scores.
    Value ranks = buildRanks(rewriter, loc, sel);
    auto [ids, weights] =
        buildPickByRank(rewriter, loc, ranks, scores, op.getTopK());

    // 5. Normalize, then scale.
    if (op.getNormalize())
      weights = buildNormalized(rewriter, loc, weights);
    float scale = op.getScale().convertToFloat();
    if (scale != 1.0f) {
      weights = buildElementwise(
          rewriter, loc, weights, rewriter.getF32Type(),
          [&](OpBuilder &nb, Location nloc, Value v) -> Value {
            Value factor = floatConstant(nb, nloc, nb.getF32Type(), scale);
            return arith::MulFOp::create(nb, nloc, v, factor);
          });
    }

    rewriter.replaceOp(
        op, {castTo(rewriter, loc, op.getWeights().getType(), weights),
             castTo(rewriter, loc, op.getIds().getType(), ids)});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// tessera.dispatch
//===----------------------------------------------------------------------===//

/// `counts[e]` = the number of (token, slot) pairs routed to expert e. Ids
/// outside [0, E) match no expert.
Value buildExpertCounts(OpBuilder &b, Location loc, Value ids,
                        int64_t numExperts) {
  MLIRContext *ctx = b.getContext();
  Value init = createFilledTensor(b, loc, {b.getIndexAttr(numExperts)},
                                  i32Constant(b, loc, 0));
  // Loops (t, slot, e).
  return buildGeneric(
      b, loc, ids, init, {loopMap(ctx, 3, {0, 1}), loopMap(ctx, 3, {2})},
      {kReduction, kReduction, kParallel},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value e = arith::IndexCastOp::create(
            nb, nloc, nb.getI32Type(), linalg::IndexOp::create(nb, nloc, 2));
        Value match = arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::eq,
                                            args[0], e);
        Value one = arith::ExtUIOp::create(nb, nloc, nb.getI32Type(), match);
        yieldValue(nb, nloc, arith::AddIOp::create(nb, nloc, args[1], one));
      })[0];
}

/// `offsets[i] = Σ_{e < i} roundUp(counts[e], block)` for i in [0, E]: the
/// exclusive prefix sum of the padded segment lengths.
Value buildSegmentOffsets(OpBuilder &b, Location loc, Value counts,
                          int64_t numExperts, int64_t block) {
  MLIRContext *ctx = b.getContext();
  Value init = createFilledTensor(b, loc, {b.getIndexAttr(numExperts + 1)},
                                  i32Constant(b, loc, 0));
  // Loops (i, e).
  return buildGeneric(
      b, loc, counts, init, {loopMap(ctx, 2, {1}), loopMap(ctx, 2, {0})},
      {kParallel, kReduction},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value i = linalg::IndexOp::create(nb, nloc, 0);
        Value e = linalg::IndexOp::create(nb, nloc, 1);
        Value length = args[0];
        if (block > 1) {
          Value blockValue = i32Constant(nb, nloc, static_cast<int32_t>(block));
          Value bumped = arith::AddIOp::create(
              nb, nloc, length,
              i32Constant(nb, nloc, static_cast<int32_t>(block - 1)));
          length = arith::MulIOp::create(
              nb, nloc, arith::DivUIOp::create(nb, nloc, bumped, blockValue),
              blockValue);
        }
        Value before =
            arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::ult, e, i);
        Value sum = arith::AddIOp::create(nb, nloc, args[1], length);
        yieldValue(nb, nloc,
                   arith::SelectOp::create(nb, nloc, before, sum, args[1]));
      })[0];
}

/// `perm [numRows]`: -1 everywhere except that pair p = t * k + slot with a
/// valid id e is stored at its expert's next free row. A sequential loop
/// over the pairs in ascending order keeps (token, slot) order inside each
/// segment; `cursor[e]` starts at `offsets[e]`.
Value buildPermutation(OpBuilder &b, Location loc, Value ids, Value offsets,
                       int64_t numExperts, OpFoldResult numRows) {
  Type i32 = b.getI32Type();
  Value permInit = createFilledTensor(b, loc, numRows, i32Constant(b, loc, -1));
  Value cursorInit = tensor::ExtractSliceOp::create(
      b, loc, offsets, {b.getIndexAttr(0)}, {b.getIndexAttr(numExperts)},
      {b.getIndexAttr(1)});
  OpFoldResult slots = tensor::getMixedSize(b, loc, ids, 1);
  Value numPairs = getValueOrCreateConstantIndexOp(
      b, loc, mulSizes(b, loc, tensor::getMixedSize(b, loc, ids, 0), slots));
  Value topK = getValueOrCreateConstantIndexOp(b, loc, slots);
  Value numExpertsI32 = i32Constant(b, loc, static_cast<int32_t>(numExperts));

  auto loop = scf::ForOp::create(
      b, loc, createIndexConstant(b, loc, 0), numPairs,
      createIndexConstant(b, loc, 1), ValueRange{permInit, cursorInit},
      [&](OpBuilder &nb, Location nloc, Value pair, ValueRange iterArgs) {
        Value perm = iterArgs[0], cursor = iterArgs[1];
        Value token = arith::DivUIOp::create(nb, nloc, pair, topK);
        Value slot = arith::RemUIOp::create(nb, nloc, pair, topK);
        Value expert =
            tensor::ExtractOp::create(nb, nloc, ids, ValueRange{token, slot});
        // Unsigned: negative ids are out of range too.
        Value valid = arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::ult,
                                            expert, numExpertsI32);
        auto ifOp = scf::IfOp::create(
            nb, nloc, valid,
            [&](OpBuilder &tb, Location tloc) {
              Value expertIdx = arith::IndexCastOp::create(
                  tb, tloc, tb.getIndexType(), expert);
              Value row =
                  tensor::ExtractOp::create(tb, tloc, cursor, expertIdx);
              Value rowIdx =
                  arith::IndexCastOp::create(tb, tloc, tb.getIndexType(), row);
              Value pairI32 = arith::IndexCastOp::create(tb, tloc, i32, pair);
              Value newPerm =
                  tensor::InsertOp::create(tb, tloc, pairI32, perm, rowIdx);
              Value next = arith::AddIOp::create(tb, tloc, row,
                                                 i32Constant(tb, tloc, 1));
              Value newCursor =
                  tensor::InsertOp::create(tb, tloc, next, cursor, expertIdx);
              scf::YieldOp::create(tb, tloc, ValueRange{newPerm, newCursor});
            },
            [&](OpBuilder &eb, Location eloc) {
              scf::YieldOp::create(eb, eloc, ValueRange{perm, cursor});
            });
        scf::YieldOp::create(nb, nloc, ifOp.getResults());
      });
  return loop.getResult(0);
}

/// `rows[r, c] = x[perm[r] / k, c]`, or zero where `perm[r] == -1`.
Value buildGatheredRows(OpBuilder &b, Location loc, Value x, Value perm,
                        Value topK, OpFoldResult numRows) {
  MLIRContext *ctx = b.getContext();
  Type elementType = cast<RankedTensorType>(x.getType()).getElementType();
  Value init = buildEmpty(b, loc, {numRows, tensor::getMixedSize(b, loc, x, 1)},
                          elementType);
  // Loops (r, c).
  return buildGeneric(
      b, loc, perm, init, {loopMap(ctx, 2, {0}), loopMap(ctx, 2, {0, 1})},
      {kParallel, kParallel},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value pair = args[0];
        // linalg.index must sit directly in the generic's body.
        Value col = linalg::IndexOp::create(nb, nloc, 1);
        Value held = arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::sge,
                                           pair, i32Constant(nb, nloc, 0));
        auto ifOp = scf::IfOp::create(
            nb, nloc, held,
            [&](OpBuilder &tb, Location tloc) {
              Value pairIdx =
                  arith::IndexCastOp::create(tb, tloc, tb.getIndexType(), pair);
              Value token = arith::DivUIOp::create(tb, tloc, pairIdx, topK);
              Value v = tensor::ExtractOp::create(tb, tloc, x,
                                                  ValueRange{token, col});
              scf::YieldOp::create(tb, tloc, v);
            },
            [&](OpBuilder &eb, Location eloc) {
              scf::YieldOp::create(eb, eloc,
                                   floatConstant(eb, eloc, elementType, 0.0));
            });
        yieldValue(nb, nloc, ifOp.getResult(0));
      })[0];
}

struct DispatchOpLowering : public OpRewritePattern<DispatchOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(DispatchOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getX(), ids = op.getIds();
    int64_t numExperts = op.getNumExperts(), block = op.getBlock();

    // The number of rows: the result's static size, or T*k + E*(block-1).
    OpFoldResult numRows;
    int64_t staticRows = op.getRows().getType().getDimSize(0);
    if (!ShapedType::isDynamic(staticRows)) {
      numRows = rewriter.getIndexAttr(staticRows);
    } else {
      OpFoldResult pairs =
          mulSizes(rewriter, loc, tensor::getMixedSize(rewriter, loc, ids, 0),
                   tensor::getMixedSize(rewriter, loc, ids, 1));
      numRows =
          arith::AddIOp::create(
              rewriter, loc,
              getValueOrCreateConstantIndexOp(rewriter, loc, pairs),
              createIndexConstant(rewriter, loc, numExperts * (block - 1)))
              .getResult();
    }

    Value counts = buildExpertCounts(rewriter, loc, ids, numExperts);
    Value offsets =
        buildSegmentOffsets(rewriter, loc, counts, numExperts, block);
    Value perm =
        buildPermutation(rewriter, loc, ids, offsets, numExperts, numRows);
    Value topK = getValueOrCreateConstantIndexOp(
        rewriter, loc, tensor::getMixedSize(rewriter, loc, ids, 1));
    Value rows = buildGatheredRows(rewriter, loc, x, perm, topK, numRows);

    rewriter.replaceOp(
        op, {castTo(rewriter, loc, op.getRows().getType(), rows),
             castTo(rewriter, loc, op.getOffsets().getType(), offsets),
             castTo(rewriter, loc, op.getPerm().getType(), perm)});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// tessera.grouped_matmul
//===----------------------------------------------------------------------===//

/// `acc [M, N]` f32: zero, except that the rows of expert e's segment hold
/// `rows[segment] · weights[e]` (accumulated in f32 by linalg.matmul).
Value buildSegmentProducts(OpBuilder &b, Location loc, Value rows,
                           Value weights, Value offsets) {
  Type f32 = b.getF32Type();
  auto weightsType = cast<RankedTensorType>(weights.getType());
  OpFoldResult m = tensor::getMixedSize(b, loc, rows, 0);
  OpFoldResult k = tensor::getMixedSize(b, loc, rows, 1);
  OpFoldResult n = tensor::getMixedSize(b, loc, weights, 2);
  Value zero = floatConstant(b, loc, f32, 0.0);
  Value accInit = createFilledTensor(b, loc, {m, n}, zero);
  Value numRows = getValueOrCreateConstantIndexOp(b, loc, m);
  Value numExperts = getValueOrCreateConstantIndexOp(
      b, loc, tensor::getMixedSize(b, loc, weights, 0));
  Value c0 = createIndexConstant(b, loc, 0),
        c1 = createIndexConstant(b, loc, 1);
  auto expertWeightsType = RankedTensorType::get(
      {weightsType.getDimSize(1), weightsType.getDimSize(2)},
      weightsType.getElementType());

  auto loop = scf::ForOp::create(
      b, loc, c0, numExperts, c1, ValueRange{accInit},
      [&](OpBuilder &nb, Location nloc, Value expert, ValueRange iterArgs) {
        auto [begin, length] =
            createExpertSegment(nb, nloc, offsets, expert, numRows);

        OpFoldResult zeroAttr = nb.getIndexAttr(0),
                     oneAttr = nb.getIndexAttr(1);
        Value segment = tensor::ExtractSliceOp::create(
            nb, nloc, rows, {begin, zeroAttr}, {length, k}, {oneAttr, oneAttr});
        Value expertWeights = tensor::ExtractSliceOp::create(
            nb, nloc, expertWeightsType, weights, {expert, zeroAttr, zeroAttr},
            {oneAttr, k, n}, {oneAttr, oneAttr, oneAttr});
        Value product =
            linalg::MatmulOp::create(
                nb, nloc, ValueRange{segment, expertWeights},
                ValueRange{createFilledTensor(nb, nloc, {length, n}, zero)})
                .getResult(0);
        Value acc = tensor::InsertSliceOp::create(
            nb, nloc, product, iterArgs[0], {begin, zeroAttr}, {length, n},
            {oneAttr, oneAttr});
        scf::YieldOp::create(nb, nloc, acc);
      });
  return loop.getResult(0);
}

/// `out [M, N/2] = silu(a[:, :N/2]) * a[:, N/2:]` with
/// `silu(x) = x / (1 + exp(-x))`, times `scale[r]` when a scale is given,
/// truncated to `elementType`.
Value buildSwiGLU(OpBuilder &b, Location loc, Value product, Value scale,
                  Type elementType) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  OpFoldResult m = tensor::getMixedSize(b, loc, product, 0);
  OpFoldResult n = tensor::getMixedSize(b, loc, product, 1);
  OpFoldResult half;
  if (std::optional<int64_t> staticN = getConstantIntValue(n))
    half = b.getIndexAttr(*staticN / 2);
  else
    half = arith::DivUIOp::create(b, loc,
                                  getValueOrCreateConstantIndexOp(b, loc, n),
                                  createIndexConstant(b, loc, 2))
               .getResult();
  OpFoldResult zeroAttr = b.getIndexAttr(0), oneAttr = b.getIndexAttr(1);
  Value gate = tensor::ExtractSliceOp::create(
      b, loc, product, {zeroAttr, zeroAttr}, {m, half}, {oneAttr, oneAttr});
  Value up = tensor::ExtractSliceOp::create(b, loc, product, {zeroAttr, half},
                                            {m, half}, {oneAttr, oneAttr});
  Value init = buildEmpty(b, loc, {m, half}, elementType);
  AffineMap id = loopMap(ctx, 2, {0, 1});
  SmallVector<Value> inputs = {gate, up};
  SmallVector<AffineMap> maps = {id, id};
  if (scale) {
    inputs.push_back(scale);
    maps.push_back(loopMap(ctx, 2, {0}));
  }
  maps.push_back(id);
  return buildGeneric(
      b, loc, inputs, init, maps, {kParallel, kParallel},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value g = args[0], u = args[1];
        Value one = floatConstant(nb, nloc, f32, 1.0);
        Value negExp =
            math::ExpOp::create(nb, nloc, arith::NegFOp::create(nb, nloc, g));
        Value silu = arith::DivFOp::create(
            nb, nloc, g, arith::AddFOp::create(nb, nloc, one, negExp));
        Value result = arith::MulFOp::create(nb, nloc, silu, u);
        if (scale)
          result = arith::MulFOp::create(nb, nloc, result, args[2]);
        yieldValue(nb, nloc, truncateFromF32(nb, nloc, elementType, result));
      })[0];
}

/// `product [M, N]` (f32) times `scale[r]` per row, truncated to
/// `elementType`.
Value buildScaledRows(OpBuilder &b, Location loc, Value product, Value scale,
                      Type elementType) {
  MLIRContext *ctx = b.getContext();
  Value init =
      buildEmpty(b, loc, tensor::getMixedSizes(b, loc, product), elementType);
  AffineMap id = loopMap(ctx, 2, {0, 1});
  return buildGeneric(
      b, loc, ValueRange{product, scale}, init, {id, loopMap(ctx, 2, {0}), id},
      {kParallel, kParallel},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value result = arith::MulFOp::create(nb, nloc, args[0], args[1]);
        yieldValue(nb, nloc, truncateFromF32(nb, nloc, elementType, result));
      })[0];
}

struct GroupedMatmulOpLowering : public OpRewritePattern<GroupedMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GroupedMatmulOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value product = buildSegmentProducts(
        rewriter, loc, createGroupedMatmulOperand(rewriter, loc, op),
        op.getWeights(), op.getOffsets());
    rewriter.replaceOp(op,
                       createGroupedMatmulResult(rewriter, loc, op, product));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// tessera.combine
//===----------------------------------------------------------------------===//

/// `inv [numPairs]`: the row holding each pair, -1 for pairs held by no row.
/// Rows whose `perm` is outside [0, numPairs) (the -1 padding) are skipped.
Value buildInversePermutation(OpBuilder &b, Location loc, Value perm,
                              OpFoldResult numPairs) {
  Type i32 = b.getI32Type();
  Value invInit = createFilledTensor(b, loc, numPairs, i32Constant(b, loc, -1));
  Value numPairsValue = getValueOrCreateConstantIndexOp(b, loc, numPairs);
  Value numRows = getValueOrCreateConstantIndexOp(
      b, loc, tensor::getMixedSize(b, loc, perm, 0));
  auto loop = scf::ForOp::create(
      b, loc, createIndexConstant(b, loc, 0), numRows,
      createIndexConstant(b, loc, 1), ValueRange{invInit},
      [&](OpBuilder &nb, Location nloc, Value row, ValueRange iterArgs) {
        Value inv = iterArgs[0];
        Value pair = arith::IndexCastOp::create(
            nb, nloc, nb.getIndexType(),
            tensor::ExtractOp::create(nb, nloc, perm, row));
        Value nonNegative =
            arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::sge, pair,
                                  createIndexConstant(nb, nloc, 0));
        Value inRange = arith::CmpIOp::create(
            nb, nloc, arith::CmpIPredicate::slt, pair, numPairsValue);
        Value valid = arith::AndIOp::create(nb, nloc, nonNegative, inRange);
        auto ifOp = scf::IfOp::create(
            nb, nloc, valid,
            [&](OpBuilder &tb, Location tloc) {
              Value rowI32 = arith::IndexCastOp::create(tb, tloc, i32, row);
              scf::YieldOp::create(
                  tb, tloc,
                  tensor::InsertOp::create(tb, tloc, rowI32, inv, pair)
                      .getResult());
            },
            [&](OpBuilder &eb, Location eloc) {
              scf::YieldOp::create(eb, eloc, inv);
            });
        scf::YieldOp::create(nb, nloc, ifOp.getResults());
      });
  return loop.getResult(0);
}

struct CombineOpLowering : public OpRewritePattern<CombineOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CombineOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpFoldResult numPairs = mulSizes(
        rewriter, loc, tensor::getMixedSize(rewriter, loc, op.getWeights(), 0),
        tensor::getMixedSize(rewriter, loc, op.getWeights(), 1));
    Value inv = buildInversePermutation(rewriter, loc, op.getPerm(), numPairs);
    rewriter.replaceOp(op, createCombineFromInverse(rewriter, loc, op, inv));
    return success();
  }
};

} // namespace

Value mlir::tessera::createCombineFromInverse(OpBuilder &b, Location loc,
                                              CombineOp op, Value inv) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  Value y = op.getY(), weights = op.getWeights();
  bool prescaled = op.getPrescaled();
  OpFoldResult numTokens = tensor::getMixedSize(b, loc, weights, 0);
  Value topK = getValueOrCreateConstantIndexOp(
      b, loc, tensor::getMixedSize(b, loc, weights, 1));

  // acc[t, c] = Σ_slot (row = inv[t*k + slot]) >= 0
  //                        ? weights[t, slot] * y[row, c] : 0.
  // Loops (t, c, slot).
  Value zero = floatConstant(b, loc, f32, 0.0);
  Value accInit = createFilledTensor(
      b, loc, {numTokens, tensor::getMixedSize(b, loc, y, 1)}, zero);
  Value acc = buildGeneric(
      b, loc, weights, accInit,
      {loopMap(ctx, 3, {0, 2}), loopMap(ctx, 3, {0, 1})},
      {kParallel, kParallel, kReduction},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value token = linalg::IndexOp::create(nb, nloc, 0);
        Value col = linalg::IndexOp::create(nb, nloc, 1);
        Value slot = linalg::IndexOp::create(nb, nloc, 2);
        Value pair = arith::AddIOp::create(
            nb, nloc, arith::MulIOp::create(nb, nloc, token, topK), slot);
        Value row = tensor::ExtractOp::create(nb, nloc, inv, pair);
        Value held = arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::sge,
                                           row, i32Constant(nb, nloc, 0));
        auto ifOp = scf::IfOp::create(
            nb, nloc, held,
            [&](OpBuilder &tb, Location tloc) {
              Value rowIdx =
                  arith::IndexCastOp::create(tb, tloc, tb.getIndexType(), row);
              Value v = extendToF32(tb, tloc,
                                    tensor::ExtractOp::create(
                                        tb, tloc, y, ValueRange{rowIdx, col}));
              if (!prescaled)
                v = arith::MulFOp::create(tb, tloc, args[0], v);
              scf::YieldOp::create(tb, tloc, v);
            },
            [&](OpBuilder &eb, Location eloc) {
              scf::YieldOp::create(eb, eloc, floatConstant(eb, eloc, f32, 0.0));
            });
        yieldValue(nb, nloc,
                   arith::AddFOp::create(nb, nloc, args[1], ifOp.getResult(0)));
      })[0];

  Type elementType = op.getOut().getType().getElementType();
  Value out = truncateTensor(b, loc, acc, elementType);
  return castTo(b, loc, op.getOut().getType(), out);
}

Value mlir::tessera::createSegmentOffsets(OpBuilder &b, Location loc,
                                          Value counts, int64_t numExperts,
                                          int64_t block) {
  return buildSegmentOffsets(b, loc, counts, numExperts, block);
}

Value mlir::tessera::createDispatchedRows(OpBuilder &b, Location loc, Value x,
                                          Value perm, Value topK,
                                          OpFoldResult numRows) {
  return buildGatheredRows(b, loc, x, perm, topK, numRows);
}

Value mlir::tessera::createGroupedMatmulResult(OpBuilder &b, Location loc,
                                               GroupedMatmulOp op,
                                               Value product) {
  Type elementType = op.getOut().getType().getElementType();
  Value scale = op.getScale();
  Value out;
  if (op.getEpilogue() == Epilogue::swiglu)
    out = buildSwiGLU(b, loc, product, scale, elementType);
  else if (scale)
    out = buildScaledRows(b, loc, product, scale, elementType);
  else
    out = truncateTensor(b, loc, product, elementType);
  return castTo(b, loc, op.getOut().getType(), out);
}

Value mlir::tessera::createRowGather(OpBuilder &b, Location loc, Value table,
                                     Value index, Type elementType) {
  MLIRContext *ctx = b.getContext();
  Value init = buildEmpty(b, loc,
                          {tensor::getMixedSize(b, loc, index, 0),
                           tensor::getMixedSize(b, loc, table, 1)},
                          elementType);
  Value numTableRows = getValueOrCreateConstantIndexOp(
      b, loc, tensor::getMixedSize(b, loc, table, 0));
  // Loops (r, c).
  return buildGeneric(
      b, loc, index, init, {loopMap(ctx, 2, {0}), loopMap(ctx, 2, {0, 1})},
      {kParallel, kParallel},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value col = linalg::IndexOp::create(nb, nloc, 1);
        Value row =
            arith::IndexCastOp::create(nb, nloc, nb.getIndexType(), args[0]);
        // Unsigned: negative indices are out of range too.
        Value valid = arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::ult,
                                            row, numTableRows);
        auto ifOp = scf::IfOp::create(
            nb, nloc, valid,
            [&](OpBuilder &tb, Location tloc) {
              Value v = tensor::ExtractOp::create(tb, tloc, table,
                                                  ValueRange{row, col});
              if (v.getType() != elementType)
                v = extendToF32(tb, tloc, v);
              scf::YieldOp::create(tb, tloc, v);
            },
            [&](OpBuilder &eb, Location eloc) {
              scf::YieldOp::create(eb, eloc,
                                   floatConstant(eb, eloc, elementType, 0.0));
            });
        yieldValue(nb, nloc, ifOp.getResult(0));
      })[0];
}

Value mlir::tessera::createGroupedMatmulOperand(OpBuilder &b, Location loc,
                                                GroupedMatmulOp op) {
  Value rows = op.getRows(), index = op.getGather();
  if (!index)
    return rows;
  return createRowGather(b, loc, rows, index,
                         getElementTypeOrSelf(rows.getType()));
}

void mlir::tessera::populateTesseraMoEToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<RouteOpLowering, DispatchOpLowering, GroupedMatmulOpLowering,
               CombineOpLowering>(patterns.getContext());
}
