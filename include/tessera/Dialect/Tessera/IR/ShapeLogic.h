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
#include "llvm/Support/MathExtras.h"

#include <cstdint>
#include <limits>
#include <optional>

namespace mlir {
namespace tessera {

/// True when two dimensions may be equal at run time: both static and equal,
/// or at least one dynamic.
inline bool areDimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// The most rows a dispatch may have: its `offsets` and `perm` are i32.
inline constexpr int64_t kMaxDispatchRows = std::numeric_limits<int32_t>::max();

/// Number of rows of a dispatch of `numTokens * topK` pairs over `numExperts`
/// experts with segments padded to `block` (all positive): `T*k` when
/// block == 1, else the static bound `T*k + E*(block-1)`. Dynamic when
/// `numTokens` or `topK` is dynamic; std::nullopt when the bound exceeds
/// kMaxDispatchRows (the i32 offsets could not index the rows).
inline std::optional<int64_t> dispatchRowBound(int64_t numTokens, int64_t topK,
                                               int64_t numExperts,
                                               int64_t block) {
  if (ShapedType::isDynamic(numTokens) || ShapedType::isDynamic(topK))
    return ShapedType::kDynamic;
  int64_t rows, padding = 0;
  if (llvm::MulOverflow(numTokens, topK, rows))
    return std::nullopt;
  if (block != 1 && (ShapedType::isDynamic(numExperts) ||
                     llvm::MulOverflow(numExperts, block - 1, padding)))
    return std::nullopt;
  if (llvm::AddOverflow(rows, padding, rows) || rows > kMaxDispatchRows)
    return std::nullopt;
  return rows;
}

/// Formats a shape such as `[B, ?, 16]`-style text for diagnostics:
/// `[2, ?, 16]`.
std::string formatShape(ArrayRef<int64_t> shape);

} // namespace tessera
} // namespace mlir

#endif // TESSERA_DIALECT_TESSERA_IR_SHAPELOGIC_H
