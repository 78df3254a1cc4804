//===- ApproximateMath.cpp - Vector polynomial approximations -------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Rewrites f32 vector math (exp, exp2, log, log2, tanh) into the upstream
// polynomial approximations. LLVM would otherwise scalarize each vector
// math intrinsic into one libm call per lane, which dominates softmax and
// SwiGLU time. exp2 is first expanded into exp of a scaled argument.
//
//===----------------------------------------------------------------------===//

#include "tessera/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace tessera {
#define GEN_PASS_DEF_TESSERAAPPROXIMATEMATH
#include "tessera/Transforms/Passes.h.inc"
} // namespace tessera
} // namespace mlir

#define DEBUG_TYPE "tessera-approximate-math"

using namespace mlir;

namespace {

/// The math functions this pass approximates (exp2 is expanded into exp).
bool isApproximated(StringRef name) {
  return llvm::is_contained({"math.exp", "math.log", "math.log2", "math.tanh"},
                            name);
}

struct TesseraApproximateMathPass
    : public tessera::impl::TesseraApproximateMathBase<
          TesseraApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    math::populateExpansionPatterns(patterns, {"exp2"});
    populateMathPolynomialApproximationPatterns(patterns, isApproximated);
    // Only vectors: the walk below restricts the rewrite to ops whose
    // result is a vector, leaving scalar math to libm.
    SmallVector<Operation *> vectorMath;
    getOperation().walk([&](Operation *op) {
      if (isa_and_nonnull<math::MathDialect>(op->getDialect()) &&
          op->getNumResults() == 1 && isa<VectorType>(op->getResultTypes()[0]))
        vectorMath.push_back(op);
    });
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
    if (failed(
            applyOpPatternsGreedily(vectorMath, std::move(patterns), config)))
      return signalPassFailure();
  }
};

} // namespace
