//===- ShapeLogic.h - Shape rules shared by verifiers and passes -*- C++
//-*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The pure shape arithmetic behind the tessera ops: dimension compatibility
// and the static row bound of a dispatch. Kept free of IR so that verifiers,
// passes and unit tests share one definition.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_DIALECT_TESSERA_IR_SHAPELOGIC_H
#define TESSERA_DIALECT_TESSERA_IR_SHAPELOGIC_H

#include "mlir/IR/BuiltinTypes.h"

#include <cstdint>
#include <optional>

namespace mlir {
namespace tessera {

/// True when two dimensions may be equal at run time: both static and equal,
/// or at least one dynamic.
inline bool areDimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// Number of rows of a dispatch of `numTokens * topK` pairs over `numExperts`
/// experts with segments padded to `block`: `T*k` when block == 1, else the
/// static bound `T*k + E*(block-1)`. Dynamic when `numTokens` is dynamic.
inline int64_t dispatchRowBound(int64_t numTokens, int64_t topK,
                                int64_t numExperts, int64_t block) {
  if (ShapedType::isDynamic(numTokens) || ShapedType::isDynamic(topK))
    return ShapedType::kDynamic;
  int64_t pairs = numTokens * topK;
  return block == 1 ? pairs : pairs + numExperts * (block - 1);
}

/// Formats a shape such as `[B, ?, 16]`-style text for diagnostics:
/// `[2, ?, 16]`.
std::string formatShape(ArrayRef<int64_t> shape);

} // namespace tessera
} // namespace mlir

#endif // TESSERA_DIALECT_TESSERA_IR_SHAPELOGIC_H
