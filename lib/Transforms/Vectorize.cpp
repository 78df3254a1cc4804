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

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
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

/// The register-block tile size of each loop of `op` (a loop whose static
/// extent is smaller is not tiled).
SmallVector<int64_t> computeTileSizes(linalg::LinalgOp op,
                                      const BlockSizes &block) {
  unsigned numLoops = op.getNumLoops();
  SmallVector<int64_t> sizes(numLoops, 1);
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::isaContractionOpInterface(op)
          ? linalg::inferContractionDims(op)
          : FailureOr<linalg::ContractionDimensions>(failure());
  if (succeeded(dims) && !dims->m.empty() && !dims->n.empty()) {
    sizes[dims->m.back()] = block.rows;
    sizes[dims->n.back()] = block.vectors * block.lanes;
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
                   ArrayRef<int64_t> tileSizes) {
  if (op.hasDynamicShape())
    return;
  for (auto [size, range] : llvm::zip(tileSizes, op.getStaticLoopRanges()))
    if (range > size)
      return;
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
          int64_t block = computeTileSizes(op, blockSizes)[dim];
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
      vectorizeTile(rewriter, op, computeTileSizes(op, blockSizes));
  }
};

} // namespace
