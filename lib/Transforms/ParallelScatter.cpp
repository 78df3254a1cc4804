//===- ParallelScatter.cpp - Dispatch and combine as parallel steps -------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The reference lowering (MoEToLinalg.cpp) builds dispatch's `perm` and
// combine's inverse permutation with sequential scf.for loops. On a GPU such
// a loop is a kernel of one thread that walks all T * k pairs. This file
// rewrites both ops into steps whose iterations are independent:
//
// dispatch, with P = T * k pairs in (token, slot) order cut into N chunks
// of C pairs (`ids2 [N, C]`, the ids flattened and padded with -1):
//
//   count[c, e] = #{j : ids2[c, j] == e}                loops (c, e, j)
//   total[e]    = Σ_c count[c, e]                       loops (e, c)
//   offsets     = the reference's padded prefix sum of `total`
//   base[c, e]  = offsets[e] + Σ_{c' < c} count[c', e]  loops (c, e, c')
//   row[c, j]   = base[c, e] + #{j' < j : ids2[c, j'] == e}, e = ids2[c, j]
//                 (-1 for ids outside [0, E))           loops (c, j, j')
//   perm[row[c, j]] = c * C + j                         scf.parallel (c, j)
//
// The rows of valid pairs are distinct, so the final stores do not race,
// and a segment holds its pairs in (token, slot) order: exactly the
// reference's `perm`. The gathered rows are the reference's generic.
//
// combine: `inv[perm[r]] = r` for every row whose pair is in [0, P), as an
// scf.parallel of `memref.atomic_rmw maxs` into a buffer of -1: where rows
// name the same pair the largest row wins, which is the reference's "last
// write wins". The weighted sum over slots is the reference's generic.
//
// The buffers written by the parallel loops are allocated here and handed
// back to tensor land by `bufferization.to_tensor restrict writable`.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/TesseraOps.h"
#include "tessera/Transforms/Passes.h"

#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

namespace mlir {
namespace tessera {
#define GEN_PASS_DEF_TESSERAPARALLELSCATTER
#include "tessera/Transforms/Passes.h.inc"
} // namespace tessera
} // namespace mlir

#define DEBUG_TYPE "tessera-parallel-scatter"

using namespace mlir;
using namespace mlir::tessera;

namespace {

constexpr utils::IteratorType kParallel = utils::IteratorType::parallel;
constexpr utils::IteratorType kReduction = utils::IteratorType::reduction;

/// The map from `numLoops` loops to the operand dimensions `dims`.
AffineMap loopMap(MLIRContext *ctx, unsigned numLoops,
                  ArrayRef<unsigned> dims) {
  return AffineMap::getMultiDimMapWithTargets(numLoops, dims, ctx);
}

/// A linalg.generic with one init; returns its result.
Value buildGeneric(
    OpBuilder &b, Location loc, ValueRange inputs, Value init,
    ArrayRef<AffineMap> maps, ArrayRef<utils::IteratorType> iterators,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  return linalg::GenericOp::create(
             b, loc, init.getType(), inputs, init, maps, iterators,
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(nb, nloc, body(nb, nloc, args));
             })
      .getResult(0);
}

Value i32Constant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIntOp::create(b, loc, b.getI32Type(), value);
}

/// `index` as an i32 (an index argument of a generic's body).
Value toI32(OpBuilder &b, Location loc, Value index) {
  return arith::IndexCastOp::create(b, loc, b.getI32Type(), index);
}

/// `acc + (cond ? 1 : 0)` in i32.
Value addIf(OpBuilder &b, Location loc, Value acc, Value cond) {
  return arith::AddIOp::create(
      b, loc, acc, arith::ExtUIOp::create(b, loc, b.getI32Type(), cond));
}

/// Whether the i32 `value` is in [0, size): an index the loops may store at.
Value isInRange(OpBuilder &b, Location loc, Value value, int64_t size) {
  return arith::AndIOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, value,
                            i32Constant(b, loc, 0)),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, value,
                            i32Constant(b, loc, size)));
}

/// A statically shaped i32 buffer of `size` elements filled with -1, for a
/// parallel loop to store into.
Value createScatterBuffer(OpBuilder &b, Location loc, int64_t size) {
  Value buffer =
      memref::AllocOp::create(b, loc, MemRefType::get({size}, b.getI32Type()));
  linalg::FillOp::create(b, loc, i32Constant(b, loc, -1), buffer);
  return buffer;
}

/// The tensor of `buffer` once the loops that store into it are done:
/// nothing touches the buffer after this (`restrict`), and the tensor may be
/// updated in place (`writable`).
Value createTensorOfBuffer(OpBuilder &b, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  return bufferization::ToTensorOp::create(
      b, loc, RankedTensorType::get(type.getShape(), type.getElementType()),
      buffer, /*restrict=*/true, /*writable=*/true);
}

/// The chunk size for `numPairs` pairs: `chunk`, or the power of two at or
/// above sqrt(numPairs), at least 16.
int64_t getChunkSize(int64_t numPairs, int64_t chunk) {
  if (chunk > 0)
    return chunk;
  auto root = static_cast<uint64_t>(
      std::ceil(std::sqrt(static_cast<double>(numPairs))));
  return std::max<int64_t>(16, llvm::PowerOf2Ceil(root));
}

struct ParallelDispatch : public OpRewritePattern<DispatchOp> {
  ParallelDispatch(MLIRContext *ctx, int64_t chunk)
      : OpRewritePattern(ctx), chunk(chunk) {}

  LogicalResult matchAndRewrite(DispatchOp op,
                                PatternRewriter &rewriter) const override {
    auto idsType = cast<RankedTensorType>(op.getIds().getType());
    if (!idsType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic number of pairs");
    int64_t numTokens = idsType.getDimSize(0), topK = idsType.getDimSize(1);
    int64_t numPairs = numTokens * topK;
    if (numPairs == 0)
      return rewriter.notifyMatchFailure(op, "no pairs");
    int64_t numExperts = op.getNumExperts(), block = op.getBlock();
    int64_t numRows = op.getRows().getType().getDimSize(0);
    if (ShapedType::isDynamic(numRows))
      numRows = numPairs + numExperts * (block - 1);
    int64_t chunkSize = getChunkSize(numPairs, chunk);
    int64_t numChunks = llvm::divideCeil(numPairs, chunkSize);

    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Type i32 = rewriter.getI32Type();
    auto zeros = [&](ArrayRef<int64_t> shape) {
      SmallVector<OpFoldResult> sizes;
      for (int64_t size : shape)
        sizes.push_back(rewriter.getIndexAttr(size));
      return createFilledTensor(rewriter, loc, sizes,
                                i32Constant(rewriter, loc, 0));
    };
    Value numExpertsI32 = i32Constant(rewriter, loc, numExperts);

    // ids2 [N, C]: the pairs in (token, slot) order, padded with -1.
    Value ids = tensor::CollapseShapeOp::create(
        rewriter, loc, op.getIds(), ArrayRef<ReassociationIndices>{{0, 1}});
    if (numChunks * chunkSize != numPairs) {
      Value padding = createFilledTensor(
          rewriter, loc, {rewriter.getIndexAttr(numChunks * chunkSize)},
          i32Constant(rewriter, loc, -1));
      ids = tensor::InsertSliceOp::create(
          rewriter, loc, ids, padding,
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(numPairs)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)});
    }
    Value ids2 = tensor::ExpandShapeOp::create(
        rewriter, loc, RankedTensorType::get({numChunks, chunkSize}, i32), ids,
        ArrayRef<ReassociationIndices>{{0, 1}});

    // count[c, e], loops (c, e, j).
    Value count = buildGeneric(
        rewriter, loc, ids2, zeros({numChunks, numExperts}),
        {loopMap(ctx, 3, {0, 2}), loopMap(ctx, 3, {0, 1})},
        {kParallel, kParallel, kReduction},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value e = toI32(b, l, linalg::IndexOp::create(b, l, 1));
          return addIf(b, l, args[1],
                       arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq,
                                             args[0], e));
        });

    // total[e], loops (e, c), and the reference's offsets.
    auto add = [](OpBuilder &b, Location l, ValueRange args) -> Value {
      return arith::AddIOp::create(b, l, args[1], args[0]);
    };
    Value total = buildGeneric(rewriter, loc, count, zeros({numExperts}),
                               {loopMap(ctx, 2, {1, 0}), loopMap(ctx, 2, {0})},
                               {kParallel, kReduction}, add);
    Value offsets =
        createSegmentOffsets(rewriter, loc, total, numExperts, block);

    // base[c, e] = offsets[e] + Σ_{c' < c} count[c', e]: a broadcast of the
    // offsets, then loops (c, e, c').
    Value starts = tensor::ExtractSliceOp::create(
        rewriter, loc, offsets,
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(numExperts)},
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)});
    Value base = buildGeneric(
        rewriter, loc, starts,
        tensor::EmptyOp::create(rewriter, loc,
                                ArrayRef<int64_t>{numChunks, numExperts}, i32),
        {loopMap(ctx, 2, {1}), loopMap(ctx, 2, {0, 1})}, {kParallel, kParallel},
        [&](OpBuilder &, Location, ValueRange args) { return args[0]; });
    auto addEarlierChunk = [&](OpBuilder &b, Location l,
                               ValueRange args) -> Value {
      Value earlier = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult,
                                            linalg::IndexOp::create(b, l, 2),
                                            linalg::IndexOp::create(b, l, 0));
      return arith::AddIOp::create(
          b, l, args[1],
          arith::SelectOp::create(b, l, earlier, args[0],
                                  i32Constant(b, l, 0)));
    };
    base = buildGeneric(rewriter, loc, count, base,
                        {loopMap(ctx, 3, {2, 1}), loopMap(ctx, 3, {0, 1})},
                        {kParallel, kParallel, kReduction}, addEarlierChunk);

    // row[c, j]: the chunk's base for the pair's expert (-1 for ids outside
    // [0, E), padding included), then loops (c, j, j') add the pairs of the
    // same expert before it in the chunk.
    Value row = buildGeneric(
        rewriter, loc, ids2,
        tensor::EmptyOp::create(rewriter, loc,
                                ArrayRef<int64_t>{numChunks, chunkSize}, i32),
        {loopMap(ctx, 2, {0, 1}), loopMap(ctx, 2, {0, 1})},
        {kParallel, kParallel},
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          // Unsigned: negative ids are outside too.
          Value valid = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult,
                                              args[0], numExpertsI32);
          Value expert = arith::IndexCastOp::create(
              b, l, b.getIndexType(),
              arith::SelectOp::create(b, l, valid, args[0],
                                      i32Constant(b, l, 0)));
          Value start = tensor::ExtractOp::create(
              b, l, base, ValueRange{linalg::IndexOp::create(b, l, 0), expert});
          return arith::SelectOp::create(b, l, valid, start,
                                         i32Constant(b, l, -1));
        });
    row = buildGeneric(
        rewriter, loc, ValueRange{ids2, ids2}, row,
        {loopMap(ctx, 3, {0, 1}), loopMap(ctx, 3, {0, 2}),
         loopMap(ctx, 3, {0, 1})},
        {kParallel, kParallel, kReduction},
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value valid = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult,
                                              args[0], numExpertsI32);
          Value same = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq,
                                             args[0], args[1]);
          Value before = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::ult, linalg::IndexOp::create(b, l, 2),
              linalg::IndexOp::create(b, l, 1));
          Value counted = arith::AndIOp::create(
              b, l, valid, arith::AndIOp::create(b, l, same, before));
          return addIf(b, l, args[2], counted);
        });

    // perm[row[c, j]] = c * C + j, over every pair with a row.
    Value permBuffer = createScatterBuffer(rewriter, loc, numRows);
    auto index = [&](int64_t v) {
      return arith::ConstantIndexOp::create(rewriter, loc, v);
    };
    Value zero = index(0), one = index(1);
    scf::ParallelOp::create(
        rewriter, loc, ValueRange{zero, zero},
        ValueRange{index(numChunks), index(chunkSize)}, ValueRange{one, one},
        [&](OpBuilder &b, Location l, ValueRange ivs) {
          Value target = tensor::ExtractOp::create(b, l, row, ivs);
          scf::IfOp::create(
              b, l, isInRange(b, l, target, numRows),
              [&](OpBuilder &tb, Location tl) {
                Value pair = arith::AddIOp::create(
                    tb, tl,
                    arith::MulIOp::create(
                        tb, tl, ivs[0],
                        arith::ConstantIndexOp::create(tb, tl, chunkSize)),
                    ivs[1]);
                memref::StoreOp::create(
                    tb, tl, toI32(tb, tl, pair), permBuffer,
                    ValueRange{arith::IndexCastOp::create(
                        tb, tl, tb.getIndexType(), target)});
                scf::YieldOp::create(tb, tl);
              });
        });

    Value perm = createTensorOfBuffer(rewriter, loc, permBuffer);
    Value rows =
        createDispatchedRows(rewriter, loc, op.getX(), perm, index(topK),
                             rewriter.getIndexAttr(numRows));
    SmallVector<Value> results;
    for (auto [value, type] :
         llvm::zip_equal(ValueRange{rows, offsets, perm}, op.getResultTypes()))
      results.push_back(
          value.getType() == type
              ? value
              : tensor::CastOp::create(rewriter, loc, type, value).getResult());
    rewriter.replaceOp(op, results);
    return success();
  }

  int64_t chunk;
};

struct ParallelCombine : public OpRewritePattern<CombineOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CombineOp op,
                                PatternRewriter &rewriter) const override {
    auto permType = cast<RankedTensorType>(op.getPerm().getType());
    auto weightsType = cast<RankedTensorType>(op.getWeights().getType());
    if (!permType.hasStaticShape() || !weightsType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic shapes");
    int64_t numPairs = weightsType.getDimSize(0) * weightsType.getDimSize(1);
    Location loc = op.getLoc();

    // inv[perm[r]] = max r over the rows whose pair is in [0, P).
    Value invBuffer = createScatterBuffer(rewriter, loc, numPairs);
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value numRows =
        arith::ConstantIndexOp::create(rewriter, loc, permType.getDimSize(0));
    Value perm = op.getPerm();
    scf::ParallelOp::create(
        rewriter, loc, zero, numRows, one,
        [&](OpBuilder &b, Location l, ValueRange ivs) {
          Value pair = tensor::ExtractOp::create(b, l, perm, ivs);
          scf::IfOp::create(b, l, isInRange(b, l, pair, numPairs),
                            [&](OpBuilder &tb, Location tl) {
                              memref::AtomicRMWOp::create(
                                  tb, tl, arith::AtomicRMWKind::maxs,
                                  toI32(tb, tl, ivs[0]), invBuffer,
                                  ValueRange{arith::IndexCastOp::create(
                                      tb, tl, tb.getIndexType(), pair)});
                              scf::YieldOp::create(tb, tl);
                            });
        });
    Value inv = createTensorOfBuffer(rewriter, loc, invBuffer);
    rewriter.replaceOp(op, createCombineFromInverse(rewriter, loc, op, inv));
    return success();
  }
};

struct TesseraParallelScatterPass
    : public tessera::impl::TesseraParallelScatterBase<
          TesseraParallelScatterPass> {
  using Base::Base;

  void runOnOperation() override {
    // 0 picks the chunk from the number of pairs.
    if (chunk != 0 &&
        failed(checkPositiveOptions(getOperation(), {{"chunk", chunk}})))
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    populateTesseraParallelScatterPatterns(patterns, chunk);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::tessera::populateTesseraParallelScatterPatterns(
    RewritePatternSet &patterns, int64_t chunk) {
  patterns.add<ParallelDispatch>(patterns.getContext(), chunk);
  patterns.add<ParallelCombine>(patterns.getContext());
}
