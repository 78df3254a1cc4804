//===- Vectorize.cpp - Register tiling and vectorization of linalg --------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Tiles every vectorizable linalg op on tensors to register-sized blocks and
// vectorizes the blocks (see the pass description in Passes.td):
//
//   contraction  (m, n, k, batch dims)  ->  tiles m x n = rows x (vecs * lanes)
//                                           and k = 1: vector.contract blocks
//   anything else                        ->  the innermost loop in `lanes`
//                                           steps, the other loops by 1
//
// The tile loops are peeled: full tiles have static shapes and are vectorized;
// the ragged remainders are left to the scalar loop lowering.
//
//===----------------------------------------------------------------------===//

#include "tessera/Transforms/Passes.h"

#include "LoweringUtils.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace tessera {
#define GEN_PASS_DEF_TESSERAVECTORIZE
#include "tessera/Transforms/Passes.h.inc"
} // namespace tessera
} // namespace mlir

#define DEBUG_TYPE "tessera-vectorize"

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// Register blocking of the pass.
struct BlockSizes {
  int64_t lanes;
  int64_t rows;
  int64_t vectors;
};

/// Whether the vectorizer can handle `op`: tensor semantics, indexing maps
/// that are projected permutations, and a body of arith/math scalar ops
/// (plus linalg.index, affine.apply of indices, and the yield).
bool isVectorizable(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumLoops() == 0)
    return false;
  // An empty iteration space (folded from an empty segment or block) has
  // nothing to tile, and tiling would divide by its extent.
  if (llvm::is_contained(op.getStaticLoopRanges(), 0))
    return false;
  if (!llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isProjectedPermutation(); }))
    return false;
  for (Operation &inner : op.getBlock()->getOperations()) {
    if (isa<linalg::YieldOp, linalg::IndexOp>(inner))
      continue;
    Dialect *dialect = inner.getDialect();
    if ((!isa<affine::AffineApplyOp>(inner) &&
         !isa_and_nonnull<arith::ArithDialect, math::MathDialect>(dialect)) ||
        inner.getNumRegions() != 0)
      return false;
  }
  return true;
}

/// Whether an input of `op` (2 or more loops) is read transposed in its
/// last two loops: its innermost dimension follows the second-innermost
/// loop while the innermost loop indexes an outer dimension, as in
/// `linalg.transpose` or the K^T tile of attention.
bool hasTransposedInput(linalg::LinalgOp op) {
  unsigned numLoops = op.getNumLoops();
  if (numLoops < 2)
    return false;
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    if (map.getNumResults() < 2)
      continue;
    std::optional<unsigned> inner =
        map.getResultPosition(getAffineDimExpr(numLoops - 1, op.getContext()));
    if (map.getResult(map.getNumResults() - 1) ==
            getAffineDimExpr(numLoops - 2, op.getContext()) &&
        inner && *inner < map.getNumResults() - 1)
      return true;
  }
  return false;
}

/// Strips an arith.extf off `value`.
Value stripExtension(Value value) {
  if (auto ext = value.getDefiningOp<arith::ExtFOp>())
    return ext.getIn();
  return value;
}

/// Whether `op` is C[i, j] += A[i, d] * B[j, d] on 2-d operands, with loops
/// (i, j, d), an f32 result and inputs used as they are or through
/// arith.extf: a block of dot products along the innermost dimension of both
/// inputs (attention's q · kᵀ in decode, with K rows as stored).
bool isDotProductContraction(linalg::LinalgOp op) {
  if (op.getNumLoops() != 3 || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !op.hasPureTensorSemantics())
    return false;
  SmallVector<AffineMap> expected = getDotProductMaps(op.getContext());
  if (op.getIndexingMapsArray() != ArrayRef<AffineMap>(expected) ||
      op.getIteratorTypesArray() !=
          ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                        utils::IteratorType::parallel,
                                        utils::IteratorType::reduction})
    return false;
  if (!getElementTypeOrSelf(op.getDpsInits()[0].getType()).isF32())
    return false;
  // yield (out + a * b), a and b the input elements or their extensions.
  Block *body = op.getBlock();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value out = body->getArgument(2);
  Value product = add.getLhs() == out   ? add.getRhs()
                  : add.getRhs() == out ? add.getLhs()
                                        : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul)
    return false;
  Value lhs = stripExtension(mul.getLhs()), rhs = stripExtension(mul.getRhs());
  Value a = body->getArgument(0), b = body->getArgument(1);
  if (!((lhs == a && rhs == b) || (lhs == b && rhs == a)))
    return false;
  // Nothing else in the body: the add, the mul, the extensions, the yield.
  return llvm::all_of(body->getOperations(), [](Operation &inner) {
    return isa<arith::AddFOp, arith::MulFOp, arith::ExtFOp, linalg::YieldOp>(
        inner);
  });
}

/// `index` with its lowest `bits` bits reversed.
int64_t reverseBits(int64_t index, unsigned bits) {
  int64_t reversed = 0;
  for (unsigned bit = 0; bit < bits; ++bit)
    if (index & (int64_t(1) << bit))
      reversed |= int64_t(1) << (bits - 1 - bit);
  return reversed;
}

/// One level of the transposing reduction tree: lanes of `lhs` and `rhs` in
/// groups of 2 * half; each group of the result is the sum of the group's
/// halves of `lhs`, then that of `rhs`.
Value combineHalves(OpBuilder &b, Location loc, Value lhs, Value rhs,
                    int64_t half) {
  int64_t lanes = cast<VectorType>(lhs.getType()).getNumElements();
  SmallVector<int64_t> low, high;
  for (int64_t base = 0; base < lanes; base += 2 * half) {
    for (int64_t t = 0; t < half; ++t) {
      low.push_back(base + t);
      high.push_back(base + half + t);
    }
    for (int64_t t = 0; t < half; ++t) {
      low.push_back(lanes + base + t);
      high.push_back(lanes + base + half + t);
    }
  }
  Value first = vector::ShuffleOp::create(b, loc, lhs, rhs, low);
  Value second = vector::ShuffleOp::create(b, loc, lhs, rhs, high);
  return arith::AddFOp::create(b, loc, first, second);
}

/// Vectorizes a full tile of a dot-product contraction: m rows i, n
/// columns j and a static reduction of whole vectors, within a register
/// block of lanes / `blockColumns` rows and `blockColumns` columns (one slot
/// per lane). One accumulator vector per (i, j), FMAs of the row chunk of each
/// row of A with the same chunk of each row of B (read as stored, once per
/// tile), then a reduction tree that transposes as it adds, log2(lanes)
/// levels of two shuffles and an add per pair, leaving the m x n dot
/// products in one vector: slot i * blockColumns + j holds (i, j). The
/// accumulators enter the tree in bit-reversed slot order so that the sums
/// leave it in slot order.
void vectorizeDotProductTile(RewriterBase &rewriter, linalg::LinalgOp op,
                             int64_t lanes, int64_t blockColumns) {
  Location loc = op.getLoc();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t rows = ranges[0], columns = ranges[1], depth = ranges[2];
  Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1];
  Value init = op.getDpsInits()[0];
  Type f32 = rewriter.getF32Type();
  auto f32Vector = VectorType::get({lanes}, f32);

  rewriter.setInsertionPoint(op);
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value zeroVector = arith::ConstantOp::create(
      rewriter, loc, f32Vector, DenseElementsAttr::get(f32Vector, 0.0f));
  // A row chunk [row, d : d + lanes] of `source`, as f32.
  auto readChunk = [&](OpBuilder &b, Location l, Value source, int64_t row,
                       Value d) -> Value {
    Type element = getElementTypeOrSelf(source.getType());
    Value padding = arith::ConstantOp::create(b, l, b.getZeroAttr(element));
    Value rowIndex = arith::ConstantIndexOp::create(b, l, row);
    Value chunk = vector::TransferReadOp::create(
        b, l, VectorType::get({lanes}, element), source,
        ValueRange{rowIndex, d}, padding, ArrayRef<bool>{true});
    if (element != f32)
      chunk = arith::ExtFOp::create(b, l, f32Vector, chunk);
    return chunk;
  };
  // Accumulator (i, j) is number i * columns + j.
  SmallVector<Value> zeros(rows * columns, zeroVector);
  auto loop = scf::ForOp::create(
      rewriter, loc, zero, arith::ConstantIndexOp::create(rewriter, loc, depth),
      arith::ConstantIndexOp::create(rewriter, loc, lanes), zeros,
      [&](OpBuilder &b, Location l, Value d, ValueRange accumulators) {
        SmallVector<Value> lhsChunks;
        for (int64_t i = 0; i < rows; ++i)
          lhsChunks.push_back(readChunk(b, l, lhs, i, d));
        SmallVector<Value> next(accumulators);
        for (int64_t j = 0; j < columns; ++j) {
          Value rhsChunk = readChunk(b, l, rhs, j, d);
          for (int64_t i = 0; i < rows; ++i)
            next[i * columns + j] = vector::FMAOp::create(
                b, l, lhsChunks[i], rhsChunk, accumulators[i * columns + j]);
        }
        scf::YieldOp::create(b, l, next);
      });

  unsigned bits = llvm::Log2_64(lanes);
  SmallVector<Value> level;
  for (int64_t index = 0; index < lanes; ++index) {
    int64_t slot = reverseBits(index, bits);
    int64_t i = slot / blockColumns, j = slot % blockColumns;
    level.push_back(i < rows && j < columns ? loop.getResult(i * columns + j)
                                            : zeroVector);
  }
  for (int64_t half = lanes / 2; half >= 1; half /= 2) {
    SmallVector<Value> next;
    for (size_t pair = 0; pair + 1 < level.size(); pair += 2)
      next.push_back(
          combineHalves(rewriter, loc, level[pair], level[pair + 1], half));
    level = std::move(next);
  }
  Value sums = vector::ShapeCastOp::create(
      rewriter, loc, VectorType::get({lanes / blockColumns, blockColumns}, f32),
      level.front());
  auto resultVector = VectorType::get({rows, columns}, f32);
  if (resultVector != sums.getType())
    sums = vector::ExtractStridedSliceOp::create(
        rewriter, loc, sums, /*offsets=*/ArrayRef<int64_t>{0, 0},
        /*sizes=*/ArrayRef<int64_t>{rows, columns},
        /*strides=*/ArrayRef<int64_t>{1, 1});
  Value padding =
      arith::ConstantOp::create(rewriter, loc, rewriter.getZeroAttr(f32));
  Value old = vector::TransferReadOp::create(rewriter, loc, resultVector, init,
                                             ValueRange{zero, zero}, padding,
                                             ArrayRef<bool>{true, true});
  Value updated = arith::AddFOp::create(rewriter, loc, old, sums);
  Value written = vector::TransferWriteOp::create(rewriter, loc, updated, init,
                                                  ValueRange{zero, zero},
                                                  ArrayRef<bool>{true, true})
                      .getResult();
  rewriter.replaceOp(op, written);
}

/// Whether the dot-product kernel applies to `op` with `lanes` lanes: a
/// power-of-two lane count and a static reduction of whole vectors.
bool isDotProductCandidate(linalg::LinalgOp op, int64_t lanes) {
  if (!llvm::isPowerOf2_64(lanes) || !isDotProductContraction(op))
    return false;
  int64_t depth = op.getStaticLoopRanges()[2];
  return !ShapedType::isDynamic(depth) && depth % lanes == 0;
}

/// The columns of a dot-product register block of `rows` rows: one slot per
/// lane, rows rounded up to a power of two.
int64_t getDotProductColumns(int64_t rows, int64_t lanes) {
  return lanes /
         static_cast<int64_t>(llvm::bit_ceil(static_cast<uint64_t>(rows)));
}

/// The register-block tile size of each loop of `op` (a loop whose static
/// extent is smaller is not tiled).
SmallVector<int64_t> computeTileSizes(linalg::LinalgOp op,
                                      const BlockSizes &block) {
  unsigned numLoops = op.getNumLoops();
  SmallVector<int64_t> sizes(numLoops, 1);
  if (isDotProductCandidate(op, block.lanes)) {
    // All the rows when they are static and fit in the lanes (each row of
    // B is then read once: in decode, the K rows shared by the query heads
    // of a KV head), as many columns as fill the lanes, the whole reduction.
    int64_t rows = op.getStaticLoopRanges()[0];
    if (ShapedType::isDynamic(rows) || rows > block.lanes)
      rows = 1;
    sizes[0] = std::max<int64_t>(rows, 1);
    sizes[1] = getDotProductColumns(sizes[0], block.lanes);
    sizes[2] = op.getStaticLoopRanges()[2];
    return sizes;
  }
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::isaContractionOpInterface(op)
          ? linalg::inferContractionDims(op)
          : FailureOr<linalg::ContractionDimensions>(failure());
  if (succeeded(dims) && !dims->m.empty() && !dims->n.empty()) {
    // An output with fewer rows than the register block (the query heads of
    // one KV head in decode attention) gets blocks as wide as its rows, up
    // to the same number of accumulators: each row of the other operand is
    // then read whole and in order, which keeps the hardware prefetcher
    // ahead where that operand streams from memory.
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    int64_t rows = block.rows, vectors = block.vectors;
    int64_t mRange = ranges[dims->m.back()], nRange = ranges[dims->n.back()];
    if (!ShapedType::isDynamic(mRange) && mRange < rows &&
        !ShapedType::isDynamic(nRange)) {
      int64_t accumulators = rows * vectors;
      int64_t rowVectors = static_cast<int64_t>(llvm::bit_ceil(
          static_cast<uint64_t>(llvm::divideCeil(nRange, block.lanes))));
      vectors = std::clamp<int64_t>(rowVectors, block.vectors, accumulators);
      rows = std::clamp<int64_t>(accumulators / vectors, 1, mRange);
    }
    sizes[dims->m.back()] = rows;
    sizes[dims->n.back()] = vectors * block.lanes;
  } else if (hasTransposedInput(op)) {
    // lanes x lanes blocks: rows of the input are read contiguously and
    // turned by a vector.transpose (register shuffles), where tiles along
    // the innermost loop alone would gather a strided column per vector.
    sizes[numLoops - 2] = block.lanes;
    sizes.back() = block.lanes;
  } else {
    sizes.back() = block.lanes;
  }
  return sizes;
}

/// The discardable attribute that carries an op's register block through
/// the tiling: the tiles of an op (its peeled remainders included) keep the
/// block chosen for the whole op, which may differ from the one their own
/// smaller shapes would get.
constexpr StringLiteral kBlockAttrName = "tessera.register_block";

/// The register block of `op`: the one recorded on it, else computed.
SmallVector<int64_t> getTileSizes(linalg::LinalgOp op,
                                  const BlockSizes &block) {
  if (auto recorded = op->getAttrOfType<DenseI64ArrayAttr>(kBlockAttrName);
      recorded && recorded.size() == static_cast<int64_t>(op.getNumLoops()))
    return SmallVector<int64_t>(recorded.asArrayRef());
  return computeTileSizes(op, block);
}

/// Whether loop extent `range` of a tile whose register block along that
/// loop is `block` needs no further splitting: the block itself, or a
/// static power of two no larger than it (a vector length the target
/// handles natively).
bool isSettledExtent(int64_t range, int64_t block) {
  return !ShapedType::isDynamic(range) && range <= block &&
         (range == block || llvm::isPowerOf2_64(range));
}

/// The tile size of level `level` of the remainder ladder of a loop whose
/// register block is `block`: the block, then the powers of two below it,
/// largest first (0 past 1).
int64_t getLadderSize(int64_t block, unsigned level) {
  if (level == 0)
    return block;
  int64_t power = llvm::bit_floor(static_cast<uint64_t>(block));
  if (power == block)
    return level < 63 ? block >> level : 0;
  return level - 1 < 63 ? power >> (level - 1) : 0;
}

/// Tiles loop `dim` of `op` by `size` (an scf.for) and peels the last,
/// partial iteration off the tile loop, so that the main loop holds tiles of
/// the exact (static) size and only the peeled remainder is ragged. A loop
/// whose static extent fits in one tile is left alone.
void tileAndPeel(RewriterBase &rewriter, linalg::LinalgOp op, unsigned dim,
                 int64_t size) {
  int64_t range = op.getStaticLoopRanges()[dim];
  if (!ShapedType::isDynamic(range) && size >= range)
    return;
  // The tiling models are external (linalg::registerTilingInterface...).
  auto tilable = dyn_cast<TilingInterface>(op.getOperation());
  if (!tilable)
    return;
  SmallVector<OpFoldResult> sizes(op.getNumLoops(), rewriter.getIndexAttr(0));
  sizes[dim] = rewriter.getIndexAttr(size);
  rewriter.setInsertionPoint(op);
  scf::SCFTilingOptions options;
  options.setTileSizes(sizes);
  FailureOr<scf::SCFTilingResult> result =
      scf::tileUsingSCF(rewriter, tilable, options);
  if (failed(result))
    return;
  rewriter.replaceOp(op, result->replacements);
  if (size == 1)
    return;
  for (LoopLikeOpInterface loop : result->loops) {
    scf::ForOp partialIteration;
    if (auto forOp = dyn_cast<scf::ForOp>(loop.getOperation()))
      (void)scf::peelForLoopAndSimplifyBounds(rewriter, forOp,
                                              partialIteration);
  }
}

/// Vectorizes `op` if it is a full register tile: static shapes no larger
/// than the register block. Ragged remainders stay scalar.
void vectorizeTile(RewriterBase &rewriter, linalg::LinalgOp op,
                   ArrayRef<int64_t> tileSizes, int64_t lanes) {
  if (op.hasDynamicShape())
    return;
  for (auto [size, range] : llvm::zip(tileSizes, op.getStaticLoopRanges()))
    if (range > size)
      return;
  if (isDotProductCandidate(op, lanes) &&
      tileSizes[1] == getDotProductColumns(tileSizes[0], lanes)) {
    vectorizeDotProductTile(rewriter, op, lanes, tileSizes[1]);
    return;
  }
  if (failed(linalg::vectorizeOpPrecondition(op)))
    return;
  // vector.contract needs equal operand element types; mixed-precision
  // contractions go through the generic (multi_reduction) form.
  bool sameInputTypes = llvm::all_equal(
      llvm::map_range(op.getDpsInputOperands(), [](OpOperand *operand) {
        return getElementTypeOrSelf(operand->get().getType());
      }));
  rewriter.setInsertionPoint(op);
  FailureOr<linalg::VectorizationResult> vectorized =
      linalg::vectorize(rewriter, op, /*inputVectorSizes=*/{},
                        /*inputScalableVecDims=*/{},
                        /*vectorizeNDExtract=*/false,
                        /*flatten1DDepthwiseConv=*/false,
                        /*assumeDynamicDimsMatchVecSizes=*/false,
                        /*createNamedContraction=*/sameInputTypes);
  if (succeeded(vectorized))
    rewriter.replaceOp(op, vectorized->replacements);
}

/// Canonicalizes `root` so that peeled tiles get static tensor types.
LogicalResult canonicalize(Operation *root) {
  MLIRContext *ctx = root->getContext();
  RewritePatternSet patterns(ctx);
  for (Dialect *dialect : ctx->getLoadedDialects())
    dialect->getCanonicalizationPatterns(patterns);
  for (RegisteredOperationName op : ctx->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, ctx);
  return applyPatternsGreedily(root, std::move(patterns));
}

struct TesseraVectorizePass
    : public tessera::impl::TesseraVectorizeBase<TesseraVectorizePass> {
  using Base::Base;

  BlockSizes blockSizes;

  void runOnOperation() override {
    if (vectorWidth <= 0 || registerRows <= 0 || registerVectors <= 0) {
      getOperation().emitError()
          << "tessera-vectorize: 'vector-width', 'register-rows' and "
             "'register-vectors' must be positive";
      return signalPassFailure();
    }
    blockSizes = BlockSizes{vectorWidth, registerRows, registerVectors};

    // 1. Tile every vectorizable op to register blocks, one loop at a time
    //    from the outermost. Along each loop, tiles of the register block B
    //    come first, then the remainder is tiled by B/2, B/4, ..., 1 (each
    //    level peeled, and the peeled bounds folded into static shapes by
    //    canonicalization), until every tile extent is a power of two no
    //    larger than B: 60 columns become 32 + 16 + 8 + 4, all vectorized,
    //    none scalar or of an odd vector length. A dynamic remainder is
    //    split into single elements at once: the last rows of a segment
    //    become single-row blocks, each with the whole reduction loop inside.
    IRRewriter rewriter(&getContext());
    getOperation().walk([&](linalg::LinalgOp op) {
      if (isVectorizable(op))
        op->setAttr(kBlockAttrName, rewriter.getDenseI64ArrayAttr(
                                        computeTileSizes(op, blockSizes)));
    });
    auto collect = [&](unsigned dim) {
      SmallVector<linalg::LinalgOp> ops;
      getOperation().walk([&](linalg::LinalgOp op) {
        if (isVectorizable(op) && op.getNumLoops() > dim)
          ops.push_back(op);
      });
      return ops;
    };
    for (unsigned dim = 0;; ++dim) {
      if (collect(dim).empty())
        break;
      for (unsigned level = 0;; ++level) {
        bool tiled = false, deeper = false;
        for (linalg::LinalgOp op : collect(dim)) {
          int64_t block = getTileSizes(op, blockSizes)[dim];
          int64_t range = op.getStaticLoopRanges()[dim];
          int64_t size = getLadderSize(block, level);
          // A dynamic remainder goes straight to single elements: the
          // peeled bounds of a dynamic remainder do not fold to static tile
          // shapes, and one variant is cheaper to compile than log2(block).
          if (level > 0 && ShapedType::isDynamic(range))
            size = 1;
          if (size == 0 || isSettledExtent(range, block))
            continue;
          deeper |= size > 1;
          if (ShapedType::isDynamic(range) || range > size) {
            tileAndPeel(rewriter, op, dim, size);
            tiled = true;
          }
        }
        if (tiled && failed(canonicalize(getOperation())))
          return signalPassFailure();
        if (!deeper)
          break;
      }
    }

    // 2. Vectorize the full tiles.
    SmallVector<linalg::LinalgOp> candidates;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (isVectorizable(op))
        candidates.push_back(op);
    });
    for (linalg::LinalgOp op : candidates)
      vectorizeTile(rewriter, op, getTileSizes(op, blockSizes),
                    blockSizes.lanes);
    getOperation().walk(
        [](linalg::LinalgOp op) { op->removeAttr(kBlockAttrName); });
  }
};

} // namespace
