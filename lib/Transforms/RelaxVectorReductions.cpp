//===- RelaxVectorReductions.cpp - No-NaN max/min vector reductions -------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Marks maxnumf/minnumf vector reductions `nnan` so that LLVM lowers them to
// vector max/min trees rather than scalar NaN-aware chains.
//
//===----------------------------------------------------------------------===//

#include "tessera/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir {
namespace tessera {
#define GEN_PASS_DEF_TESSERARELAXVECTORREDUCTIONS
#include "tessera/Transforms/Passes.h.inc"
} // namespace tessera
} // namespace mlir

#define DEBUG_TYPE "tessera-relax-vector-reductions"

using namespace mlir;

namespace {
struct TesseraRelaxVectorReductionsPass
    : public tessera::impl::TesseraRelaxVectorReductionsBase<
          TesseraRelaxVectorReductionsPass> {
  void runOnOperation() override {
    getOperation().walk([](vector::ReductionOp op) {
      vector::CombiningKind kind = op.getKind();
      if (kind != vector::CombiningKind::MAXNUMF &&
          kind != vector::CombiningKind::MINNUMF)
        return;
      op.setFastmath(op.getFastmath() | arith::FastMathFlags::nnan);
    });
  }
};
} // namespace
