//===- DecomposeMoE.cpp - Split tessera.moe into its stages ---------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Rewrites `tessera.moe` into the router GEMM (linalg), tessera.route,
// tessera.dispatch, two tessera.grouped_matmul (up with the SwiGLU epilogue,
// down) and tessera.combine. Shared experts become the same two grouped
// matmuls over a single "expert" that owns every token, added to the result.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/ShapeLogic.h"
#include "tessera/Dialect/Tessera/IR/TesseraOps.h"
#include "tessera/Transforms/Passes.h"

#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace tessera {
#define GEN_PASS_DEF_TESSERADECOMPOSEMOE
#include "tessera/Transforms/Passes.h.inc"
} // namespace tessera
} // namespace mlir

#define DEBUG_TYPE "tessera-decompose-moe"

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// `x [T, d] · gate_wᵀ [d, E]` accumulated in f32. gate_w is transposed
/// first (E x d elements, small next to the product), so that the product is
/// a plain row-major GEMM whose register blocks read rows of gate_wᵀ
/// contiguously instead of gathering a column of gate_w per step.
Value buildRouterLogits(OpBuilder &b, Location loc, Value x, Value gateW) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  auto xType = cast<RankedTensorType>(x.getType());
  auto gateType = cast<RankedTensorType>(gateW.getType());
  SmallVector<OpFoldResult> sizes = {tensor::getMixedSize(b, loc, x, 0),
                                     tensor::getMixedSize(b, loc, gateW, 0)};
  Value acc = createFilledTensor(b, loc, sizes, createF32Constant(b, loc, 0));

  Value transposedInit = tensor::EmptyOp::create(
      b, loc,
      SmallVector<OpFoldResult>{tensor::getMixedSize(b, loc, gateW, 1),
                                tensor::getMixedSize(b, loc, gateW, 0)},
      gateType.getElementType());
  Value gateT = linalg::TransposeOp::create(b, loc, gateW, transposedInit,
                                            ArrayRef<int64_t>{1, 0})
                    .getResult()[0];

  AffineExpr t, e, c;
  bindDims(ctx, t, e, c);
  SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {t, c}, ctx),
                                 AffineMap::get(3, 0, {c, e}, ctx),
                                 AffineMap::get(3, 0, {t, e}, ctx)};
  SmallVector<utils::IteratorType> iterators = {utils::IteratorType::parallel,
                                                utils::IteratorType::parallel,
                                                utils::IteratorType::reduction};
  bool needsExt = xType.getElementType() != f32;
  if (!needsExt)
    return linalg::MatmulOp::create(b, loc, acc.getType(), ValueRange{x, gateT},
                                    ValueRange{acc})
        .getResult(0);
  auto generic = linalg::GenericOp::create(
      b, loc, acc.getType(), ValueRange{x, gateT}, ValueRange{acc}, maps,
      iterators, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value lhs = args[0], rhs = args[1];
        if (needsExt) {
          lhs = arith::ExtFOp::create(nb, nloc, f32, lhs);
          rhs = arith::ExtFOp::create(nb, nloc, f32, rhs);
        }
        Value prod = arith::MulFOp::create(nb, nloc, lhs, rhs);
        Value sum = arith::AddFOp::create(nb, nloc, args[2], prod);
        linalg::YieldOp::create(nb, nloc, sum);
      });
  return generic.getResult(0);
}

/// A rank-2 tensor type `[rows, cols]` of `elementType`.
RankedTensorType matrixType(int64_t rows, int64_t cols, Type elementType) {
  return RankedTensorType::get({rows, cols}, elementType);
}

/// The dense SwiGLU FFN `silu(x Wg) * (x Wu) · Wd` of the shared experts,
/// expressed as grouped matmuls over one expert segment covering all tokens.
Value buildSharedFFN(OpBuilder &b, Location loc, Value x, Value sharedUp,
                     Value sharedDown) {
  auto xType = cast<RankedTensorType>(x.getType());
  auto upType = cast<RankedTensorType>(sharedUp.getType());
  auto downType = cast<RankedTensorType>(sharedDown.getType());
  Type elementType = xType.getElementType();
  int64_t numTokens = xType.getDimSize(0);

  auto expandToOneExpert = [&](Value weights, RankedTensorType type) -> Value {
    auto expanded = RankedTensorType::get(
        {1, type.getDimSize(0), type.getDimSize(1)}, type.getElementType());
    SmallVector<OpFoldResult> outputShape = {
        b.getIndexAttr(1), tensor::getMixedSize(b, loc, weights, 0),
        tensor::getMixedSize(b, loc, weights, 1)};
    return tensor::ExpandShapeOp::create(
        b, loc, expanded, weights, ArrayRef<ReassociationIndices>{{0, 1}, {2}},
        outputShape);
  };

  // offsets = [0, T]: one segment holding every token row.
  Value tokens = arith::IndexCastOp::create(
      b, loc, b.getI32Type(), tensor::DimOp::create(b, loc, x, 0));
  Value zero = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
  Value offsets = tensor::FromElementsOp::create(
      b, loc, RankedTensorType::get({2}, b.getI32Type()),
      ValueRange{zero, tokens});

  int64_t hidden = ShapedType::isDynamic(upType.getDimSize(1))
                       ? ShapedType::kDynamic
                       : upType.getDimSize(1) / 2;
  Value up = GroupedMatmulOp::create(
      b, loc, matrixType(numTokens, hidden, elementType), x,
      expandToOneExpert(sharedUp, upType), offsets, Epilogue::swiglu);
  return GroupedMatmulOp::create(
      b, loc, matrixType(numTokens, downType.getDimSize(1), elementType), up,
      expandToOneExpert(sharedDown, downType), offsets, Epilogue::none);
}

struct DecomposeMoEPattern : public OpRewritePattern<MoEOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MoEOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto xType = cast<RankedTensorType>(op.getX().getType());
    auto downType = cast<RankedTensorType>(op.getWDown().getType());
    std::optional<int64_t> staticNumExperts = op.getStaticNumExperts();
    if (!staticNumExperts)
      return rewriter.notifyMatchFailure(
          op, "the number of experts E must be static to decompose");
    int64_t numExperts = *staticNumExperts;

    Type elementType = xType.getElementType();
    int64_t numTokens = xType.getDimSize(0);
    int64_t hidden = xType.getDimSize(1);
    int64_t topK = op.getTopK();
    Type f32 = rewriter.getF32Type(), i32 = rewriter.getI32Type();

    Value logits = buildRouterLogits(rewriter, loc, op.getX(), op.getGateW());
    auto route = RouteOp::create(
        rewriter, loc, matrixType(numTokens, topK, f32),
        matrixType(numTokens, topK, i32), logits, op.getBias(),
        op.getTopKAttr(), op.getScoringAttr(), op.getNGroupAttr(),
        op.getTopkGroupAttr(), op.getNormalizeAttr(), op.getScaleAttr());

    // The verifier rejects layers whose dispatch the i32 offsets cannot index.
    std::optional<int64_t> bound =
        dispatchRowBound(numTokens, topK, numExperts, op.getBlock());
    if (!bound)
      return rewriter.notifyMatchFailure(op, "too many dispatch rows");
    int64_t numRows = *bound;
    auto dispatch = DispatchOp::create(
        rewriter, loc, matrixType(numRows, hidden, elementType),
        RankedTensorType::get({numExperts + 1}, i32),
        RankedTensorType::get({numRows}, i32), op.getX(), route.getIds(),
        rewriter.getI64IntegerAttr(numExperts), op.getBlockAttr());

    Value up = GroupedMatmulOp::create(
        rewriter, loc, matrixType(numRows, downType.getDimSize(1), elementType),
        dispatch.getRows(), op.getWUp(), dispatch.getOffsets(),
        Epilogue::swiglu);
    Value down = GroupedMatmulOp::create(
        rewriter, loc, matrixType(numRows, hidden, elementType), up,
        op.getWDown(), dispatch.getOffsets(), Epilogue::none);
    Value result = CombineOp::create(rewriter, loc, op.getType(), down,
                                     dispatch.getPerm(), route.getWeights());

    if (op.getSharedUp()) {
      Value shared = buildSharedFFN(rewriter, loc, op.getX(), op.getSharedUp(),
                                    op.getSharedDown());
      SmallVector<OpFoldResult> sizes =
          tensor::getMixedSizes(rewriter, loc, result);
      Value init = tensor::EmptyOp::create(rewriter, loc, sizes, elementType);
      result = linalg::AddOp::create(rewriter, loc, ValueRange{result, shared},
                                     ValueRange{init})
                   .getResult(0);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct TesseraDecomposeMoEPass
    : public tessera::impl::TesseraDecomposeMoEBase<TesseraDecomposeMoEPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateTesseraDecomposeMoEPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // The only layers left are those the pattern cannot express.
    WalkResult result = getOperation()->walk([](MoEOp op) {
      emitNotDecomposableError(op);
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace

InFlightDiagnostic mlir::tessera::emitNotDecomposableError(MoEOp op) {
  return op.emitOpError("cannot be decomposed: the number of experts E must "
                        "be static in 'gate_w', 'w_up' or 'w_down'");
}

void mlir::tessera::populateTesseraDecomposeMoEPatterns(
    RewritePatternSet &patterns) {
  patterns.add<DecomposeMoEPattern>(patterns.getContext());
}
