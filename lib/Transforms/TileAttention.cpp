//===- TileAttention.cpp - Flash-attention tiling -------------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/TesseraOps.h"
#include "tessera/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace tessera {
#define GEN_PASS_DEF_TESSERATILEATTENTION
#include "tessera/Transforms/Passes.h.inc"
} // namespace tessera
} // namespace mlir

#define DEBUG_TYPE "tessera-tile-attention"

using namespace mlir;
using namespace mlir::tessera;

void mlir::tessera::populateTesseraTileAttentionPatterns(
    RewritePatternSet &patterns, int64_t queryBlock, int64_t kvBlock) {
  // TODO: the flash-attention patterns.
}

namespace {
struct TesseraTileAttentionPass
    : public tessera::impl::TesseraTileAttentionBase<TesseraTileAttentionPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateTesseraTileAttentionPatterns(patterns, queryBlock, kvBlock);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
