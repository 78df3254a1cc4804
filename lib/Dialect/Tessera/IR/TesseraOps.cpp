//===- TesseraOps.cpp - Tessera op verifiers
//--------------------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Verifiers for the tessera ops. Every message names the offending operand or
// result and the shape it is expected to have, in the notation of the op
// documentation (`[B, Hkv, Skv, D]`).
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/TesseraOps.h"
#include "tessera/Dialect/Tessera/IR/ShapeLogic.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// Binds the symbolic dimensions of an op's layout (`B`, `Hq`, `D`, ...) to
/// the sizes of its operands and results, and reports the first value whose
/// shape contradicts an earlier binding.
class ShapeBinder {
public:
  explicit ShapeBinder(Operation *op) : op(op) {}

  /// Checks that `value` (called `name`) is a ranked tensor whose rank is the
  /// number of symbols in `layout`, and unifies each dimension with its
  /// symbol. A symbol "_" is unconstrained.
  LogicalResult bind(StringRef name, Value value, ArrayRef<StringRef> layout) {
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getRank() != static_cast<int64_t>(layout.size()))
      return op->emitOpError()
             << "'" << name << "' must be a rank-" << layout.size()
             << " tensor " << formatLayout(layout) << ", got " << type;
    for (auto [idx, sym] : llvm::enumerate(layout)) {
      if (sym == "_")
        continue;
      int64_t size = type.getDimSize(idx);
      auto it = dims.find(sym);
      if (it == dims.end() || ShapedType::isDynamic(it->second.size)) {
        if (it == dims.end() || !ShapedType::isDynamic(size))
          dims[sym] = {size, name.str()};
        continue;
      }
      if (!areDimsCompatible(size, it->second.size))
        return op->emitOpError()
               << "'" << name << "' has shape " << formatShape(type.getShape())
               << " but expected " << formatLayout(layout) << " with " << sym
               << " = " << it->second.size << " (from '" << it->second.source
               << "')";
    }
    return success();
  }

  /// The size bound to `sym`, dynamic when unknown.
  int64_t get(StringRef sym) const {
    auto it = dims.find(sym);
    return it == dims.end() ? ShapedType::kDynamic : it->second.size;
  }

  /// Emits an error unless dimension `idx` of `name` is `expected` (or either
  /// is dynamic); `what` says how `expected` was derived.
  LogicalResult expectDim(StringRef name, Value value,
                          ArrayRef<StringRef> layout, unsigned idx,
                          int64_t expected, const Twine &what) {
    auto type = cast<RankedTensorType>(value.getType());
    if (areDimsCompatible(type.getDimSize(idx), expected))
      return success();
    return op->emitOpError()
           << "'" << name << "' has shape " << formatShape(type.getShape())
           << " but expected " << formatLayout(layout) << " with "
           << layout[idx] << " = " << expected << " (" << what << ")";
  }

  static std::string formatLayout(ArrayRef<StringRef> layout) {
    return "[" + llvm::join(layout, ", ") + "]";
  }

private:
  struct Binding {
    int64_t size;
    std::string source;
  };
  Operation *op;
  llvm::StringMap<Binding> dims;
};

Type elementTypeOf(Value value) {
  return cast<ShapedType>(value.getType()).getElementType();
}

/// Emits an error unless `value` has the element type of `reference`.
LogicalResult expectSameElementType(Operation *op, StringRef name, Value value,
                                    StringRef refName, Value reference) {
  Type actual = elementTypeOf(value), expected = elementTypeOf(reference);
  if (actual == expected)
    return success();
  return op->emitOpError() << "'" << name << "' has element type " << actual
                           << " but expected " << expected << " (as '"
                           << refName << "')";
}

/// Verifies the routing attributes shared by route and moe against the
/// number of experts `numExperts` (possibly dynamic).
LogicalResult verifyRouteAttrs(Operation *op, int64_t numExperts, int64_t topK,
                               int64_t nGroup, std::optional<int64_t> topkGroup,
                               float scale) {
  int64_t kept = topkGroup.value_or(nGroup);
  if (kept > nGroup)
    return op->emitOpError()
           << "'topk_group' (" << kept << ") must not exceed 'n_group' ("
           << nGroup << ")";
  if (!std::isfinite(scale))
    return op->emitOpError() << "'scale' must be a finite number";
  if (ShapedType::isDynamic(numExperts))
    return success();
  if (numExperts % nGroup != 0)
    return op->emitOpError()
           << "the number of experts E = " << numExperts
           << " must be divisible by 'n_group' (" << nGroup << ")";
  int64_t selectable = kept * (numExperts / nGroup);
  if (topK > selectable)
    return op->emitOpError()
           << "'top_k' (" << topK << ") must not exceed the " << selectable
           << " experts of the kept groups (topk_group * E / n_group)";
  return success();
}

LogicalResult verifyScale(Operation *op, std::optional<APFloat> scale) {
  if (scale && !scale->isFinite())
    return op->emitOpError() << "'scale' must be a finite number";
  return success();
}

std::optional<double> scaleFor(std::optional<APFloat> scale, int64_t headDim) {
  if (scale)
    return scale->convertToDouble();
  if (ShapedType::isDynamic(headDim))
    return std::nullopt;
  return 1.0 / std::sqrt(static_cast<double>(headDim));
}

} // namespace

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

std::optional<double> AttentionOp::getStaticScale() {
  return scaleFor(getScale(), getQ().getType().getDimSize(3));
}

LogicalResult AttentionOp::verify() {
  ShapeBinder shapes(*this);
  if (failed(shapes.bind("q", getQ(), {"B", "Hq", "Sq", "D"})) ||
      failed(shapes.bind("k", getK(), {"B", "Hkv", "Skv", "D"})) ||
      failed(shapes.bind("v", getV(), {"B", "Hkv", "Skv", "Dv"})) ||
      failed(shapes.bind("out", getOut(), {"B", "Hq", "Sq", "Dv"})))
    return failure();
  if (failed(expectSameElementType(*this, "k", getK(), "q", getQ())) ||
      failed(expectSameElementType(*this, "v", getV(), "q", getQ())) ||
      failed(expectSameElementType(*this, "out", getOut(), "q", getQ())))
    return failure();

  int64_t hq = shapes.get("Hq"), hkv = shapes.get("Hkv");
  if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hkv) &&
      (hkv == 0 || hq % hkv != 0))
    return emitOpError() << "query heads Hq = " << hq
                         << " must be a multiple of KV heads Hkv = " << hkv
                         << " ('q' is [B, Hq, Sq, D], 'k' is [B, Hkv, Skv, D])";

  if (Value lse = getLse())
    if (failed(shapes.bind("lse", lse, {"B", "Hq", "Sq"})))
      return failure();

  if (Value bias = getBias()) {
    static constexpr StringRef layout[] = {"B or 1", "Hq or 1", "Sq", "Skv"};
    auto type = cast<RankedTensorType>(bias.getType());
    if (type.getRank() != 4)
      return emitOpError() << "'bias' must be a rank-4 tensor "
                           << ShapeBinder::formatLayout(layout) << ", got "
                           << type;
    static constexpr StringRef symbols[] = {"B", "Hq", "Sq", "Skv"};
    for (auto [idx, sym] : llvm::enumerate(symbols)) {
      if (idx < 2 && type.getDimSize(idx) == 1)
        continue;
      if (failed(shapes.expectDim("bias", bias, layout, idx, shapes.get(sym),
                                  Twine("from '") + sym + "'")))
        return failure();
    }
  }

  if (Value lens = getKvLens())
    if (failed(shapes.bind("kv_lens", lens, {"B"})))
      return failure();

  int64_t window = getWindowAttr().getInt();
  if (window < 0)
    return emitOpError() << "'window' must be >= 0 (0 = no window), got "
                         << window;
  float softcap = getSoftcap().convertToFloat();
  if (!(softcap >= 0.0f) || !std::isfinite(softcap))
    return emitOpError() << "'softcap' must be a finite value >= 0 "
                            "(0 = none), got "
                         << softcap;
  return verifyScale(*this, getScale());
}

//===----------------------------------------------------------------------===//
// LatentAttentionOp
//===----------------------------------------------------------------------===//

std::optional<double> LatentAttentionOp::getStaticScale() {
  return scaleFor(getScale(), getQ().getType().getDimSize(3));
}

LogicalResult LatentAttentionOp::verify() {
  ShapeBinder shapes(*this);
  static constexpr StringRef outLayout[] = {"B", "H", "Sq", "L"};
  if (failed(shapes.bind("q", getQ(), {"B", "H", "Sq", "L+R"})) ||
      failed(shapes.bind("kv", getKv(), {"B", "Skv", "L+R"})) ||
      failed(shapes.bind("out", getOut(), outLayout)))
    return failure();
  if (failed(expectSameElementType(*this, "kv", getKv(), "q", getQ())) ||
      failed(expectSameElementType(*this, "out", getOut(), "q", getQ())))
    return failure();

  int64_t latent = getLatentDim();
  int64_t width = shapes.get("L+R");
  if (!ShapedType::isDynamic(width) && latent > width)
    return emitOpError() << "'latent_dim' L = " << latent
                         << " must not exceed the q/kv width L+R = " << width;
  if (failed(shapes.expectDim("out", getOut(), outLayout, 3, latent,
                              "from 'latent_dim'")))
    return failure();
  if (Value lens = getKvLens())
    if (failed(shapes.bind("kv_lens", lens, {"B"})))
      return failure();
  return verifyScale(*this, getScale());
}

//===----------------------------------------------------------------------===//
// RouteOp
//===----------------------------------------------------------------------===//

LogicalResult RouteOp::verify() {
  ShapeBinder shapes(*this);
  static constexpr StringRef outLayout[] = {"T", "top_k"};
  if (failed(shapes.bind("logits", getLogits(), {"T", "E"})) ||
      failed(shapes.bind("weights", getWeights(), outLayout)) ||
      failed(shapes.bind("ids", getIds(), outLayout)))
    return failure();
  if (Value bias = getBias())
    if (failed(shapes.bind("bias", bias, {"E"})))
      return failure();
  int64_t topK = getTopK();
  if (failed(shapes.expectDim("weights", getWeights(), outLayout, 1, topK,
                              "from 'top_k'")) ||
      failed(shapes.expectDim("ids", getIds(), outLayout, 1, topK,
                              "from 'top_k'")))
    return failure();
  int64_t numExperts = shapes.get("E");
  if (!ShapedType::isDynamic(numExperts) && topK > numExperts)
    return emitOpError() << "'top_k' (" << topK
                         << ") must not exceed the number of experts E = "
                         << numExperts;
  return verifyRouteAttrs(*this, numExperts, topK, getNGroup(), getTopkGroup(),
                          getScale().convertToFloat());
}

//===----------------------------------------------------------------------===//
// DispatchOp
//===----------------------------------------------------------------------===//

/// The error of a dispatch whose rows the i32 offsets cannot index.
static LogicalResult emitTooManyDispatchRows(Operation *op, int64_t numTokens,
                                             int64_t topK, int64_t numExperts,
                                             int64_t block) {
  return op->emitOpError()
         << "dispatches more than " << kMaxDispatchRows
         << " rows (T * k + num_experts * (block - 1) with T = " << numTokens
         << ", k = " << topK << ", num_experts = " << numExperts
         << ", block = " << block << "), which its i32 offsets cannot index";
}

LogicalResult DispatchOp::verify() {
  ShapeBinder shapes(*this);
  static constexpr StringRef rowsLayout[] = {"M", "d"};
  static constexpr StringRef offsetsLayout[] = {"E+1"};
  if (failed(shapes.bind("x", getX(), {"T", "d"})) ||
      failed(shapes.bind("ids", getIds(), {"T", "k"})) ||
      failed(shapes.bind("rows", getRows(), rowsLayout)) ||
      failed(shapes.bind("offsets", getOffsets(), offsetsLayout)) ||
      failed(shapes.bind("perm", getPerm(), {"M"})))
    return failure();
  if (failed(expectSameElementType(*this, "rows", getRows(), "x", getX())))
    return failure();
  int64_t numExperts = getNumExperts(), block = getBlock();
  if (numExperts > std::numeric_limits<int32_t>::max())
    return emitOpError() << "'num_experts' (" << numExperts
                         << ") must be at most "
                         << std::numeric_limits<int32_t>::max()
                         << ": expert ids are i32";
  if (failed(shapes.expectDim("offsets", getOffsets(), offsetsLayout, 0,
                              numExperts + 1, "from 'num_experts'")))
    return failure();
  std::optional<int64_t> bound =
      dispatchRowBound(shapes.get("T"), shapes.get("k"), numExperts, block);
  if (!bound)
    return emitTooManyDispatchRows(*this, shapes.get("T"), shapes.get("k"),
                                   numExperts, block);
  return shapes.expectDim("rows", getRows(), rowsLayout, 0, *bound,
                          block == 1 ? "T * k"
                                     : "T * k + num_experts * (block - 1)");
}

//===----------------------------------------------------------------------===//
// GroupedMatmulOp
//===----------------------------------------------------------------------===//

LogicalResult GroupedMatmulOp::verify() {
  ShapeBinder shapes(*this);
  static constexpr StringRef offsetsLayout[] = {"E+1"};
  bool swiglu = getEpilogue() == Epilogue::swiglu;
  static constexpr StringRef plainOut[] = {"M", "N"};
  static constexpr StringRef swigluOut[] = {"M", "N/2"};
  ArrayRef<StringRef> outLayout = swiglu ? swigluOut : plainOut;
  // With `gather`, `rows` is a table of T rows that `gather [M]` indexes.
  if (failed(shapes.bind("rows", getRows(), {getGather() ? "T" : "M", "K"})) ||
      failed(shapes.bind("weights", getWeights(), {"E", "K", "N"})) ||
      failed(shapes.bind("offsets", getOffsets(), offsetsLayout)))
    return failure();
  if (Value gather = getGather())
    if (failed(shapes.bind("gather", gather, {"M"})))
      return failure();
  if (Value scale = getScale())
    if (failed(shapes.bind("scale", scale, {"M"})))
      return failure();
  if (failed(shapes.bind("out", getOut(), outLayout)))
    return failure();
  if (failed(expectSameElementType(*this, "weights", getWeights(), "rows",
                                   getRows())) ||
      failed(expectSameElementType(*this, "out", getOut(), "rows", getRows())))
    return failure();
  int64_t numExperts = shapes.get("E"), n = shapes.get("N");
  if (!ShapedType::isDynamic(numExperts) &&
      failed(shapes.expectDim("offsets", getOffsets(), offsetsLayout, 0,
                              numExperts + 1, "from 'weights'")))
    return failure();
  if (ShapedType::isDynamic(n))
    return success();
  if (swiglu && n % 2 != 0)
    return emitOpError() << "the swiglu epilogue needs an even N, but "
                            "'weights' [E, K, N] has N = "
                         << n;
  return shapes.expectDim("out", getOut(), outLayout, 1, swiglu ? n / 2 : n,
                          "from 'weights'");
}

//===----------------------------------------------------------------------===//
// CombineOp
//===----------------------------------------------------------------------===//

LogicalResult CombineOp::verify() {
  ShapeBinder shapes(*this);
  if (failed(shapes.bind("y", getY(), {"M", "d"})) ||
      failed(shapes.bind("perm", getPerm(), {"M"})) ||
      failed(shapes.bind("weights", getWeights(), {"T", "k"})) ||
      failed(shapes.bind("out", getOut(), {"T", "d"})))
    return failure();
  return expectSameElementType(*this, "out", getOut(), "y", getY());
}

//===----------------------------------------------------------------------===//
// MoEOp
//===----------------------------------------------------------------------===//

std::optional<int64_t> MoEOp::getStaticNumExperts() {
  for (Value weights : {getGateW(), getWUp(), getWDown()}) {
    int64_t numExperts = cast<ShapedType>(weights.getType()).getDimSize(0);
    if (!ShapedType::isDynamic(numExperts))
      return numExperts;
  }
  return std::nullopt;
}

LogicalResult MoEOp::verify() {
  ShapeBinder shapes(*this);
  static constexpr StringRef upLayout[] = {"E", "d", "2f"};
  if (failed(shapes.bind("x", getX(), {"T", "d"})) ||
      failed(shapes.bind("gate_w", getGateW(), {"E", "d"})) ||
      failed(shapes.bind("w_down", getWDown(), {"E", "f", "d"})) ||
      failed(shapes.bind("w_up", getWUp(), upLayout)) ||
      failed(shapes.bind("out", getOut(), {"T", "d"})))
    return failure();
  for (auto [name, value] : {std::pair<StringRef, Value>{"gate_w", getGateW()},
                             {"w_up", getWUp()},
                             {"w_down", getWDown()},
                             {"out", getOut()}})
    if (failed(expectSameElementType(*this, name, value, "x", getX())))
      return failure();
  int64_t f = shapes.get("f");
  if (!ShapedType::isDynamic(f) &&
      failed(shapes.expectDim("w_up", getWUp(), upLayout, 2, 2 * f,
                              "twice f from 'w_down'")))
    return failure();
  if (Value bias = getBias())
    if (failed(shapes.bind("bias", bias, {"E"})))
      return failure();

  Value sharedUp = getSharedUp(), sharedDown = getSharedDown();
  if (static_cast<bool>(sharedUp) != static_cast<bool>(sharedDown))
    return emitOpError() << "'shared_up' and 'shared_down' must be given "
                            "together";
  if (sharedUp) {
    static constexpr StringRef sharedUpLayout[] = {"d", "2fs"};
    if (failed(shapes.bind("shared_down", sharedDown, {"fs", "d"})) ||
        failed(shapes.bind("shared_up", sharedUp, sharedUpLayout)) ||
        failed(
            expectSameElementType(*this, "shared_up", sharedUp, "x", getX())) ||
        failed(expectSameElementType(*this, "shared_down", sharedDown, "x",
                                     getX())))
      return failure();
    int64_t fs = shapes.get("fs");
    if (!ShapedType::isDynamic(fs) &&
        failed(shapes.expectDim("shared_up", sharedUp, sharedUpLayout, 1,
                                2 * fs, "twice fs from 'shared_down'")))
      return failure();
  }

  int64_t numExperts = shapes.get("E"), topK = getTopK();
  if (!ShapedType::isDynamic(numExperts) && topK > numExperts)
    return emitOpError() << "'top_k' (" << topK
                         << ") must not exceed the number of experts E = "
                         << numExperts;
  // The layer dispatches its T * k pairs (tessera-decompose-moe).
  if (!ShapedType::isDynamic(numExperts) &&
      !dispatchRowBound(shapes.get("T"), topK, numExperts, getBlock()))
    return emitTooManyDispatchRows(*this, shapes.get("T"), topK, numExperts,
                                   getBlock());
  return verifyRouteAttrs(*this, numExperts, topK, getNGroup(), getTopkGroup(),
                          getScale().convertToFloat());
}

#define GET_OP_CLASSES
#include "tessera/Dialect/Tessera/IR/TesseraOps.cpp.inc"
