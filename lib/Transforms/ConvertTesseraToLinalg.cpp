//===- ConvertTesseraToLinalg.cpp - Reference lowering of tessera ---------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The pass wrapper of the reference lowering: decomposes tessera.moe, then
// lowers every remaining tessera op with the attention and MoE patterns. Any
// tessera op left afterwards is an error.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/TesseraDialect.h"
#include "tessera/Dialect/Tessera/IR/TesseraOps.h"
#include "tessera/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace tessera {
#define GEN_PASS_DEF_CONVERTTESSERATOLINALG
#include "tessera/Transforms/Passes.h.inc"
} // namespace tessera
} // namespace mlir

#define DEBUG_TYPE "convert-tessera-to-linalg"

using namespace mlir;
using namespace mlir::tessera;

namespace {
struct ConvertTesseraToLinalgPass
    : public tessera::impl::ConvertTesseraToLinalgBase<
          ConvertTesseraToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateTesseraDecomposeMoEPatterns(patterns);
    populateTesseraAttentionToLinalgPatterns(patterns);
    populateTesseraMoEToLinalgPatterns(patterns);
    // Folding is disabled so that the lowering stays literal; canonicalize
    // afterwards to clean up.
    GreedyRewriteConfig config;
    config.enableFolding(false);
    if (failed(
            applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      return signalPassFailure();

    auto *dialect = getContext().getLoadedDialect<TesseraDialect>();
    WalkResult result = getOperation()->walk([&](Operation *op) {
      if (op->getDialect() != dialect)
        return WalkResult::advance();
      if (auto moe = dyn_cast<MoEOp>(op))
        emitNotDecomposableError(moe);
      else
        op->emitOpError("was not lowered to linalg");
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
