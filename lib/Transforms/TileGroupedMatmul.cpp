//===- TileGroupedMatmul.cpp - Cache tiling of the expert GEMMs -----------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Rewrites `tessera.grouped_matmul` into cache-blocked loops on tensors. With
// Bn/Bk the column/reduction blocks (pass options column-block/k-block) and
// W the output width (N, or N/2 with the SwiGLU epilogue):
//
//   out = rows outside every segment set to 0
//   scf.for e = 0 to E  iter_args(out)                       experts in order
//     [begin, end) = clamped offsets[e], offsets[e+1]
//     seg = rows[begin:end, :]                               a view
//     scf.forall nb in ceildiv(W, Bn)  shared_outs(out)      column blocks
//       n0 = nb * Bn, w = min(Bn, W - n0)
//       acc = 0                                              [len, w] f32
//                                  (SwiGLU: gate and up accumulators)
//       scf.for k0 = 0 to K step Bk  iter_args(acc)
//         b = pack(weights[e, k0:k0+Bk, n0:n0+w])            dense f32 copy
//                                  (SwiGLU: and the up columns W + n0)
//         acc += seg[:, k0:k0+Bk] · b     rows in a multiple of Br, then
//                                         Br/2, ..., 1 rows under scf.if
//       out[begin:end, n0:n0+w] = epilogue(acc)             in the out type
//
// An expert's row segment stays in cache while all of its column blocks run;
// every weight is read once per call and packed once into a dense buffer
// that every row of the segment reuses; the SwiGLU epilogue and the rounding
// to the output type run on the block while it is in cache. The block
// matmuls are linalg.matmul on f32 accumulators with static row counts
// (Br = row-block, the register block), which tessera-vectorize turns into
// register-blocked micro-kernels.
//
// With `prefetch`, blocks of a static multiple of 32 columns multiply in
// explicit 16-lane register blocks instead (buildF32RowBlocks), whose K loops
// prefetch the next weight block a row at a time while the FMAs run; the
// bf16 dot-product blocks (`bf16-dot`) prefetch it the same way.
//
// With a `gather` index (tessera-fuse-moe), each expert's rows are first
// gathered from the table into a dense f32 `[len, K]` buffer (one copy per
// expert, in cache for all of its column blocks), which the blocks read
// instead of `rows`; with a `scale`, the epilogue multiplies each row by it.
//
// Experts run in order, so that where malformed offsets make segments
// overlap, the later expert's rows win, as in the reference lowering. With
// b_e the offsets clamped like the reference's segment starts, the rows
// covered by some segment are exactly [b_0, max_e b_e); the others are 0.
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
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace tessera {
#define GEN_PASS_DEF_TESSERATILEGROUPEDMATMUL
#include "tessera/Transforms/Passes.h.inc"
} // namespace tessera
} // namespace mlir

#define DEBUG_TYPE "tessera-tile-grouped-matmul"

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// The extent of the block at `offset` of a loop over [0, `upper`) with step
/// `block`: a constant when `upper` is static and either a multiple of
/// `block` or at most `block` (one block).
OpFoldResult getBlockExtent(OpBuilder &b, Location loc, Value offset,
                            OpFoldResult upper, int64_t block) {
  std::optional<int64_t> staticUpper = getConstantIntValue(upper);
  if (staticUpper && *staticUpper <= block)
    return b.getIndexAttr(*staticUpper);
  if (staticUpper && *staticUpper % block == 0)
    return b.getIndexAttr(block);
  return b.createOrFold<arith::MinSIOp>(
      loc, createIndexConstant(b, loc, block),
      b.createOrFold<arith::SubIOp>(
          loc, getValueOrCreateConstantIndexOp(b, loc, upper), offset));
}

/// The rows [begin, begin + length) of the rank-2 `source`, all columns.
Value extractRows(OpBuilder &b, Location loc, Value source, Value begin,
                  OpFoldResult length) {
  OpFoldResult one = b.getIndexAttr(1);
  return tensor::ExtractSliceOp::create(
      b, loc, source, {begin, b.getIndexAttr(0)},
      {length, tensor::getMixedSize(b, loc, source, 1)}, {one, one});
}

/// `dest` with rows [begin, end) set to zero (filled in place).
Value zeroRows(OpBuilder &b, Location loc, Value dest, Value begin, Value end) {
  Value length = arith::SubIOp::create(b, loc, end, begin);
  Type elementType = cast<RankedTensorType>(dest.getType()).getElementType();
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elementType));
  Value rows = extractRows(b, loc, dest, begin, length);
  Value zeros = linalg::FillOp::create(b, loc, zero, rows).getResult(0);
  OpFoldResult one = b.getIndexAttr(1);
  return tensor::InsertSliceOp::create(
      b, loc, zeros, dest, {begin, b.getIndexAttr(0)},
      tensor::getMixedSizes(b, loc, rows), {one, one});
}

/// `source` (rank 2) as f32, copied into the leading block of `buffer`: a
/// dense, cache-friendly copy of a strided block, reused by every row block
/// of the micro-kernel.
Value packBlock(OpBuilder &b, Location loc, Value source, Value buffer) {
  MLIRContext *ctx = b.getContext();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, source);
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  Value dest = tensor::ExtractSliceOp::create(b, loc, buffer, {zero, zero},
                                              sizes, {one, one});
  // A linalg.copy, unlike an identity linalg.generic, is not folded away.
  if (cast<RankedTensorType>(source.getType()).getElementType().isF32())
    return linalg::CopyOp::create(b, loc, source, dest).getResult(0);
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  SmallVector<utils::IteratorType> iterators(2, utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, dest.getType(), source, dest, {id, id}, iterators,
             [](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(nb, l, extendToF32(nb, l, args[0]));
             })
      .getResult(0);
}

/// The bf16 dot-product micro-kernel works on 16 f32 lanes and pairs of K.
constexpr int64_t kDotLanes = 16;
constexpr int64_t kDotVectors = 2;
constexpr int64_t kDotColumns = kDotLanes * kDotVectors;

struct TileGroupedMatmul : public OpRewritePattern<GroupedMatmulOp> {
  TileGroupedMatmul(MLIRContext *ctx, int64_t columnBlock, int64_t kBlock,
                    int64_t rowBlock, bool bf16Dot, bool prefetch)
      : OpRewritePattern(ctx), columnBlock(columnBlock), kBlock(kBlock),
        rowBlock(rowBlock), bf16Dot(bf16Dot), prefetch(prefetch) {}

  LogicalResult matchAndRewrite(GroupedMatmulOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value rows = op.getRows(), weights = op.getWeights(),
          offsets = op.getOffsets();
    auto outType = cast<RankedTensorType>(op.getOut().getType());
    Type elementType = outType.getElementType();
    bool swiglu = op.getEpilogue() == Epilogue::swiglu;

    // The output rows: those of `rows`, or of the gather index.
    OpFoldResult numRows = tensor::getMixedSize(
        rewriter, loc, op.getGather() ? op.getGather() : rows, 0);
    OpFoldResult depth = tensor::getMixedSize(rewriter, loc, rows, 1);
    OpFoldResult width = tensor::getMixedSize(rewriter, loc, weights, 2);
    if (swiglu) {
      if (std::optional<int64_t> n = getConstantIntValue(width))
        width = rewriter.getIndexAttr(*n / 2);
      else
        width = rewriter.createOrFold<arith::DivUIOp>(
            loc, getValueOrCreateConstantIndexOp(rewriter, loc, width),
            createIndexConstant(rewriter, loc, 2));
    }
    bool useDot = canUseBF16Dot(op, depth, width);
    Value numRowsValue =
        getValueOrCreateConstantIndexOp(rewriter, loc, numRows);
    Value numExperts = getValueOrCreateConstantIndexOp(
        rewriter, loc, tensor::getMixedSize(rewriter, loc, weights, 0));
    Value c0 = createIndexConstant(rewriter, loc, 0);
    Value c1 = createIndexConstant(rewriter, loc, 1);

    // Rows outside [b_0, max_e b_e) belong to no segment: zeros.
    Value first =
        createClampedOffset(rewriter, loc, offsets, c0, c0, numRowsValue);
    Value covered =
        scf::ForOp::create(
            rewriter, loc, c1,
            arith::AddIOp::create(rewriter, loc, numExperts, c1), c1,
            ValueRange{first},
            [&](OpBuilder &b, Location l, Value e, ValueRange iterArgs) {
              Value start =
                  createClampedOffset(b, l, offsets, e, c0, numRowsValue);
              scf::YieldOp::create(
                  b, l,
                  arith::MaxSIOp::create(b, l, iterArgs[0], start).getResult());
            })
            .getResult(0);
    Value out = tensor::EmptyOp::create(
        rewriter, loc, SmallVector<OpFoldResult>{numRows, width}, elementType);
    out = zeroRows(rewriter, loc, out, c0, first);
    out = zeroRows(rewriter, loc, out, covered, numRowsValue);

    auto expertLoop = scf::ForOp::create(
        rewriter, loc, c0, numExperts, c1, ValueRange{out},
        [&](OpBuilder &b, Location l, Value expert, ValueRange iterArgs) {
          auto [begin, length] =
              createExpertSegment(b, l, offsets, expert, numRowsValue);
          Segment segment{expert, begin, length, /*gathered=*/nullptr, useDot};
          if (Value index = op.getGather())
            segment.gathered = gatherSegment(b, l, op.getRows(), index, begin,
                                             length, /*widen=*/!useDot);
          scf::YieldOp::create(
              b, l,
              buildColumnBlocks(b, l, op, segment, iterArgs[0], depth, width));
        });
    Value result = expertLoop.getResult(0);
    if (result.getType() != outType)
      result = tensor::CastOp::create(rewriter, loc, outType, result);
    rewriter.replaceOp(op, result);
    return success();
  }

private:
  struct Segment {
    Value expert, begin, length;
    /// With a gather index: the segment's rows gathered from the table (and
    /// widened to f32 unless `dot`), `[length, K]`; the blocks read it from
    /// row 0.
    Value gathered;
    /// Whether the blocks use the bf16 dot-product micro-kernel.
    bool dot;
  };

  /// Whether `op` can use the bf16 dot-product kernel (`bf16-dot`): bf16
  /// rows and weights, an even static K (pairs of K never straddle a block
  /// or the end of a row) and static column blocks made of whole 32-column
  /// register blocks.
  bool canUseBF16Dot(GroupedMatmulOp op, OpFoldResult depth,
                     OpFoldResult width) const {
    if (!bf16Dot || kBlock % 2 != 0 ||
        !getElementTypeOrSelf(op.getRows().getType()).isBF16() ||
        !getElementTypeOrSelf(op.getWeights().getType()).isBF16())
      return false;
    std::optional<int64_t> k = getConstantIntValue(depth);
    std::optional<int64_t> w = getConstantIntValue(width);
    if (!k || *k % 2 != 0 || !w)
      return false;
    if (*w <= columnBlock)
      return *w % kDotColumns == 0;
    return *w % columnBlock == 0 && columnBlock % kDotColumns == 0;
  }

  /// `gathered[r, c] = table[index[begin + r], c]` for r < `length` (in
  /// f32 when `widen`), zero where the index is outside the table: the
  /// segment's rows copied once per expert into a dense buffer that stays
  /// in cache while all of its column blocks run (the dispatched copy of
  /// every row is never written).
  static Value gatherSegment(OpBuilder &b, Location loc, Value table,
                             Value index, Value begin, Value length,
                             bool widen) {
    OpFoldResult one = b.getIndexAttr(1);
    Value segmentIndex = tensor::ExtractSliceOp::create(
        b, loc, index, ArrayRef<OpFoldResult>{begin},
        ArrayRef<OpFoldResult>{length}, ArrayRef<OpFoldResult>{one});
    return createRowGather(b, loc, table, segmentIndex,
                           widen ? b.getF32Type()
                                 : getElementTypeOrSelf(table.getType()));
  }

  /// The forall over the column blocks of one expert's segment, writing the
  /// segment's rows of `out`.
  Value buildColumnBlocks(OpBuilder &b, Location loc, GroupedMatmulOp op,
                          const Segment &segment, Value out, OpFoldResult depth,
                          OpFoldResult width) const {
    Value numBlocks = b.createOrFold<arith::CeilDivUIOp>(
        loc, getValueOrCreateConstantIndexOp(b, loc, width),
        createIndexConstant(b, loc, columnBlock));
    auto forall = scf::ForallOp::create(
        b, loc, SmallVector<OpFoldResult>{getAsOpFoldResult(numBlocks)},
        ValueRange{out}, /*mapping=*/std::nullopt);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forall.getBody());
    Value colStart =
        b.createOrFold<arith::MulIOp>(loc, forall.getInductionVars()[0],
                                      createIndexConstant(b, loc, columnBlock));
    OpFoldResult cols = getBlockExtent(b, loc, colStart, width, columnBlock);

    OpFoldResult one = b.getIndexAttr(1);
    Value dest = tensor::ExtractSliceOp::create(
        b, loc, forall.getRegionOutArgs()[0], {segment.begin, colStart},
        {segment.length, cols}, {one, one});
    Value block =
        buildBlock(b, loc, op, segment, colStart, cols, depth, width, dest);

    b.setInsertionPointToStart(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(
        b, loc, block, forall.getRegionOutArgs()[0],
        SmallVector<OpFoldResult>{segment.begin, colStart},
        SmallVector<OpFoldResult>{segment.length, cols},
        SmallVector<OpFoldResult>{one, one});
    return forall.getResult(0);
  }

  /// out[segment, colStart : colStart + cols] in the output type: the
  /// K-blocked products and the epilogue, written into `dest` (that block of
  /// the output). Without an epilogue, an f32 output is its own accumulator.
  Value buildBlock(OpBuilder &b, Location loc, GroupedMatmulOp op,
                   const Segment &segment, Value colStart, OpFoldResult cols,
                   OpFoldResult depth, OpFoldResult width, Value dest) const {
    bool swiglu = op.getEpilogue() == Epilogue::swiglu;
    Type elementType = op.getOut().getType().getElementType();
    bool inPlace = !swiglu && !op.getScale() && elementType.isF32();
    Value zero = createF32Constant(b, loc, 0.0f);
    SmallVector<Value> accs(swiglu ? 2 : 1);
    for (Value &acc : accs)
      acc = inPlace ? linalg::FillOp::create(b, loc, zero, dest).getResult(0)
                    : createFilledTensor(b, loc, {segment.length, cols}, zero);
    // The weight columns of each accumulator: the block, and with SwiGLU
    // the matching up-projection block `width` columns to the right.
    SmallVector<Value> weightCols = {colStart};
    if (swiglu)
      weightCols.push_back(b.createOrFold<arith::AddIOp>(
          loc, colStart, getValueOrCreateConstantIndexOp(b, loc, width)));

    if (segment.dot)
      return finishBlock(b, loc, op, segment,
                         buildDotProducts(b, loc, op, segment, weightCols,
                                          *getConstantIntValue(cols),
                                          *getConstantIntValue(depth), accs),
                         inPlace, dest);

    // Buffers for the packed blocks, allocated once per column block: each
    // weight block [Bk, w] and, for non-f32 rows, the row block in f32.
    OpFoldResult kMax = b.getIndexAttr(kBlock);
    if (std::optional<int64_t> k = getConstantIntValue(depth))
      kMax = b.getIndexAttr(std::min(*k, kBlock));
    Type f32 = b.getF32Type();
    SmallVector<Value> weightBuffers;
    for (size_t i = 0; i < accs.size(); ++i)
      weightBuffers.push_back(tensor::EmptyOp::create(
          b, loc, SmallVector<OpFoldResult>{kMax, cols}, f32));
    Value rowBuffer;
    if (!segment.gathered && !cast<RankedTensorType>(op.getRows().getType())
                                  .getElementType()
                                  .isF32())
      rowBuffer = tensor::EmptyOp::create(
          b, loc, SmallVector<OpFoldResult>{segment.length, kMax}, f32);

    Value depthValue = getValueOrCreateConstantIndexOp(b, loc, depth);
    auto kLoop = scf::ForOp::create(
        b, loc, createIndexConstant(b, loc, 0), depthValue,
        createIndexConstant(b, loc, kBlock), accs,
        [&](OpBuilder &nb, Location l, Value kStart, ValueRange iterArgs) {
          OpFoldResult kSize = getBlockExtent(nb, l, kStart, depth, kBlock);
          OpFoldResult one = nb.getIndexAttr(1);
          Value lhs =
              segment.gathered
                  ? tensor::ExtractSliceOp::create(
                        nb, l, segment.gathered, {nb.getIndexAttr(0), kStart},
                        {segment.length, kSize}, {one, one})
                  : tensor::ExtractSliceOp::create(
                        nb, l, op.getRows(), {segment.begin, kStart},
                        {segment.length, kSize}, {one, one});
          if (rowBuffer)
            lhs = packBlock(nb, l, lhs, rowBuffer);
          SmallVector<Value> updated;
          for (auto [acc, col, buffer] :
               llvm::zip_equal(iterArgs, weightCols, weightBuffers)) {
            SmallVector<OpFoldResult> sizes = {one, kSize, cols};
            auto rhsType =
                tensor::ExtractSliceOp::inferCanonicalRankReducedResultType(
                    2, cast<RankedTensorType>(op.getWeights().getType()),
                    sizes);
            Value rhs = tensor::ExtractSliceOp::create(
                nb, l, rhsType, op.getWeights(),
                SmallVector<OpFoldResult>{segment.expert, kStart, col}, sizes,
                SmallVector<OpFoldResult>(3, one));
            rhs = packBlock(nb, l, rhs, buffer);
            if (std::optional<int64_t> staticCols = getConstantIntValue(cols);
                prefetch && rowBlock > 1 && staticCols &&
                *staticCols % kDotColumns == 0) {
              NextBlockPrefetch next = createNextBlockPrefetch(
                  nb, l, op.getWeights(), segment.expert, kStart, col,
                  *staticCols, segment.length);
              updated.push_back(buildF32RowBlocks(
                  nb, l, lhs, rhs, acc, segment.length,
                  getValueOrCreateConstantIndexOp(nb, l, kSize), *staticCols,
                  next));
              continue;
            }
            updated.push_back(
                rowBlock > 1 ? buildRowBlockedMatmul(nb, l, lhs, rhs, acc,
                                                     segment.length)
                             : linalg::MatmulOp::create(nb, l, acc.getType(),
                                                        ValueRange{lhs, rhs},
                                                        ValueRange{acc})
                                   .getResult(0));
          }
          scf::YieldOp::create(nb, l, updated);
        });
    return finishBlock(b, loc, op, segment, kLoop.getResults(), inPlace, dest);
  }

  /// Where the K loops of one weight block's register blocks prefetch the
  /// next weight block (`prefetch`): rows [next, next + k-block) of
  /// `expert`'s weights, clamped to `last`, columns [col, col + lines * 16
  /// elements). Register block `slot` (full row blocks x 32-column groups,
  /// in order) covers `rowsPerSlot` of those rows, all lines of one row
  /// every `period` K steps.
  struct NextBlockPrefetch {
    Value buffer, expert, next, last, col, rowsPerSlot, period;
    int64_t lines, lineElements;
  };

  NextBlockPrefetch createNextBlockPrefetch(OpBuilder &b, Location loc,
                                            Value weights, Value expert,
                                            Value kStart, Value col,
                                            int64_t cols, Value length) const {
    auto type = cast<RankedTensorType>(weights.getType());
    auto layout = StridedLayoutAttr::get(
        b.getContext(), ShapedType::kDynamic,
        SmallVector<int64_t>(type.getRank(), ShapedType::kDynamic));
    NextBlockPrefetch next;
    next.buffer = bufferization::ToBufferOp::create(
        b, loc, MemRefType::get(type.getShape(), type.getElementType(), layout),
        weights, /*readOnly=*/true);
    next.expert = expert;
    next.col = col;
    next.next = b.createOrFold<arith::AddIOp>(
        loc, kStart, createIndexConstant(b, loc, kBlock));
    next.last =
        arith::SubIOp::create(b, loc, tensor::DimOp::create(b, loc, weights, 1),
                              createIndexConstant(b, loc, 1));
    next.lineElements = 512 / type.getElementTypeBitWidth();
    next.lines = llvm::divideCeil(cols, next.lineElements);
    // One slot per full row block and 32-column group.
    Value blocks = arith::ShRUIOp::create(
        b, loc, length, createIndexConstant(b, loc, llvm::Log2_64(rowBlock)));
    Value slots = arith::MulIOp::create(
        b, loc, blocks, createIndexConstant(b, loc, cols / kDotColumns));
    Value kb = createIndexConstant(b, loc, kBlock);
    Value c1 = createIndexConstant(b, loc, 1);
    next.rowsPerSlot = arith::CeilDivUIOp::create(
        b, loc, kb, arith::MaxUIOp::create(b, loc, slots, c1));
    next.period = arith::MaxUIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, kb, next.rowsPerSlot), c1);
    return next;
  }

  /// Prefetches the lines of row `slot` * rowsPerSlot + `chunk` of the next
  /// block (clamped to it and to the weights). The K loop of register block
  /// `slot` calls this once every `period` steps: spread this thin, the
  /// requests overlap the FMAs; issued in bursts (a block or a row block at
  /// a time), or one line every step, they stall on the page walks of rows
  /// a page or more apart and cost more than they save.
  void emitPrefetch(OpBuilder &b, Location loc, const NextBlockPrefetch &next,
                    Value slot, Value chunk) const {
    Value row = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, slot, next.rowsPerSlot), chunk);
    row = arith::MinUIOp::create(b, loc, row,
                                 createIndexConstant(b, loc, kBlock - 1));
    row = arith::MinSIOp::create(
        b, loc, arith::AddIOp::create(b, loc, next.next, row), next.last);
    for (int64_t line = 0; line < next.lines; ++line)
      memref::PrefetchOp::create(
          b, loc, next.buffer,
          ValueRange{
              next.expert, row,
              b.createOrFold<arith::AddIOp>(
                  loc, next.col,
                  createIndexConstant(b, loc, line * next.lineElements))},
          /*isWrite=*/false, /*localityHint=*/3, /*isDataCache=*/true);
  }

  /// `acc += lhs · rhs` (f32; `lhs` `[length, depth]`, `rhs` the packed
  /// `[depth, cols]` block) in explicit register blocks: the rows in
  /// blocks of row-block under an scf.for, each block's K loops prefetching
  /// their share of the next weight block, then blocks of row-block/2, ...,
  /// 1 rows under scf.if (without prefetches).
  Value buildF32RowBlocks(OpBuilder &b, Location loc, Value lhs, Value rhs,
                          Value acc, Value length, Value depth, int64_t cols,
                          const NextBlockPrefetch &next) const {
    return buildRowBlocks(
        b, loc, acc, length, rowBlock,
        [&](OpBuilder &nb, Location l, Value current, Value r0, int64_t rows,
            bool full) {
          if (!full)
            return buildF32Kernel(nb, l, lhs, rhs, depth, current, r0, rows,
                                  cols, /*next=*/nullptr, /*block=*/nullptr);
          Value block = arith::DivUIOp::create(
              nb, l, r0, createIndexConstant(nb, l, rowBlock));
          return buildF32Kernel(nb, l, lhs, rhs, depth, current, r0, rows, cols,
                                &next, block);
        });
  }

  /// The accumulators of a register block: for each row index and each of
  /// the kDotVectors 16-lane vectors of the 32 columns from `column`, that
  /// part of the f32 tensor `acc`, in row-major order.
  static SmallVector<Value> readAccumulators(OpBuilder &b, Location loc,
                                             Value acc, ArrayRef<Value> rows,
                                             int64_t column) {
    auto type = VectorType::get({kDotLanes}, b.getF32Type());
    Value zero = createF32Constant(b, loc, 0.0f);
    SmallVector<Value> accs;
    for (Value row : rows)
      for (int64_t v = 0; v < kDotVectors; ++v)
        accs.push_back(vector::TransferReadOp::create(
            b, loc, type, acc,
            ValueRange{row,
                       createIndexConstant(b, loc, column + v * kDotLanes)},
            zero, ArrayRef<bool>{true}));
    return accs;
  }

  /// `acc` with the accumulators `values` (readAccumulators' order) written
  /// back.
  static Value writeAccumulators(OpBuilder &b, Location loc, ValueRange values,
                                 Value acc, ArrayRef<Value> rows,
                                 int64_t column) {
    for (auto [i, row] : llvm::enumerate(rows))
      for (int64_t v = 0; v < kDotVectors; ++v)
        acc = vector::TransferWriteOp::create(
                  b, loc, values[i * kDotVectors + v], acc,
                  ValueRange{
                      row, createIndexConstant(b, loc, column + v * kDotLanes)},
                  ArrayRef<bool>{true})
                  .getResult();
    return acc;
  }

  /// The register block of `rows` rows from `r0` x all `cols` columns (in
  /// groups of 32): 2 * rows accumulators of 16 f32 lanes carried through
  /// the K loop; per step, two loads of the packed weights, one broadcast
  /// of each row's element and 2 * rows FMAs, and with `next` the step's
  /// prefetch (slot = block * groups + group).
  Value buildF32Kernel(OpBuilder &b, Location loc, Value lhs, Value rhs,
                       Value depth, Value acc, Value r0, int64_t rows,
                       int64_t cols, const NextBlockPrefetch *next,
                       Value block) const {
    Type f32 = b.getF32Type();
    auto vectorType = VectorType::get({kDotLanes}, f32);
    Value zero = createF32Constant(b, loc, 0.0f);
    SmallVector<Value> rowIndex;
    for (int64_t r = 0; r < rows; ++r)
      rowIndex.push_back(b.createOrFold<arith::AddIOp>(
          loc, r0, createIndexConstant(b, loc, r)));
    for (int64_t c = 0; c < cols; c += kDotColumns) {
      SmallVector<Value> accs = readAccumulators(b, loc, acc, rowIndex, c);
      Value slot = next ? getPrefetchSlot(b, loc, block, c, cols) : Value();
      auto step = [&](OpBuilder &nb, Location l, Value k,
                      ValueRange iterArgs) -> SmallVector<Value> {
        SmallVector<Value> weightVectors;
        for (int64_t v = 0; v < kDotVectors; ++v)
          weightVectors.push_back(vector::TransferReadOp::create(
              nb, l, vectorType, rhs,
              ValueRange{k, createIndexConstant(nb, l, c + v * kDotLanes)},
              zero, ArrayRef<bool>{true}));
        SmallVector<Value> updated;
        for (int64_t r = 0; r < rows; ++r) {
          Value element =
              tensor::ExtractOp::create(nb, l, lhs, ValueRange{rowIndex[r], k});
          Value splat = vector::BroadcastOp::create(nb, l, vectorType, element);
          for (int64_t v = 0; v < kDotVectors; ++v)
            updated.push_back(vector::FMAOp::create(
                nb, l, splat, weightVectors[v], iterArgs[r * kDotVectors + v]));
        }
        return updated;
      };
      scf::ForOp kLoop = buildKLoop(b, loc, depth, accs, next, slot,
                                    /*rowsPerStep=*/1, step);
      acc = writeAccumulators(b, loc, kLoop.getResults(), acc, rowIndex, c);
    }
    return acc;
  }

  /// The index of register block (`block`, 32-column group `c`) among
  /// the prefetch slots of its weight block.
  static Value getPrefetchSlot(OpBuilder &b, Location loc, Value block,
                               int64_t c, int64_t cols) {
    return arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, block,
                              createIndexConstant(b, loc, cols / kDotColumns)),
        createIndexConstant(b, loc, c / kDotColumns));
  }

  /// The K loop of a register block over [0, `upper`) steps of
  /// `rowsPerStep` K rows each (1, or 2 for pairs of K), carrying `accs`:
  /// one loop, or with `next` chunks of `period` steps, each after the
  /// prefetch of the next `rowsPerStep` rows of `slot`'s share of the next
  /// block: with pairs of K, half as many chunks of two rows each.
  scf::ForOp buildKLoop(
      OpBuilder &b, Location loc, Value upper, ValueRange accs,
      const NextBlockPrefetch *next, Value slot, int64_t rowsPerStep,
      function_ref<SmallVector<Value>(OpBuilder &, Location, Value, ValueRange)>
          step) const {
    Value c0 = createIndexConstant(b, loc, 0),
          c1 = createIndexConstant(b, loc, 1);
    auto body = [&](OpBuilder &nb, Location l, Value k, ValueRange iterArgs) {
      scf::YieldOp::create(nb, l, step(nb, l, k, iterArgs));
    };
    if (!next)
      return scf::ForOp::create(b, loc, c0, upper, c1, accs, body);
    return scf::ForOp::create(
        b, loc, c0, upper, next->period, accs,
        [&](OpBuilder &nb, Location l, Value k0, ValueRange outer) {
          Value chunk = arith::MulIOp::create(
              nb, l, arith::DivUIOp::create(nb, l, k0, next->period),
              createIndexConstant(nb, l, rowsPerStep));
          for (int64_t i = 0; i < rowsPerStep; ++i)
            emitPrefetch(nb, l, *next, slot,
                         nb.createOrFold<arith::AddIOp>(
                             l, chunk, createIndexConstant(nb, l, i)));
          Value end = arith::MinUIOp::create(
              nb, l, arith::AddIOp::create(nb, l, k0, next->period), upper);
          auto inner = scf::ForOp::create(nb, l, k0, end, c1, outer, body);
          scf::YieldOp::create(nb, l, inner.getResults());
        });
  }

  /// The block in the output type from its f32 products: the accumulator
  /// itself when it was the output block (`inPlace`), else the epilogue
  /// (with the segment's row scale) written into `dest`.
  static Value finishBlock(OpBuilder &b, Location loc, GroupedMatmulOp op,
                           const Segment &segment, ValueRange products,
                           bool inPlace, Value dest) {
    if (inPlace)
      return products[0];
    Value scale;
    if (Value rowScale = op.getScale()) {
      OpFoldResult one = b.getIndexAttr(1);
      scale = tensor::ExtractSliceOp::create(
          b, loc, rowScale, ArrayRef<OpFoldResult>{segment.begin},
          ArrayRef<OpFoldResult>{segment.length}, ArrayRef<OpFoldResult>{one});
    }
    return buildEpilogue(b, loc, products, scale, dest);
  }

  /// The K-blocked f32 products of the bf16 dot-product path: for each K
  /// block, every weight block is packed into pairs of K (`packPairs`) and
  /// multiplied by the segment's bf16 rows in register blocks of 8 (then 4,
  /// 2, 1) rows x 32 columns with vdpbf16ps (`buildDotRowBlocks`).
  SmallVector<Value> buildDotProducts(OpBuilder &b, Location loc,
                                      GroupedMatmulOp op,
                                      const Segment &segment,
                                      ArrayRef<Value> weightCols, int64_t cols,
                                      int64_t depth, ValueRange accs) const {
    int64_t kMax = std::min(depth, kBlock);
    SmallVector<Value> buffers;
    for (size_t i = 0; i < accs.size(); ++i)
      buffers.push_back(tensor::EmptyOp::create(
          b, loc, ArrayRef<int64_t>{kMax / 2, 2 * cols}, b.getBF16Type()));
    // The rows: the gathered copy from row 0, or the segment of `rows`.
    Value lhs = segment.gathered ? segment.gathered : op.getRows();
    Value rowBase =
        segment.gathered ? createIndexConstant(b, loc, 0) : segment.begin;
    Value depthValue = createIndexConstant(b, loc, depth);
    auto kLoop = scf::ForOp::create(
        b, loc, createIndexConstant(b, loc, 0), depthValue,
        createIndexConstant(b, loc, kBlock), accs,
        [&](OpBuilder &nb, Location l, Value kStart, ValueRange iterArgs) {
          Value kSize = getValueOrCreateConstantIndexOp(
              nb, l,
              getBlockExtent(nb, l, kStart, nb.getIndexAttr(depth), kBlock));
          Value pairs = nb.createOrFold<arith::DivUIOp>(
              l, kSize, createIndexConstant(nb, l, 2));
          SmallVector<Value> updated;
          for (auto [acc, col, buffer] :
               llvm::zip_equal(iterArgs, weightCols, buffers)) {
            Value packed = packPairs(nb, l, op.getWeights(), segment.expert,
                                     kStart, col, pairs, cols, buffer);
            std::optional<NextBlockPrefetch> next;
            if (prefetch && rowBlock > 1)
              next = createNextBlockPrefetch(nb, l, op.getWeights(),
                                             segment.expert, kStart, col, cols,
                                             segment.length);
            updated.push_back(buildDotRowBlocks(
                nb, l, lhs, rowBase, kStart, pairs, packed, acc, segment.length,
                cols, next ? &*next : nullptr));
          }
          scf::YieldOp::create(nb, l, updated);
        });
    return SmallVector<Value>(kLoop.getResults());
  }

  /// `packed[p, 2c + q] = weights[expert, kStart + 2p + q, col + c]` for
  /// p < `pairs`, c < `cols`: each pair of K rows of the weight block
  /// interleaved column by column, so that 32 consecutive elements hold the
  /// K pairs of 16 columns, the right operand of vdpbf16ps.
  static Value packPairs(OpBuilder &b, Location loc, Value weights,
                         Value expert, Value kStart, Value col, Value pairs,
                         int64_t cols, Value buffer) {
    Type bf16 = b.getBF16Type();
    auto rowType = VectorType::get({kDotColumns}, bf16);
    auto pairType = VectorType::get({2 * kDotColumns}, bf16);
    SmallVector<int64_t> interleave;
    for (int64_t i = 0; i < kDotColumns; ++i)
      interleave.append({i, i + kDotColumns});
    Value padding =
        arith::ConstantOp::create(b, loc, bf16, b.getZeroAttr(bf16));
    Value c1 = createIndexConstant(b, loc, 1);
    return scf::ForOp::create(
               b, loc, createIndexConstant(b, loc, 0), pairs, c1,
               ValueRange{buffer},
               [&](OpBuilder &nb, Location l, Value p, ValueRange iterArgs) {
                 Value k0 = arith::AddIOp::create(
                     nb, l, kStart,
                     arith::MulIOp::create(nb, l, p,
                                           createIndexConstant(nb, l, 2)));
                 Value k1 = arith::AddIOp::create(nb, l, k0, c1);
                 Value packed = iterArgs[0];
                 for (int64_t c = 0; c < cols; c += kDotColumns) {
                   Value n = nb.createOrFold<arith::AddIOp>(
                       l, col, createIndexConstant(nb, l, c));
                   auto readRow = [&](Value k) -> Value {
                     return vector::TransferReadOp::create(
                         nb, l, rowType, weights, ValueRange{expert, k, n},
                         padding, ArrayRef<bool>{true});
                   };
                   Value both = vector::ShuffleOp::create(
                       nb, l, pairType, readRow(k0), readRow(k1), interleave);
                   packed =
                       vector::TransferWriteOp::create(
                           nb, l, both, packed,
                           ValueRange{p, createIndexConstant(nb, l, 2 * c)},
                           ArrayRef<bool>{true})
                           .getResult();
                 }
                 scf::YieldOp::create(nb, l, packed);
               })
        .getResult(0);
  }

  /// `acc += lhs[rowBase + r, kStart : kStart + 2 * pairs] · B` for the
  /// `length` rows r of `acc` (f32 `[length, cols]`), B the packed pairs:
  /// the rows in register blocks of 8 under an scf.for, then blocks of 4, 2
  /// and 1 under scf.if, as in the f32 path; with `next`, the K loops of the
  /// full blocks prefetch their share of the next weight block.
  Value buildDotRowBlocks(OpBuilder &b, Location loc, Value lhs, Value rowBase,
                          Value kStart, Value pairs, Value packed, Value acc,
                          Value length, int64_t cols,
                          const NextBlockPrefetch *next) const {
    int64_t block = std::max<int64_t>(rowBlock, 1);
    return buildRowBlocks(b, loc, acc, length, block,
                          [&](OpBuilder &nb, Location l, Value current,
                              Value r0, int64_t rows, bool full) {
                            Value index;
                            if (next && full)
                              index = arith::DivUIOp::create(
                                  nb, l, r0, createIndexConstant(nb, l, block));
                            return buildDotKernel(nb, l, lhs, rowBase, kStart,
                                                  pairs, packed, current, r0,
                                                  rows, cols,
                                                  full ? next : nullptr, index);
                          });
  }

  /// `acc` updated by `kernel(b, loc, acc, r0, rows, full)` for all
  /// `length` rows: blocks of `block` rows under an scf.for (`full` true),
  /// then the remainder in blocks of block/2, ..., 1 rows under scf.if
  /// (buildRemainderBlocks, `full` false).
  static Value buildRowBlocks(
      OpBuilder &b, Location loc, Value acc, Value length, int64_t block,
      function_ref<Value(OpBuilder &, Location, Value, Value, int64_t, bool)>
          kernel) {
    Value full = arith::AndIOp::create(
        b, loc, length, createIndexConstant(b, loc, ~(block - 1)));
    acc = scf::ForOp::create(
              b, loc, createIndexConstant(b, loc, 0), full,
              createIndexConstant(b, loc, block), ValueRange{acc},
              [&](OpBuilder &nb, Location l, Value r0, ValueRange iterArgs) {
                scf::YieldOp::create(
                    nb, l, kernel(nb, l, iterArgs[0], r0, block, true));
              })
              .getResult(0);
    return buildRemainderBlocks(b, loc, acc, length, block,
                                [&](OpBuilder &nb, Location l, Value current,
                                    Value offset, int64_t rows) {
                                  return kernel(nb, l, current, offset, rows,
                                                false);
                                });
  }

  /// The last `length % block` rows of `acc` in blocks of block/2, ...,
  /// 1 rows, each under an scf.if on its bit of `length`: `fn(b, loc, acc,
  /// offset, rows)` updates the `rows` rows from `offset` (after the full
  /// blocks and the larger remainder blocks).
  static Value buildRemainderBlocks(
      OpBuilder &b, Location loc, Value acc, Value length, int64_t block,
      function_ref<Value(OpBuilder &, Location, Value, Value, int64_t)> fn) {
    for (int64_t rows = block / 2; rows >= 1; rows /= 2) {
      Value present = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::ne,
          arith::AndIOp::create(b, loc, length,
                                createIndexConstant(b, loc, rows)),
          createIndexConstant(b, loc, 0));
      Value offset = arith::AndIOp::create(
          b, loc, length, createIndexConstant(b, loc, ~int64_t(2 * rows - 1)));
      auto ifOp = scf::IfOp::create(
          b, loc, present,
          [&](OpBuilder &tb, Location tl) {
            scf::YieldOp::create(tb, tl, fn(tb, tl, acc, offset, rows));
          },
          [&](OpBuilder &eb, Location el) {
            scf::YieldOp::create(eb, el, acc);
          });
      acc = ifOp.getResult(0);
    }
    return acc;
  }

  /// The register block of `rows` rows from `r0` x all `cols` columns (in
  /// steps of 32): 2 * rows f32 accumulators of 16 lanes carried through
  /// the K pairs; per pair, two 32-element loads of packed weights, one
  /// broadcast of each row's (bf16, bf16) pair, and 2 * rows vdpbf16ps
  /// (`x86vector.avx512.dot`).
  Value buildDotKernel(OpBuilder &b, Location loc, Value lhs, Value rowBase,
                       Value kStart, Value pairs, Value packed, Value acc,
                       Value r0, int64_t rows, int64_t cols,
                       const NextBlockPrefetch *next, Value block) const {
    Type f32 = b.getF32Type(), bf16 = b.getBF16Type(), i32 = b.getI32Type();
    auto accType = VectorType::get({kDotLanes}, f32);
    auto operandType = VectorType::get({2 * kDotLanes}, bf16);
    Value bf16Zero =
        arith::ConstantOp::create(b, loc, bf16, b.getZeroAttr(bf16));
    // Each row of the block in `acc` and in `lhs`.
    SmallVector<Value> rowIndex, lhsRow;
    for (int64_t r = 0; r < rows; ++r) {
      rowIndex.push_back(b.createOrFold<arith::AddIOp>(
          loc, r0, createIndexConstant(b, loc, r)));
      lhsRow.push_back(
          b.createOrFold<arith::AddIOp>(loc, rowBase, rowIndex.back()));
    }
    for (int64_t c = 0; c < cols; c += kDotColumns) {
      SmallVector<Value> accs = readAccumulators(b, loc, acc, rowIndex, c);
      Value slot = next ? getPrefetchSlot(b, loc, block, c, cols) : Value();
      auto step = [&](OpBuilder &nb, Location l, Value p,
                      ValueRange iterArgs) -> SmallVector<Value> {
        Value k = arith::AddIOp::create(
            nb, l, kStart,
            arith::MulIOp::create(nb, l, p, createIndexConstant(nb, l, 2)));
        SmallVector<Value> weightVectors;
        for (int64_t v = 0; v < kDotVectors; ++v)
          weightVectors.push_back(vector::TransferReadOp::create(
              nb, l, operandType, packed,
              ValueRange{p,
                         createIndexConstant(nb, l, 2 * (c + v * kDotLanes))},
              bf16Zero, ArrayRef<bool>{true}));
        SmallVector<Value> updated;
        for (int64_t r = 0; r < rows; ++r) {
          // The row's pair of K as one 32-bit lane, broadcast.
          Value pair = vector::TransferReadOp::create(
              nb, l, VectorType::get({2}, bf16), lhs, ValueRange{lhsRow[r], k},
              bf16Zero, ArrayRef<bool>{true});
          Value word =
              vector::BitCastOp::create(nb, l, VectorType::get({1}, i32), pair);
          Value splat = vector::BroadcastOp::create(
              nb, l, VectorType::get({kDotLanes}, i32), word);
          Value rowOperand =
              vector::BitCastOp::create(nb, l, operandType, splat);
          for (int64_t v = 0; v < kDotVectors; ++v)
            updated.push_back(x86vector::DotBF16Op::create(
                nb, l, accType, iterArgs[r * kDotVectors + v], rowOperand,
                weightVectors[v]));
        }
        return updated;
      };
      scf::ForOp kLoop = buildKLoop(b, loc, pairs, accs, next, slot,
                                    /*rowsPerStep=*/2, step);
      acc = writeAccumulators(b, loc, kLoop.getResults(), acc, rowIndex, c);
    }
    return acc;
  }

  /// `acc + lhs · rhs` for a segment of `length` rows, split so that the
  /// register tiling sees static row counts: the rows in a multiple of
  /// `rowBlock` (a power of two, the register block of tessera-vectorize),
  /// then, where present, blocks of rowBlock/2, rowBlock/4, ..., 1 rows,
  /// each a matmul with a static row extent under an scf.if. Without this
  /// the last rows of every segment would run as single-row blocks.
  Value buildRowBlockedMatmul(OpBuilder &b, Location loc, Value lhs, Value rhs,
                              Value acc, Value length) const {
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    OpFoldResult depth = tensor::getMixedSize(b, loc, lhs, 1);
    OpFoldResult width = tensor::getMixedSize(b, loc, acc, 1);
    auto rowsMatmul = [&](OpBuilder &nb, Location l, Value acc, Value offset,
                          OpFoldResult rows) -> Value {
      Value a = tensor::ExtractSliceOp::create(nb, l, lhs, {offset, zero},
                                               {rows, depth}, {one, one});
      Value c = tensor::ExtractSliceOp::create(nb, l, acc, {offset, zero},
                                               {rows, width}, {one, one});
      Value product = linalg::MatmulOp::create(
                          nb, l, c.getType(), ValueRange{a, rhs}, ValueRange{c})
                          .getResult(0);
      return tensor::InsertSliceOp::create(nb, l, product, acc, {offset, zero},
                                           {rows, width}, {one, one});
    };
    Value full = arith::AndIOp::create(
        b, loc, length, createIndexConstant(b, loc, ~(rowBlock - 1)));
    acc = rowsMatmul(b, loc, acc, createIndexConstant(b, loc, 0), full);
    return buildRemainderBlocks(b, loc, acc, length, rowBlock,
                                [&](OpBuilder &nb, Location l, Value current,
                                    Value offset, int64_t rows) {
                                  return rowsMatmul(nb, l, current, offset,
                                                    nb.getIndexAttr(rows));
                                });
  }

  /// The epilogue of the accumulators, times the row's `scale` (a
  /// `[rows]` f32 tensor) when there is one, rounded to the element type of
  /// `init` and written into it:
  /// `silu(gate) * up` with SwiGLU (`silu(x) = x / (1 + exp(-x))`, as in the
  /// reference lowering), else the accumulator itself.
  static Value buildEpilogue(OpBuilder &b, Location loc, ValueRange accs,
                             Value scale, Value init) {
    MLIRContext *ctx = b.getContext();
    Type elementType = cast<RankedTensorType>(init.getType()).getElementType();
    AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
    SmallVector<Value> inputs(accs);
    SmallVector<AffineMap> maps(accs.size(), id);
    if (scale) {
      inputs.push_back(scale);
      maps.push_back(AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx));
    }
    maps.push_back(id);
    SmallVector<utils::IteratorType> iterators(2,
                                               utils::IteratorType::parallel);
    return linalg::GenericOp::create(
               b, loc, init.getType(), inputs, init, maps, iterators,
               [&](OpBuilder &nb, Location l, ValueRange args) {
                 Value result = args[0];
                 if (accs.size() == 2) {
                   Value gate = args[0], up = args[1];
                   Value one = createF32Constant(nb, l, 1.0f);
                   Value negExp = math::ExpOp::create(
                       nb, l, arith::NegFOp::create(nb, l, gate));
                   Value silu = arith::DivFOp::create(
                       nb, l, gate, arith::AddFOp::create(nb, l, one, negExp));
                   result = arith::MulFOp::create(nb, l, silu, up);
                 }
                 if (scale)
                   result =
                       arith::MulFOp::create(nb, l, result, args[accs.size()]);
                 linalg::YieldOp::create(
                     nb, l, truncateFromF32(nb, l, elementType, result));
               })
        .getResult(0);
  }

  int64_t columnBlock, kBlock, rowBlock;
  bool bf16Dot, prefetch;
};

} // namespace

void mlir::tessera::populateTesseraTileGroupedMatmulPatterns(
    RewritePatternSet &patterns, int64_t columnBlock, int64_t kBlock,
    int64_t rowBlock, bool bf16Dot, bool prefetch) {
  patterns.add<TileGroupedMatmul>(patterns.getContext(), columnBlock, kBlock,
                                  rowBlock, bf16Dot, prefetch);
}

namespace {
struct TesseraTileGroupedMatmulPass
    : public tessera::impl::TesseraTileGroupedMatmulBase<
          TesseraTileGroupedMatmulPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(
            checkPositiveOptions(getOperation(), {{"column-block", columnBlock},
                                                  {"k-block", kBlock},
                                                  {"row-block", rowBlock}})))
      return signalPassFailure();
    if (!llvm::isPowerOf2_64(rowBlock)) {
      emitError(getOperation()->getLoc())
          << "'row-block' must be a power of two, got "
          << static_cast<int64_t>(rowBlock);
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    populateTesseraTileGroupedMatmulPatterns(patterns, columnBlock, kBlock,
                                             rowBlock, bf16Dot, prefetch);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
