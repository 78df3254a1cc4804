//===- FuseRoute.cpp - One pass over the logits per token -----------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Rewrites `tessera.route` into one fused pass per token (scf.forall over
// tokens), with no [T, E] intermediate and no sort:
//
//   m = max_e l[e], z = Σ_e exp(l[e] - m)              softmax only
//   s(e) = exp(l[e] - m) / z  or  1 / (1 + exp(-l[e]))
//   sel(e) = s(e) + bias[e]
//   group-limited: score[g] = sum of the two largest sel(e) of group g; a
//     group is kept when fewer than topk_group groups beat it (greater
//     score, or equal and lower index); sel(e) = -inf outside kept groups
//   top-k: the experts in index order are inserted into k slots (value, id)
//     kept in descending order; a candidate displaces a slot only if the
//     slot is empty or it is strictly greater, so ties keep the lower index
//   "best", "beat" and "greater" are the reference's order, in which NaN
//   ranks below every number (createRouteOrder)
//   weights = s(ids), normalized, scaled
//
// Every value is computed with the same f32 operations, in the same order,
// as the reference lowering, so the ids are identical and the weights equal.
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
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>

namespace mlir {
namespace tessera {
#define GEN_PASS_DEF_TESSERAFUSEROUTE
#include "tessera/Transforms/Passes.h.inc"
} // namespace tessera
} // namespace mlir

#define DEBUG_TYPE "tessera-fuse-route"

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// A counted scf.for over [0, upper) carrying `inits`.
ValueRange buildLoop(
    OpBuilder &b, Location loc, Value lower, Value upper, ValueRange inits,
    function_ref<SmallVector<Value>(OpBuilder &, Location, Value, ValueRange)>
        body) {
  return scf::ForOp::create(
             b, loc, lower, upper, createIndexConstant(b, loc, 1), inits,
             [&](OpBuilder &nb, Location l, Value iv, ValueRange args) {
               scf::YieldOp::create(nb, l, body(nb, l, iv, args));
             })
      .getResults();
}

struct FuseRoute : public OpRewritePattern<RouteOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RouteOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value logits = op.getLogits();
    auto weightsType = cast<RankedTensorType>(op.getWeights().getType());
    auto idsType = cast<RankedTensorType>(op.getIds().getType());
    int64_t topK = op.getTopK();
    OpFoldResult numTokens = tensor::getMixedSize(rewriter, loc, logits, 0);
    OpFoldResult numExperts = tensor::getMixedSize(rewriter, loc, logits, 1);
    SmallVector<OpFoldResult> outSizes = {numTokens,
                                          rewriter.getIndexAttr(topK)};
    SmallVector<Value> inits = {
        tensor::EmptyOp::create(rewriter, loc, outSizes, rewriter.getF32Type()),
        tensor::EmptyOp::create(rewriter, loc, outSizes,
                                rewriter.getI32Type())};

    auto forall = scf::ForallOp::create(rewriter, loc,
                                        SmallVector<OpFoldResult>{numTokens},
                                        inits, /*mapping=*/std::nullopt);
    {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(forall.getBody());
      Value token = forall.getInductionVars()[0];
      Token t{op, token,
              getValueOrCreateConstantIndexOp(rewriter, loc, numExperts)};
      // The token's rows of the results, rank-reduced to [k]: the slots
      // live there (values in the weights row, ids in the ids row), so
      // nothing is allocated per token.
      SmallVector<Value> outRows;
      for (Value out : forall.getRegionOutArgs()) {
        auto outType = cast<RankedTensorType>(out.getType());
        auto rowType = RankedTensorType::get({topK}, outType.getElementType());
        OpFoldResult one = rewriter.getIndexAttr(1);
        outRows.push_back(tensor::ExtractSliceOp::create(
            rewriter, loc, rowType, out,
            SmallVector<OpFoldResult>{token, rewriter.getIndexAttr(0)},
            SmallVector<OpFoldResult>{one, rewriter.getIndexAttr(topK)},
            SmallVector<OpFoldResult>{one, one}));
      }
      auto [weights, ids] =
          buildToken(rewriter, loc, t, outRows[0], outRows[1]);

      rewriter.setInsertionPointToStart(forall.getTerminator().getBody());
      OpFoldResult one = rewriter.getIndexAttr(1);
      SmallVector<Value> rows = {weights, ids};
      for (auto [row, out] : llvm::zip_equal(rows, forall.getRegionOutArgs()))
        tensor::ParallelInsertSliceOp::create(
            rewriter, loc, row, out,
            SmallVector<OpFoldResult>{token, rewriter.getIndexAttr(0)},
            SmallVector<OpFoldResult>{one, rewriter.getIndexAttr(topK)},
            SmallVector<OpFoldResult>{one, one});
    }

    SmallVector<Value> results;
    for (auto [result, type] :
         llvm::zip_equal(forall.getResults(), TypeRange{weightsType, idsType}))
      results.push_back(
          result.getType() == type
              ? Value(result)
              : Value(tensor::CastOp::create(rewriter, loc, type, result)));
    rewriter.replaceOp(op, results);
    return success();
  }

private:
  struct Token {
    RouteOp op;
    Value index;
    Value numExperts;
    // Softmax: the row maximum and the sum of exponentials.
    Value max = {}, sum = {};
  };

  static Value f32Constant(OpBuilder &b, Location loc, float value) {
    return createF32Constant(b, loc, value);
  }

  static Value loadLogit(OpBuilder &b, Location loc, const Token &t,
                         Value expert) {
    Value raw = tensor::ExtractOp::create(b, loc, RouteOp(t.op).getLogits(),
                                          ValueRange{t.index, expert});
    return extendToF32(b, loc, raw);
  }

  /// s(e), as the reference computes it.
  static Value buildScore(OpBuilder &b, Location loc, const Token &t,
                          Value expert) {
    Value x = loadLogit(b, loc, t, expert);
    if (RouteOp(t.op).getScoring() == Scoring::sigmoid) {
      Value one = f32Constant(b, loc, 1.0f);
      Value negExp =
          math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
      return arith::DivFOp::create(b, loc, one,
                                   arith::AddFOp::create(b, loc, one, negExp));
    }
    Value e =
        math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, x, t.max));
    return arith::DivFOp::create(b, loc, e, t.sum);
  }

  /// sel(e) = s(e) + bias[e] (before group masking).
  static Value buildSelection(OpBuilder &b, Location loc, const Token &t,
                              Value expert) {
    Value s = buildScore(b, loc, t, expert);
    if (Value bias = RouteOp(t.op).getBias())
      s = arith::AddFOp::create(
          b, loc, s,
          extendToF32(b, loc, tensor::ExtractOp::create(b, loc, bias, expert)));
    return s;
  }

  /// The per-group mask: an i1 tensor [n_group], true for kept groups.
  static Value buildKeptGroups(OpBuilder &b, Location loc, const Token &t,
                               int64_t numGroups, int64_t numKept) {
    Type f32 = b.getF32Type();
    Value c0 = createIndexConstant(b, loc, 0),
          c1 = createIndexConstant(b, loc, 1);
    Value groupSize = arith::DivUIOp::create(
        b, loc, t.numExperts, createIndexConstant(b, loc, numGroups));
    Value nan = f32Constant(b, loc, std::numeric_limits<float>::quiet_NaN());
    Value scores =
        tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{numGroups}, f32);
    scores = buildLoop(
        b, loc, c0, createIndexConstant(b, loc, numGroups), scores,
        [&](OpBuilder &nb, Location l, Value g, ValueRange args) {
          // The two best sel of the group in the reference's order, NaN
          // below every number: the slots start at NaN, the lowest, so a
          // NaN of a group with fewer than two numbers is one of its two,
          // as in the reference (the second stays NaN for a group of one
          // expert, which then scores its only one).
          Value begin = arith::MulIOp::create(nb, l, g, groupSize);
          Value end = arith::AddIOp::create(nb, l, begin, groupSize);
          ValueRange best = buildLoop(
              nb, l, begin, end, ValueRange{nan, nan},
              [&](OpBuilder &ib, Location il, Value e, ValueRange top) {
                Value v = buildSelection(ib, il, t, e);
                Value first = createRouteGreater(ib, il, v, top[0]);
                Value second = createRouteGreater(ib, il, v, top[1]);
                Value newFirst =
                    arith::SelectOp::create(ib, il, first, v, top[0]);
                Value newSecond = arith::SelectOp::create(
                    ib, il, first, top[0],
                    arith::SelectOp::create(ib, il, second, v, top[1]));
                return SmallVector<Value>{newFirst, newSecond};
              });
          Value one = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                            groupSize, c1);
          Value score = arith::SelectOp::create(
              nb, l, one, best[0],
              arith::AddFOp::create(nb, l, best[0], best[1]));
          return SmallVector<Value>{
              tensor::InsertOp::create(nb, l, score, args[0], g)};
        })[0];

    Type i1 = b.getI1Type();
    Value kept =
        tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{numGroups}, i1);
    Value numGroupsValue = createIndexConstant(b, loc, numGroups);
    return buildLoop(
        b, loc, c0, numGroupsValue, kept,
        [&](OpBuilder &nb, Location l, Value g, ValueRange args) {
          Value mine = tensor::ExtractOp::create(nb, l, scores, g);
          Value rank = buildLoop(
              nb, l, c0, numGroupsValue, createIndexConstant(nb, l, 0),
              [&](OpBuilder &ib, Location il, Value h, ValueRange count) {
                Value theirs = tensor::ExtractOp::create(ib, il, scores, h);
                Value wins = createRouteOrder(ib, il, theirs, h, mine, g);
                Value inc = arith::AddIOp::create(
                    ib, il, count[0], createIndexConstant(ib, il, 1));
                return SmallVector<Value>{
                    arith::SelectOp::create(ib, il, wins, inc, count[0])};
              })[0];
          Value isKept =
              arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, rank,
                                    createIndexConstant(nb, l, numKept));
          return SmallVector<Value>{
              tensor::InsertOp::create(nb, l, isKept, args[0], g)};
        })[0];
  }

  /// The weights [1, k] f32 and ids [1, k] i32 of token `t`.
  static std::pair<Value, Value> buildToken(OpBuilder &b, Location loc,
                                            Token &t, Value weightsRow,
                                            Value idsRow) {
    RouteOp op = t.op;
    Type i32 = b.getI32Type();
    int64_t topK = op.getTopK();
    Value c0 = createIndexConstant(b, loc, 0);
    Value negInf = f32Constant(b, loc, -std::numeric_limits<float>::infinity());

    if (op.getScoring() != Scoring::sigmoid) {
      t.max =
          buildLoop(b, loc, c0, t.numExperts, negInf,
                    [&](OpBuilder &nb, Location l, Value e, ValueRange args) {
                      return SmallVector<Value>{arith::MaximumFOp::create(
                          nb, l, args[0], loadLogit(nb, l, t, e))};
                    })[0];
      t.sum =
          buildLoop(b, loc, c0, t.numExperts, f32Constant(b, loc, 0.0f),
                    [&](OpBuilder &nb, Location l, Value e, ValueRange args) {
                      Value shifted = arith::SubFOp::create(
                          nb, l, loadLogit(nb, l, t, e), t.max);
                      return SmallVector<Value>{arith::AddFOp::create(
                          nb, l, args[0], math::ExpOp::create(nb, l, shifted))};
                    })[0];
    }

    int64_t numGroups = op.getNGroup(), numKept = op.getNumKeptGroups();
    Value kept, groupSize;
    if (numGroups > 1 && numKept < numGroups) {
      kept = buildKeptGroups(b, loc, t, numGroups, numKept);
      groupSize = arith::DivUIOp::create(
          b, loc, t.numExperts, createIndexConstant(b, loc, numGroups));
    }

    // The k slots, best first; id -1 marks an empty slot.
    Value values =
        linalg::FillOp::create(b, loc, negInf, weightsRow).getResult(0);
    Value ids =
        linalg::FillOp::create(
            b, loc,
            Value(arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(-1))),
            idsRow)
            .getResult(0);
    Value kValue = createIndexConstant(b, loc, topK);
    ValueRange slots = buildLoop(
        b, loc, c0, t.numExperts, ValueRange{values, ids},
        [&](OpBuilder &nb, Location l, Value e, ValueRange args) {
          Value v = buildSelection(nb, l, t, e);
          if (kept) {
            Value g = arith::DivUIOp::create(nb, l, e, groupSize);
            v = arith::SelectOp::create(
                nb, l, tensor::ExtractOp::create(nb, l, kept, g), v, negInf);
          }
          Value id = arith::IndexCastOp::create(nb, l, i32, e);
          // Insertion: the candidate moves down the slots, swapping with
          // every slot it beats (an empty slot is beaten by anything).
          ValueRange result = buildLoop(
              nb, l, c0, kValue, ValueRange{v, id, args[0], args[1]},
              [&](OpBuilder &ib, Location il, Value j, ValueRange state) {
                Value cv = state[0], cid = state[1];
                Value sv = tensor::ExtractOp::create(ib, il, state[2], j);
                Value sid = tensor::ExtractOp::create(ib, il, state[3], j);
                Value empty = arith::CmpIOp::create(
                    ib, il, arith::CmpIPredicate::slt, sid,
                    arith::ConstantOp::create(ib, il, ib.getI32IntegerAttr(0)));
                Value wins = arith::OrIOp::create(
                    ib, il, empty, createRouteOrder(ib, il, cv, cid, sv, sid));
                auto pick = [&](Value a, Value bb) {
                  return arith::SelectOp::create(ib, il, wins, a, bb)
                      .getResult();
                };
                return SmallVector<Value>{
                    pick(sv, cv), pick(sid, cid),
                    tensor::InsertOp::create(ib, il, pick(cv, sv), state[2], j),
                    tensor::InsertOp::create(ib, il, pick(cid, sid), state[3],
                                             j)};
              });
          return SmallVector<Value>{result[2], result[3]};
        });
    Value chosen = slots[1];
    Value weights = slots[0];

    // weights = s(ids), normalized over the slots, then scaled.
    weights = buildLoop(
        b, loc, c0, kValue, weights,
        [&](OpBuilder &nb, Location l, Value j, ValueRange args) {
          Value id = tensor::ExtractOp::create(nb, l, chosen, j);
          Value e = arith::IndexCastOp::create(nb, l, nb.getIndexType(), id);
          return SmallVector<Value>{tensor::InsertOp::create(
              nb, l, buildScore(nb, l, t, e), args[0], j)};
        })[0];
    float scale = op.getScale().convertToFloat();
    if (op.getNormalize() || scale != 1.0f) {
      Value sum;
      if (op.getNormalize())
        sum =
            buildLoop(b, loc, c0, kValue, f32Constant(b, loc, 0.0f),
                      [&](OpBuilder &nb, Location l, Value j, ValueRange args) {
                        Value w = tensor::ExtractOp::create(nb, l, weights, j);
                        return SmallVector<Value>{
                            arith::AddFOp::create(nb, l, args[0], w)};
                      })[0];
      weights = buildLoop(
          b, loc, c0, kValue, weights,
          [&](OpBuilder &nb, Location l, Value j, ValueRange args) {
            Value w = tensor::ExtractOp::create(nb, l, args[0], j);
            if (sum)
              w = arith::DivFOp::create(nb, l, w, sum);
            if (scale != 1.0f)
              w = arith::MulFOp::create(nb, l, w, f32Constant(nb, l, scale));
            return SmallVector<Value>{
                tensor::InsertOp::create(nb, l, w, args[0], j)};
          })[0];
    }

    return {weights, chosen};
  }
};

} // namespace

void mlir::tessera::populateTesseraFuseRoutePatterns(
    RewritePatternSet &patterns) {
  patterns.add<FuseRoute>(patterns.getContext());
}

namespace {
struct TesseraFuseRoutePass
    : public tessera::impl::TesseraFuseRouteBase<TesseraFuseRoutePass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateTesseraFuseRoutePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
