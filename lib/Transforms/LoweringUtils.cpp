//===- LoweringUtils.cpp - Helpers shared by the tessera lowerings --------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

#include "tessera/Dialect/Tessera/IR/TesseraOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::tessera;

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

AttentionOp mlir::tessera::createAttentionFromLatent(OpBuilder &b,
                                                     LatentAttentionOp op) {
  Location loc = op.getLoc();
  Value kv = op.getKv();
  auto kvType = cast<RankedTensorType>(kv.getType());

  // k = kv viewed as [B, 1, Skv, L+R].
  SmallVector<OpFoldResult> kvSizes = tensor::getMixedSizes(b, loc, kv);
  SmallVector<OpFoldResult> kSizes = {kvSizes[0], b.getIndexAttr(1), kvSizes[1],
                                      kvSizes[2]};
  auto kType = RankedTensorType::get(
      {kvType.getDimSize(0), 1, kvType.getDimSize(1), kvType.getDimSize(2)},
      kvType.getElementType());
  Value k = tensor::ExpandShapeOp::create(
      b, loc, kType, kv, SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}},
      kSizes);

  // v = k[:, :, :, :L].
  SmallVector<OpFoldResult> vSizes = kSizes;
  vSizes[3] = b.getIndexAttr(op.getLatentDim());
  SmallVector<OpFoldResult> zeros(4, b.getIndexAttr(0));
  SmallVector<OpFoldResult> ones(4, b.getIndexAttr(1));
  Value v = tensor::ExtractSliceOp::create(b, loc, k, zeros, vSizes, ones);

  // The scale over all L+R columns. When L+R is dynamic and no scale is
  // given, attention's own default, 1/sqrt(D) with D = L+R the width of q,
  // is the same value computed at run time.
  FloatAttr scale;
  if (std::optional<double> staticScale = op.getStaticScale())
    scale = b.getF32FloatAttr(static_cast<float>(*staticScale));

  return AttentionOp::create(b, loc, op.getOut().getType(), /*lse=*/Type(),
                             op.getQ(), k, v, /*bias=*/Value(), op.getKvLens(),
                             scale, op.getCausal(), /*window=*/0,
                             /*softcap=*/APFloat(0.0f));
}

Value mlir::tessera::createAttentionScale(OpBuilder &b, Location loc,
                                          AttentionOp op,
                                          OpFoldResult headDim) {
  if (std::optional<double> scale = op.getStaticScale())
    return createF32Constant(b, loc, static_cast<float>(*scale));
  Value dim = getValueOrCreateConstantIndexOp(b, loc, headDim);
  Value dimI64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), dim);
  Value dimF32 = arith::UIToFPOp::create(b, loc, b.getF32Type(), dimI64);
  Value sqrt = math::SqrtOp::create(b, loc, dimF32);
  return arith::DivFOp::create(b, loc, createF32Constant(b, loc, 1.0f), sqrt);
}

Value mlir::tessera::createIndexConstant(OpBuilder &b, Location loc,
                                         int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

SmallVector<AffineMap> mlir::tessera::getDotProductMaps(MLIRContext *ctx) {
  AffineExpr i = getAffineDimExpr(0, ctx), j = getAffineDimExpr(1, ctx),
             d = getAffineDimExpr(2, ctx);
  return {AffineMap::get(3, 0, {i, d}, ctx), AffineMap::get(3, 0, {j, d}, ctx),
          AffineMap::get(3, 0, {i, j}, ctx)};
}

std::pair<Value, Value>
mlir::tessera::createExpertSegment(OpBuilder &b, Location loc, Value offsets,
                                   Value expert, Value numRows) {
  Value zero = createIndexConstant(b, loc, 0);
  Value begin = createClampedOffset(b, loc, offsets, expert, zero, numRows);
  Value next =
      arith::AddIOp::create(b, loc, expert, createIndexConstant(b, loc, 1));
  Value end = createClampedOffset(b, loc, offsets, next, begin, numRows);
  return {begin, arith::SubIOp::create(b, loc, end, begin)};
}

/// Whether `v` is not NaN.
static Value createIsNumber(OpBuilder &b, Location loc, Value v) {
  return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::ORD, v, v);
}

/// createRouteGreater with `vIsNumber` = createIsNumber(v) given.
static Value createRouteGreater(OpBuilder &b, Location loc, Value v, Value w,
                                Value vIsNumber) {
  // UGT: v > w, or unordered (a NaN among them).
  Value greaterOrNaN =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UGT, v, w);
  return arith::AndIOp::create(b, loc, greaterOrNaN, vIsNumber);
}

Value mlir::tessera::createRouteGreater(OpBuilder &b, Location loc, Value v,
                                        Value w) {
  return ::createRouteGreater(b, loc, v, w, createIsNumber(b, loc, v));
}

Value mlir::tessera::createRouteOrder(OpBuilder &b, Location loc, Value v,
                                      Value i, Value w, Value j) {
  // Equal in the order: v == w, or both NaN (UEQ is also true for one NaN,
  // which ORD(v, v) == ORD(w, w) rules out).
  Value vIsNumber = createIsNumber(b, loc, v);
  Value equalOrNaN =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UEQ, v, w);
  Value sameKind = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                         vIsNumber, createIsNumber(b, loc, w));
  Value equal = arith::AndIOp::create(b, loc, equalOrNaN, sameKind);
  Value lower = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, i, j);
  return arith::OrIOp::create(b, loc,
                              ::createRouteGreater(b, loc, v, w, vIsNumber),
                              arith::AndIOp::create(b, loc, equal, lower));
}

Value mlir::tessera::createClampedOffset(OpBuilder &b, Location loc,
                                         Value offsets, Value index, Value lo,
                                         Value hi) {
  Value raw = tensor::ExtractOp::create(b, loc, offsets, index);
  Value asIndex = arith::IndexCastOp::create(b, loc, b.getIndexType(), raw);
  return arith::MinSIOp::create(
      b, loc, arith::MaxSIOp::create(b, loc, asIndex, lo), hi);
}

LogicalResult mlir::tessera::checkPositiveOptions(
    Operation *op, ArrayRef<std::pair<StringRef, int64_t>> options) {
  for (auto [name, value] : options)
    if (value <= 0)
      return emitError(op->getLoc())
             << "'" << name << "' must be positive, got " << value;
  return success();
}
