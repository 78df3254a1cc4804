//===- GatherGroupedMatmul.cpp - Grouped GEMM as one gathering contraction ===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Rewrites `tessera.grouped_matmul` into two parallel linalg.generic ops with
// static iteration spaces, the form that maps onto one GPU thread per output
// element (instead of the reference's loop over experts, whose segments
// have data-dependent sizes):
//
//   expert[r]  = the last e with clamp(offsets[e]) <= r < clamp(offsets[e+1]),
//                -1 for rows in no segment            loops (r, e)
//   acc[r, n]  = Σ_k x[r, k] * w[expert[r], k, n]      loops (r, n, k)
//                (0 where expert[r] = -1)
//
// followed by the reference epilogue (SwiGLU or rounding). The products are
// the reference's f32 products in the same order, so the results are equal.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/TesseraOps.h"
#include "tessera/Transforms/Passes.h"

#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace tessera {
#define GEN_PASS_DEF_TESSERAGATHERGROUPEDMATMUL
#include "tessera/Transforms/Passes.h.inc"
} // namespace tessera
} // namespace mlir

#define DEBUG_TYPE "tessera-gather-grouped-matmul"

using namespace mlir;
using namespace mlir::tessera;

namespace {

struct GatherGroupedMatmul : public OpRewritePattern<GroupedMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GroupedMatmulOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    // With a gather index, its rows are gathered first (one parallel copy).
    Value rows = createGroupedMatmulOperand(rewriter, loc, op),
          weights = op.getWeights(), offsets = op.getOffsets();
    Type i32 = rewriter.getI32Type();
    OpFoldResult m = tensor::getMixedSize(rewriter, loc, rows, 0);
    OpFoldResult k = tensor::getMixedSize(rewriter, loc, rows, 1);
    OpFoldResult e = tensor::getMixedSize(rewriter, loc, weights, 0);
    OpFoldResult n = tensor::getMixedSize(rewriter, loc, weights, 2);
    Value numRows = getValueOrCreateConstantIndexOp(rewriter, loc, m);
    auto parallel = utils::IteratorType::parallel;
    auto reduction = utils::IteratorType::reduction;

    // expert[r], loops (r, e): later experts overwrite earlier ones, as the
    // reference's in-order insertion of segments does.
    Value expertInit = createFilledTensor(
        rewriter, loc, {m},
        arith::ConstantIntOp::create(rewriter, loc, i32, -1));
    Value scratch = tensor::EmptyOp::create(rewriter, loc, ArrayRef{e}, i32);
    auto expertOp = linalg::GenericOp::create(
        rewriter, loc, expertInit.getType(), ValueRange{scratch},
        ValueRange{expertInit},
        ArrayRef<AffineMap>{
            AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx),
            AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx)},
        ArrayRef{parallel, reduction},
        [&](OpBuilder &b, Location nloc, ValueRange args) {
          Value row = linalg::IndexOp::create(b, nloc, 0);
          Value expert = linalg::IndexOp::create(b, nloc, 1);
          auto [begin, length] =
              createExpertSegment(b, nloc, offsets, expert, numRows);
          Value end = arith::AddIOp::create(b, nloc, begin, length);
          Value inside = arith::AndIOp::create(
              b, nloc,
              arith::CmpIOp::create(b, nloc, arith::CmpIPredicate::sge, row,
                                    begin),
              arith::CmpIOp::create(b, nloc, arith::CmpIPredicate::slt, row,
                                    end));
          Value id = arith::IndexCastOp::create(b, nloc, i32, expert);
          linalg::YieldOp::create(
              b, nloc,
              arith::SelectOp::create(b, nloc, inside, id, args[1])
                  .getResult());
        });
    Value expertOfRow = expertOp.getResult(0);

    // acc[r, n], loops (r, n, k).
    Value zero = createF32Constant(rewriter, loc, 0.0f);
    Value accInit = createFilledTensor(rewriter, loc, {m, n}, zero);
    auto map = [&](ArrayRef<unsigned> dims) {
      SmallVector<AffineExpr> exprs;
      for (unsigned d : dims)
        exprs.push_back(getAffineDimExpr(d, ctx));
      return AffineMap::get(3, 0, exprs, ctx);
    };
    (void)k;
    auto productOp = linalg::GenericOp::create(
        rewriter, loc, accInit.getType(), ValueRange{rows}, ValueRange{accInit},
        ArrayRef<AffineMap>{map({0, 2}), map({0, 1})},
        ArrayRef{parallel, parallel, reduction},
        [&](OpBuilder &b, Location nloc, ValueRange args) {
          Value row = linalg::IndexOp::create(b, nloc, 0);
          Value col = linalg::IndexOp::create(b, nloc, 1);
          Value red = linalg::IndexOp::create(b, nloc, 2);
          Value expert = tensor::ExtractOp::create(b, nloc, expertOfRow, row);
          Value held = arith::CmpIOp::create(
              b, nloc, arith::CmpIPredicate::sge, expert,
              arith::ConstantIntOp::create(b, nloc, i32, 0));
          // Rows in no segment read expert 0 and discard the product.
          Value index = arith::IndexCastOp::create(
              b, nloc, b.getIndexType(),
              arith::MaxSIOp::create(
                  b, nloc, expert,
                  arith::ConstantIntOp::create(b, nloc, i32, 0)));
          Value w =
              extendToF32(b, nloc,
                          tensor::ExtractOp::create(
                              b, nloc, weights, ValueRange{index, red, col}));
          Value x = extendToF32(b, nloc, args[0]);
          Value sum = arith::AddFOp::create(
              b, nloc, args[1], arith::MulFOp::create(b, nloc, x, w));
          linalg::YieldOp::create(
              b, nloc,
              arith::SelectOp::create(b, nloc, held, sum, args[1]).getResult());
        });
    rewriter.replaceOp(op, createGroupedMatmulResult(rewriter, loc, op,
                                                     productOp.getResult(0)));
    return success();
  }
};

struct TesseraGatherGroupedMatmulPass
    : public tessera::impl::TesseraGatherGroupedMatmulBase<
          TesseraGatherGroupedMatmulPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateTesseraGatherGroupedMatmulPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::tessera::populateTesseraGatherGroupedMatmulPatterns(
    RewritePatternSet &patterns) {
  patterns.add<GatherGroupedMatmul>(patterns.getContext());
}
