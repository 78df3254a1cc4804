//===- FuseMoE.cpp - Fold dispatch and routing weights into expert GEMMs --===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Two rewrites around `tessera.grouped_matmul` in a decomposed MoE layer:
//
// - A grouped GEMM reading the `rows` of a `tessera.dispatch` reads the
//   dispatch's tokens `x` through a `gather` index instead:
//   `index[r] = perm[r] / k`, or -1 for padding rows (`perm[r] < 0`). This
//   is exact: the dispatch defines `rows[r] = x[perm[r] / k]` and zero rows
//   for padding, whatever the offsets are.
// - A grouped GEMM whose only user is a `tessera.combine` multiplies its
//   rows by their routing weight, `scale[r] = weights[perm[r] / k,
//   perm[r] % k]` (0 where `perm[r]` is outside [0, T*k): the combine
//   ignores those rows), and the combine becomes `prescaled`.
//
// The index and the scale are small linalg.generics over `perm` ([M] i32).
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/TesseraOps.h"
#include "tessera/Transforms/Passes.h"

#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace tessera {
#define GEN_PASS_DEF_TESSERAFUSEMOE
#include "tessera/Transforms/Passes.h.inc"
} // namespace tessera
} // namespace mlir

#define DEBUG_TYPE "tessera-fuse-moe"

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// `{k, T * k}` of a routing tensor `[T, k]` (ids or weights).
std::pair<Value, Value> getTopKAndNumPairs(OpBuilder &b, Location loc,
                                           Value routing) {
  Value numTokens = getValueOrCreateConstantIndexOp(
      b, loc, tensor::getMixedSize(b, loc, routing, 0));
  Value topK = getValueOrCreateConstantIndexOp(
      b, loc, tensor::getMixedSize(b, loc, routing, 1));
  return {topK, b.createOrFold<arith::MulIOp>(loc, numTokens, topK)};
}

/// A linalg.generic mapping `perm [M]` (i32) elementwise to a `[M]` tensor
/// of `resultType`; `fn(b, loc, pair, valid)` computes one element, with
/// `pair` the perm entry as an index and `valid` whether it lies in
/// [0, numPairs).
Value mapPermutation(
    OpBuilder &b, Location loc, Value perm, Value numPairs, Type resultType,
    function_ref<Value(OpBuilder &, Location, Value, Value)> fn) {
  MLIRContext *ctx = b.getContext();
  Value init = tensor::EmptyOp::create(
      b, loc, tensor::getMixedSizes(b, loc, perm), resultType);
  AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
  return linalg::GenericOp::create(
             b, loc, init.getType(), perm, init, {id, id},
             utils::IteratorType::parallel,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value pair = arith::IndexCastOp::create(nb, l, nb.getIndexType(),
                                                       args[0]);
               // Unsigned: the -1 of padding rows is out of range too.
               Value valid = arith::CmpIOp::create(
                   nb, l, arith::CmpIPredicate::ult, pair, numPairs);
               linalg::YieldOp::create(nb, l, fn(nb, l, pair, valid));
             })
      .getResult(0);
}

/// `grouped_matmul(dispatch.rows, ...)` -> `grouped_matmul(dispatch.x, ...
/// gather index)`.
struct GatherDispatchedRows : public OpRewritePattern<GroupedMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GroupedMatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getGather())
      return rewriter.notifyMatchFailure(op, "already gathers its rows");
    auto dispatch = op.getRows().getDefiningOp<DispatchOp>();
    if (!dispatch || op.getRows() != dispatch.getRows())
      return rewriter.notifyMatchFailure(op, "rows are not dispatched rows");

    Location loc = op.getLoc();
    Value topK, numPairs;
    std::tie(topK, numPairs) =
        getTopKAndNumPairs(rewriter, loc, dispatch.getIds());
    Type i32 = rewriter.getI32Type();
    Value index = mapPermutation(
        rewriter, loc, dispatch.getPerm(), numPairs, i32,
        [&](OpBuilder &b, Location l, Value pair, Value valid) -> Value {
          Value token = arith::IndexCastOp::create(
              b, l, i32, arith::DivUIOp::create(b, l, pair, topK));
          return arith::SelectOp::create(
              b, l, valid, token, arith::ConstantIntOp::create(b, l, i32, -1));
        });
    rewriter.replaceOpWithNewOp<GroupedMatmulOp>(
        op, op.getType(), dispatch.getX(), op.getWeights(), op.getOffsets(),
        index, op.getScale(), op.getEpilogue());
    return success();
  }
};

/// `combine(grouped_matmul(...), perm, w)` -> `combine(grouped_matmul(...
/// scale w[perm]), perm, w) {prescaled}`.
struct ScaleRowsByRoutingWeight : public OpRewritePattern<CombineOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CombineOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getPrescaled())
      return rewriter.notifyMatchFailure(op, "already prescaled");
    auto producer = op.getY().getDefiningOp<GroupedMatmulOp>();
    if (!producer || producer.getScale())
      return rewriter.notifyMatchFailure(op,
                                         "y is not an unscaled grouped_matmul");
    if (!producer->hasOneUse())
      return rewriter.notifyMatchFailure(
          op, "the grouped_matmul has users besides the combine");

    Location loc = op.getLoc();
    Value weights = op.getWeights();
    Value topK, numPairs;
    std::tie(topK, numPairs) = getTopKAndNumPairs(rewriter, loc, weights);
    // Built at the combine, where the weights and all of the producer's
    // operands are available; the producer has no other user. Rows the
    // combine ignores get 0.
    Value scale = mapPermutation(
        rewriter, loc, op.getPerm(), numPairs, rewriter.getF32Type(),
        [&](OpBuilder &b, Location l, Value pair, Value valid) -> Value {
          // Invalid pairs read pair 0 (weights are never empty when a pair
          // is valid; with T*k = 0 no pair is, and the read is skipped).
          Value zero = createIndexConstant(b, l, 0);
          Value safePair = arith::SelectOp::create(b, l, valid, pair, zero);
          Value token = arith::DivUIOp::create(b, l, safePair, topK);
          Value slot = arith::RemUIOp::create(b, l, safePair, topK);
          auto ifOp = scf::IfOp::create(
              b, l, valid,
              [&](OpBuilder &tb, Location tl) {
                scf::YieldOp::create(
                    tb, tl,
                    tensor::ExtractOp::create(tb, tl, weights,
                                              ValueRange{token, slot})
                        .getResult());
              },
              [&](OpBuilder &eb, Location el) {
                scf::YieldOp::create(eb, el, createF32Constant(eb, el, 0.0f));
              });
          return ifOp.getResult(0);
        });
    auto scaled = GroupedMatmulOp::create(
        rewriter, producer.getLoc(), producer.getType(), producer.getRows(),
        producer.getWeights(), producer.getOffsets(), producer.getGather(),
        scale, producer.getEpilogue());
    rewriter.replaceOp(producer, scaled.getResult());
    rewriter.modifyOpInPlace(op, [&] { op.setPrescaled(true); });
    return success();
  }
};

struct TesseraFuseMoEPass
    : public tessera::impl::TesseraFuseMoEBase<TesseraFuseMoEPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateTesseraFuseMoEPatterns(patterns, gatherRows, scaleRows);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::tessera::populateTesseraFuseMoEPatterns(RewritePatternSet &patterns,
                                                   bool gatherRows,
                                                   bool scaleRows) {
  if (gatherRows)
    patterns.add<GatherDispatchedRows>(patterns.getContext());
  if (scaleRows)
    patterns.add<ScaleRowsByRoutingWeight>(patterns.getContext());
}
