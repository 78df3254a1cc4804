//===- LoweringUtils.h - Helpers shared by the tessera lowerings -*- C++
//-*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Small IR-building helpers used by more than one lowering in
// lib/Transforms. Internal to the library.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_LIB_TRANSFORMS_LOWERINGUTILS_H
#define TESSERA_LIB_TRANSFORMS_LOWERINGUTILS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

namespace mlir {
namespace tessera {

class AttentionOp;
class LatentAttentionOp;

/// `value` (an f32, f16 or bf16 scalar) extended to f32; f32 is returned as is.
Value extendToF32(OpBuilder &b, Location loc, Value value);

/// `value` (an f32 scalar) truncated to the float type `type`; a no-op when
/// `type` is f32.
Value truncateFromF32(OpBuilder &b, Location loc, Type type, Value value);

/// An f32 constant.
Value createF32Constant(OpBuilder &b, Location loc, float value);

/// A tensor of the given sizes filled with `value` (its element type is the
/// type of `value`).
Value createFilledTensor(OpBuilder &b, Location loc,
                         ArrayRef<OpFoldResult> sizes, Value value);

/// Creates, before `op`, the `tessera.attention` that computes `op`: one KV
/// head (`kv` expanded to [B, 1, Skv, L+R]) whose values are its first
/// `latent_dim` columns (an extract_slice, no copy), with op's kv_lens, causal
/// flag and scale. Shared by the reference lowering and the tiling.
AttentionOp createAttentionFromLatent(OpBuilder &b, LatentAttentionOp op);

/// The softmax scale of `op` as an f32 value: the static one when known,
/// else 1/sqrt(D) computed at run time from the head dimension `headDim`.
Value createAttentionScale(OpBuilder &b, Location loc, AttentionOp op,
                           OpFoldResult headDim);

/// An `index` constant.
Value createIndexConstant(OpBuilder &b, Location loc, int64_t value);

/// The indexing maps of a block of dot products along the last dimension of
/// both inputs, over loops (i, j, d): A[i, d], B[j, d] -> C[i, j].
SmallVector<AffineMap> getDotProductMaps(MLIRContext *ctx);

class GroupedMatmulOp;
/// The result of `op` from its f32 product `[M, N]`, as the reference
/// lowering makes it: the SwiGLU epilogue (or none), the `scale` of each
/// row when `op` has one, and the rounding to the result's element type
/// (MoEToLinalg.cpp).
Value createGroupedMatmulResult(OpBuilder &b, Location loc, GroupedMatmulOp op,
                                Value product);

/// `out [M, C]` with `out[r, :] = table[index[r], :]` (`index` an i32
/// `[M]`, `table` a `[T, C]` float tensor), or zeros where `index[r]` is
/// outside [0, T); `elementType` is the table's or f32 (the rows are then
/// widened). A linalg.generic (MoEToLinalg.cpp).
Value createRowGather(OpBuilder &b, Location loc, Value table, Value index,
                      Type elementType);
/// The left operand `[M, K]` of `op`'s expert GEMMs: `rows`, or with a
/// `gather` index the rows it selects (zeros for an index outside the
/// table), materialized by a linalg.generic (MoEToLinalg.cpp).
Value createGroupedMatmulOperand(OpBuilder &b, Location loc,
                                 GroupedMatmulOp op);
class CombineOp;
/// The result of `op` given `inv [T * k]`, the row of `y` that holds each
/// (token, slot) pair or -1: the weighted sum over slots of the reference
/// lowering, rounded to the result's element type (MoEToLinalg.cpp).
Value createCombineFromInverse(OpBuilder &b, Location loc, CombineOp op,
                               Value inv);
/// `offsets [E + 1]` of `tessera.dispatch` from the expert counts `[E]`:
/// the exclusive prefix sum of the counts rounded up to `block`, a
/// linalg.generic (MoEToLinalg.cpp).
Value createSegmentOffsets(OpBuilder &b, Location loc, Value counts,
                           int64_t numExperts, int64_t block);
/// The `rows [numRows, d]` of `tessera.dispatch`: `x[perm[r] / topK]`, zero
/// where `perm[r] == -1`, a linalg.generic (MoEToLinalg.cpp).
Value createDispatchedRows(OpBuilder &b, Location loc, Value x, Value perm,
                           Value topK, OpFoldResult numRows);
/// `offsets[index]` (an i32 tensor) as an index clamped to [lo, hi]: the
/// segment bounds of the MoE ops, which malformed offsets can never push
/// outside the rows.
Value createClampedOffset(OpBuilder &b, Location loc, Value offsets,
                          Value index, Value lo, Value hi);

/// Whether selection score `v` of expert `i` comes before `w` of expert `j`
/// in `tessera.route`'s order: the greater score, NaN below every number,
/// and equal scores (two NaNs among them) by the lower expert index. A
/// strict total order whatever the scores hold, so top-k picks k distinct
/// experts. `i` and `j` are non-negative integers of one type.
Value createRouteOrder(OpBuilder &b, Location loc, Value v, Value i, Value w,
                       Value j);
/// Whether `v` is greater than `w` in that order, indices aside: `v > w`, or
/// `v` a number and `w` NaN.
Value createRouteGreater(OpBuilder &b, Location loc, Value v, Value w);

/// Expert `expert`'s row segment [begin, begin + length) of the MoE ops,
/// with 0 <= begin <= begin + length <= numRows whatever the offsets hold:
/// begin = clamp(offsets[e], 0, numRows), end = clamp(offsets[e+1], begin,
/// numRows). Returns {begin, length}.
std::pair<Value, Value> createExpertSegment(OpBuilder &b, Location loc,
                                            Value offsets, Value expert,
                                            Value numRows);

/// Reports an error on `op` for the first option of `options` (flag name,
/// value) that is not positive, the check of every tiling pass.
LogicalResult
checkPositiveOptions(Operation *op,
                     ArrayRef<std::pair<StringRef, int64_t>> options);

} // namespace tessera
} // namespace mlir

#endif // TESSERA_LIB_TRANSFORMS_LOWERINGUTILS_H
