//===- RuntimeShapeChecks.h - Shape rules left to run time ------*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// A verifier decides every shape rule of a tessera op whose dimensions are
// static. Where a dimension is dynamic (`?`), the rule can only be checked
// when the function runs: an attention whose `k` has batch `?` must still get
// the batch of `q`, or the lowered loops read past the end of `k`. The
// verifiers record those rules as RuntimeShapeChecks, and
// `tessera-shape-checks` turns them into a function that the caller runs
// before the entry.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_DIALECT_TESSERA_IR_RUNTIMESHAPECHECKS_H
#define TESSERA_DIALECT_TESSERA_IR_RUNTIMESHAPECHECKS_H

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <string>

namespace mlir {
namespace tessera {

/// Dimension `dim` of the ranked tensor `value`, an operand of the op.
struct DimRef {
  Value value;
  unsigned dim = 0;
};

/// `coefficient` times the product of `factors` (none: a constant).
struct ShapeTerm {
  int64_t coefficient = 1;
  llvm::SmallVector<DimRef, 2> factors;
};

/// One rule over operand dimensions, at least one of them dynamic.
struct RuntimeShapeCheck {
  enum class Kind {
    /// The sum of `terms` is 0.
    Zero,
    /// The sum of `terms` is >= 0.
    NonNegative,
    /// The single term `terms[1]` is > 0 and divides the single term
    /// `terms[0]`.
    Divisible,
  };
  Kind kind = Kind::Zero;
  llvm::SmallVector<ShapeTerm, 3> terms;
  /// What must hold, naming the operands as the op's documentation does:
  /// "'k' dimension 0 (B) must equal 'q' dimension 0".
  std::string message;
};

/// Appends the rules of `op`, a tessera op that passed its verifier, that
/// involve dynamic dimensions of its operands (or of a static result type).
/// Dynamic result dimensions are derived from the operands and need none.
/// Does nothing for other ops.
void collectRuntimeShapeChecks(
    Operation *op, llvm::SmallVectorImpl<RuntimeShapeCheck> &checks);

} // namespace tessera
} // namespace mlir

#endif // TESSERA_DIALECT_TESSERA_IR_RUNTIMESHAPECHECKS_H
