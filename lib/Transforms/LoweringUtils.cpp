//===- LoweringUtils.cpp - Helpers shared by the tessera lowerings --------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

Value mlir::tessera::extendToF32(OpBuilder &b, Location loc, Value value) {
  Type f32 = b.getF32Type();
  if (value.getType() == f32)
    return value;
  return arith::ExtFOp::create(b, loc, f32, value);
}

Value mlir::tessera::truncateFromF32(OpBuilder &b, Location loc, Type type,
                                     Value value) {
  if (value.getType() == type)
    return value;
  return arith::TruncFOp::create(b, loc, type, value);
}

Value mlir::tessera::createF32Constant(OpBuilder &b, Location loc,
                                       float value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

Value mlir::tessera::createFilledTensor(OpBuilder &b, Location loc,
                                        ArrayRef<OpFoldResult> sizes,
                                        Value value) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, value.getType());
  return linalg::FillOp::create(b, loc, value, empty).getResult(0);
}
