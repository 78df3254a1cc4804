//===- AttentionToLinalg.cpp - Reference lowering of attention ops --------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/TesseraOps.h"
#include "tessera/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::tessera;

void mlir::tessera::populateTesseraAttentionToLinalgPatterns(
    RewritePatternSet &patterns) {
  // TODO: filled in by the attention lowering.
}
