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
#include "tessera/Dialect/Tessera/IR/RuntimeShapeChecks.h"
#include "tessera/Dialect/Tessera/IR/ShapeLogic.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// A tensor's static sizes may describe at most 2^62 bytes: sizes in bytes,
/// element counts and flattened indices are int64 in every lowering.
constexpr int kMaxTensorBytesLog2 = 62;

/// True when the static sizes of `type` take at most 2^62 bytes.
bool fitsInMemory(RankedTensorType type) {
  if (llvm::is_contained(type.getShape(), 0))
    return true; // Empty, whatever the other sizes.
  int64_t bytes =
      llvm::divideCeil(type.getElementType().getIntOrFloatBitWidth(), 8);
  for (int64_t size : type.getShape())
    if (!ShapedType::isDynamic(size) &&
        (llvm::MulOverflow(bytes, size, bytes) ||
         bytes > (int64_t(1) << kMaxTensorBytesLog2)))
      return false;
  return true;
}

/// `a * b`, or the int64 bound of its sign when that overflows.
int64_t saturatingMultiply(int64_t a, int64_t b) {
  int64_t product;
  if (!llvm::MulOverflow(a, b, product))
    return product;
  return (a < 0) != (b < 0) ? std::numeric_limits<int64_t>::min()
                            : std::numeric_limits<int64_t>::max();
}

/// Binds the symbolic dimensions of an op's layout (`B`, `Hq`, `D`, ...) to
/// the sizes of its operands and results, and reports the first value whose
/// shape contradicts an earlier binding.
///
/// Given a `checks` list, the binder also records the rules it could not
/// decide because a dimension is dynamic (RuntimeShapeChecks.h): the same
/// verifier code then states both what holds statically and what must be
/// checked at run time. Dynamic dimensions of the op's own results are
/// derived from its operands by the lowering and need no rule.
class ShapeBinder {
public:
  explicit ShapeBinder(Operation *op,
                       SmallVectorImpl<RuntimeShapeCheck> *checks = nullptr)
      : op(op), checks(checks) {}

  /// Checks that `value` (called `name`) is a ranked tensor whose rank is the
  /// number of symbols in `layout`, and unifies each dimension with its
  /// symbol. A symbol "_" is unconstrained.
  LogicalResult bind(StringRef name, Value value, ArrayRef<StringRef> layout) {
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getRank() != static_cast<int64_t>(layout.size()))
      return op->emitOpError()
             << "'" << name << "' must be a rank-" << layout.size()
             << " tensor " << formatLayout(layout) << ", got " << type;
    if (!fitsInMemory(type))
      return op->emitOpError()
             << "'" << name << "' of type " << type << " has more than 2^"
             << kMaxTensorBytesLog2
             << " bytes (the lowerings compute its size in int64)";
    for (auto [idx, sym] : llvm::enumerate(layout)) {
      if (sym == "_")
        continue;
      int64_t size = type.getDimSize(idx);
      std::optional<Occurrence> here =
          occurrence(name, value, idx, layout[idx]);
      auto it = dims.find(sym);
      if (it == dims.end()) {
        dims[sym] = {size, name.str(), here};
        continue;
      }
      Binding &bound = it->second;
      if (!areDimsCompatible(size, bound.size))
        return op->emitOpError()
               << "'" << name << "' has shape " << formatShape(type.getShape())
               << " but expected " << formatLayout(layout) << " with " << sym
               << " = " << bound.size << " (from '" << bound.source << "')";
      if (!ShapedType::isDynamic(size) && !ShapedType::isDynamic(bound.size))
        continue;
      if (ShapedType::isDynamic(size) && !here)
        continue; // A derived result dimension.
      if (!ShapedType::isDynamic(bound.size)) {
        recordEqual(*here, bound.size, "as in '" + bound.source + "'");
      } else if (!bound.dynamicRef) {
        // Only derived result dimensions so far: this one is the first that
        // can be read.
        bound = {size, name.str(), here};
      } else if (ShapedType::isDynamic(size)) {
        recordEqual(*here, *bound.dynamicRef);
      } else {
        recordEqual(*bound.dynamicRef, size, "as in '" + name.str() + "'");
        bound.size = size;
        bound.source = name.str();
      }
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
    int64_t size = type.getDimSize(idx);
    if (areDimsCompatible(size, expected)) {
      if (ShapedType::isDynamic(size) && !ShapedType::isDynamic(expected))
        if (std::optional<Occurrence> here =
                occurrence(name, value, idx, layout[idx]))
          recordEqual(*here, expected, what.str());
      return success();
    }
    return op->emitOpError()
           << "'" << name << "' has shape " << formatShape(type.getShape())
           << " but expected " << formatLayout(layout) << " with "
           << layout[idx] << " = " << expected << " (" << what << ")";
  }

  /// As expectDim() with `expected` = `scale` * `sym` + `offset`, also when
  /// `sym` is dynamic.
  LogicalResult expectDerived(StringRef name, Value value,
                              ArrayRef<StringRef> layout, unsigned idx,
                              StringRef sym, int64_t scale, int64_t offset,
                              const Twine &what) {
    int64_t symSize = get(sym);
    if (!ShapedType::isDynamic(symSize)) {
      int64_t expected;
      if (llvm::MulOverflow(scale, symSize, expected) ||
          llvm::AddOverflow(expected, offset, expected) ||
          ShapedType::isDynamic(expected))
        return op->emitOpError() << "'" << name << "' needs " << layout[idx]
                                 << " (" << what << ") with " << sym << " = "
                                 << symSize << ", which overflows 64 bits";
      return expectDim(name, value, layout, idx, expected, what);
    }
    std::optional<Occurrence> source = dynamicRef(sym);
    std::optional<Occurrence> here = occurrence(name, value, idx, layout[idx]);
    if (!checks || !source || !here)
      return success();
    RuntimeShapeCheck check;
    check.terms.push_back(term(*here));
    check.terms.push_back(term(*source, -scale));
    check.terms.push_back(constant(-offset));
    std::string rhs =
        (scale == 1 ? "" : std::to_string(scale) + " * ") + source->describe();
    if (offset != 0)
      rhs += " + " + std::to_string(offset);
    check.message = here->describe() + " must be " + rhs;
    checks->push_back(std::move(check));
    return success();
  }

  /// Records that dimension `idx` of `name` must equal `sym` when either is
  /// dynamic (the static case is expectDim's).
  void recordSameAs(StringRef name, Value value, ArrayRef<StringRef> layout,
                    unsigned idx, StringRef sym) {
    std::optional<Occurrence> source = dynamicRef(sym);
    std::optional<Occurrence> here = occurrence(name, value, idx, layout[idx]);
    if (!source || !here)
      return;
    int64_t size = cast<ShapedType>(value.getType()).getDimSize(idx);
    if (ShapedType::isDynamic(size))
      recordEqual(*here, *source);
    else
      recordEqual(*source, size, "as in '" + name.str() + "'");
  }

  /// Records that `sym` must be >= `minimum` when it is dynamic.
  void recordAtLeast(StringRef sym, int64_t minimum, const Twine &why) {
    std::optional<Occurrence> source = dynamicRef(sym);
    if (!checks || !source)
      return;
    push(RuntimeShapeCheck::Kind::NonNegative,
         {term(*source), constant(-minimum)},
         source->describe() + " must be at least " + std::to_string(minimum) +
             " (" + why.str() + ")");
  }

  /// Records that `sym` must be a multiple of `divisorSym` (> 0) when either
  /// is dynamic.
  void recordMultiple(StringRef sym, StringRef divisorSym, const Twine &why) {
    std::optional<Occurrence> dividend = dynamicRef(sym),
                              divisor = dynamicRef(divisorSym);
    if (!checks || (!dividend && !divisor))
      return;
    int64_t dividendSize = get(sym), divisorSize = get(divisorSym);
    if ((!dividend && ShapedType::isDynamic(dividendSize)) ||
        (!divisor && ShapedType::isDynamic(divisorSize)))
      return; // Derived from a result: nothing to check.
    auto describe = [&](const std::optional<Occurrence> &source,
                        StringRef symbol, int64_t size) {
      return source ? source->describe()
                    : symbol.str() + " = " + std::to_string(size);
    };
    push(RuntimeShapeCheck::Kind::Divisible,
         {dividend ? term(*dividend) : constant(dividendSize),
          divisor ? term(*divisor) : constant(divisorSize)},
         describe(dividend, sym, dividendSize) + " must be a multiple of " +
             describe(divisor, divisorSym, divisorSize) + " (" + why.str() +
             ")");
  }

  /// Records that `sym` must be a multiple of the constant `divisor` when it
  /// is dynamic.
  void recordMultiple(StringRef sym, int64_t divisor, const Twine &why) {
    std::optional<Occurrence> dividend = dynamicRef(sym);
    if (!checks || !dividend)
      return;
    push(RuntimeShapeCheck::Kind::Divisible,
         {term(*dividend), constant(divisor)},
         dividend->describe() + " must be a multiple of " +
             std::to_string(divisor) + " (" + why.str() + ")");
  }

  /// Records that sum(`products`) + `constant` is 0 (`kind` Zero) or >= 0
  /// (NonNegative), where each product is a coefficient times symbols, when
  /// a symbol is dynamic. `message` says what must hold.
  void
  recordSum(RuntimeShapeCheck::Kind kind,
            ArrayRef<std::pair<int64_t, SmallVector<StringRef, 2>>> products,
            int64_t offset, const Twine &message) {
    if (!checks)
      return;
    RuntimeShapeCheck check;
    check.kind = kind;
    check.terms.push_back(constant(offset));
    bool dynamic = false;
    for (auto &[coefficient, symbols] : products) {
      ShapeTerm product{coefficient, {}};
      for (StringRef sym : symbols) {
        int64_t size = get(sym);
        if (!ShapedType::isDynamic(size)) {
          product.coefficient = saturatingMultiply(product.coefficient, size);
          continue;
        }
        std::optional<Occurrence> source = dynamicRef(sym);
        if (!source)
          return; // Derived from a result: nothing to check.
        product.factors.push_back(source->ref);
        dynamic = true;
      }
      check.terms.push_back(std::move(product));
    }
    if (!dynamic)
      return;
    check.message = message.str();
    checks->push_back(std::move(check));
  }

  static std::string formatLayout(ArrayRef<StringRef> layout) {
    return "[" + llvm::join(layout, ", ") + "]";
  }

private:
  /// A dimension of an operand, or a static one of a result: one that a
  /// run-time rule can read.
  struct Occurrence {
    DimRef ref;
    std::string name;
    std::string symbol;
    std::string describe() const {
      return "'" + name + "' dimension " + std::to_string(ref.dim) + " (" +
             symbol + ")";
    }
  };
  struct Binding {
    int64_t size;
    std::string source;
    /// Where a dynamic size can be read at run time.
    std::optional<Occurrence> dynamicRef;
  };

  /// Dimension `idx` of `value` as an Occurrence; none for a dynamic
  /// dimension of a result of the op (the lowering derives it).
  std::optional<Occurrence> occurrence(StringRef name, Value value,
                                       unsigned idx, StringRef symbol) const {
    // A result's static size is a constant; its dynamic one is derived.
    if (auto result = dyn_cast<OpResult>(value);
        result && result.getOwner() == op)
      return std::nullopt;
    return Occurrence{{value, idx}, name.str(), symbol.str()};
  }

  std::optional<Occurrence> dynamicRef(StringRef sym) const {
    auto it = dims.find(sym);
    if (it == dims.end() || !ShapedType::isDynamic(it->second.size))
      return std::nullopt;
    return it->second.dynamicRef;
  }

  static ShapeTerm term(const Occurrence &occurrence, int64_t scale = 1) {
    return ShapeTerm{scale, {occurrence.ref}};
  }
  static ShapeTerm constant(int64_t value) { return ShapeTerm{value, {}}; }

  /// Appends a check when recording.
  void push(RuntimeShapeCheck::Kind kind, SmallVector<ShapeTerm, 3> terms,
            std::string message) {
    if (checks)
      checks->push_back({kind, std::move(terms), std::move(message)});
  }
  void recordEqual(const Occurrence &lhs, const Occurrence &rhs) {
    push(RuntimeShapeCheck::Kind::Zero, {term(lhs), term(rhs, -1)},
         lhs.describe() + " must equal " + rhs.describe());
  }
  void recordEqual(const Occurrence &lhs, int64_t size,
                   const std::string &why) {
    push(RuntimeShapeCheck::Kind::Zero, {term(lhs), constant(-size)},
         lhs.describe() + " must be " + std::to_string(size) + " (" + why +
             ")");
  }

  Operation *op;
  SmallVectorImpl<RuntimeShapeCheck> *checks;
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
LogicalResult verifyRouteAttrs(Operation *op, ShapeBinder &shapes,
                               int64_t numExperts, int64_t topK, int64_t nGroup,
                               std::optional<int64_t> topkGroup, float scale) {
  int64_t kept = topkGroup.value_or(nGroup);
  if (kept > nGroup)
    return op->emitOpError()
           << "'topk_group' (" << kept << ") must not exceed 'n_group' ("
           << nGroup << ")";
  if (!std::isfinite(scale))
    return op->emitOpError() << "'scale' must be a finite number";
  if (ShapedType::isDynamic(numExperts)) {
    shapes.recordAtLeast("E", topK, "'top_k'");
    if (nGroup != 1) {
      shapes.recordMultiple("E", nGroup, "'n_group'");
      shapes.recordAtLeast(
          "E", saturatingMultiply(llvm::divideCeil(topK, kept), nGroup),
          "'top_k' experts from 'topk_group' of 'n_group' "
          "groups");
    }
    return success();
  }
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

static LogicalResult verifyAttentionOp(AttentionOp op, ShapeBinder &shapes) {
  if (failed(shapes.bind("q", op.getQ(), {"B", "Hq", "Sq", "D"})) ||
      failed(shapes.bind("k", op.getK(), {"B", "Hkv", "Skv", "D"})) ||
      failed(shapes.bind("v", op.getV(), {"B", "Hkv", "Skv", "Dv"})) ||
      failed(shapes.bind("out", op.getOut(), {"B", "Hq", "Sq", "Dv"})))
    return failure();
  if (failed(expectSameElementType(op, "k", op.getK(), "q", op.getQ())) ||
      failed(expectSameElementType(op, "v", op.getV(), "q", op.getQ())) ||
      failed(expectSameElementType(op, "out", op.getOut(), "q", op.getQ())))
    return failure();

  int64_t hq = shapes.get("Hq"), hkv = shapes.get("Hkv");
  if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hkv) &&
      (hkv == 0 || hq % hkv != 0))
    return op.emitOpError()
           << "query heads Hq = " << hq
           << " must be a multiple of KV heads Hkv = " << hkv
           << " ('q' is [B, Hq, Sq, D], 'k' is [B, Hkv, Skv, D])";
  shapes.recordMultiple("Hq", "Hkv", "query heads per KV head");

  if (Value lse = op.getLse())
    if (failed(shapes.bind("lse", lse, {"B", "Hq", "Sq"})))
      return failure();

  if (Value bias = op.getBias()) {
    static constexpr StringRef layout[] = {"B or 1", "Hq or 1", "Sq", "Skv"};
    auto type = cast<RankedTensorType>(bias.getType());
    if (type.getRank() != 4)
      return op.emitOpError()
             << "'bias' must be a rank-4 tensor "
             << ShapeBinder::formatLayout(layout) << ", got " << type;
    static constexpr StringRef symbols[] = {"B", "Hq", "Sq", "Skv"};
    for (auto [idx, sym] : llvm::enumerate(symbols)) {
      if (idx < 2 && type.getDimSize(idx) == 1)
        continue;
      if (failed(shapes.expectDim("bias", bias, layout, idx, shapes.get(sym),
                                  Twine("from '") + sym + "'")))
        return failure();
      shapes.recordSameAs("bias", bias, layout, idx, sym);
    }
  }

  if (Value lens = op.getKvLens())
    if (failed(shapes.bind("kv_lens", lens, {"B"})))
      return failure();

  int64_t window = op.getWindowAttr().getInt();
  if (window < 0)
    return op.emitOpError()
           << "'window' must be >= 0 (0 = no window), got " << window;
  float softcap = op.getSoftcap().convertToFloat();
  if (!(softcap >= 0.0f) || !std::isfinite(softcap))
    return op.emitOpError() << "'softcap' must be a finite value >= 0 "
                               "(0 = none), got "
                            << softcap;
  return verifyScale(op, op.getScale());
}

LogicalResult AttentionOp::verify() {
  ShapeBinder shapes(*this);
  return verifyAttentionOp(*this, shapes);
}

//===----------------------------------------------------------------------===//
// LatentAttentionOp
//===----------------------------------------------------------------------===//

std::optional<double> LatentAttentionOp::getStaticScale() {
  return scaleFor(getScale(), getQ().getType().getDimSize(3));
}

static LogicalResult verifyLatentAttentionOp(LatentAttentionOp op,
                                             ShapeBinder &shapes) {
  static constexpr StringRef outLayout[] = {"B", "H", "Sq", "L"};
  if (failed(shapes.bind("q", op.getQ(), {"B", "H", "Sq", "L+R"})) ||
      failed(shapes.bind("kv", op.getKv(), {"B", "Skv", "L+R"})) ||
      failed(shapes.bind("out", op.getOut(), outLayout)))
    return failure();
  if (failed(expectSameElementType(op, "kv", op.getKv(), "q", op.getQ())) ||
      failed(expectSameElementType(op, "out", op.getOut(), "q", op.getQ())))
    return failure();

  int64_t latent = op.getLatentDim();
  int64_t width = shapes.get("L+R");
  if (!ShapedType::isDynamic(width) && latent > width)
    return op.emitOpError()
           << "'latent_dim' L = " << latent
           << " must not exceed the q/kv width L+R = " << width;
  shapes.recordAtLeast("L+R", latent, "'latent_dim'");
  if (failed(shapes.expectDim("out", op.getOut(), outLayout, 3, latent,
                              "from 'latent_dim'")))
    return failure();
  if (Value lens = op.getKvLens())
    if (failed(shapes.bind("kv_lens", lens, {"B"})))
      return failure();
  return verifyScale(op, op.getScale());
}

LogicalResult LatentAttentionOp::verify() {
  ShapeBinder shapes(*this);
  return verifyLatentAttentionOp(*this, shapes);
}

//===----------------------------------------------------------------------===//
// RouteOp
//===----------------------------------------------------------------------===//

static LogicalResult verifyRouteOp(RouteOp op, ShapeBinder &shapes) {
  static constexpr StringRef outLayout[] = {"T", "top_k"};
  if (failed(shapes.bind("logits", op.getLogits(), {"T", "E"})) ||
      failed(shapes.bind("weights", op.getWeights(), outLayout)) ||
      failed(shapes.bind("ids", op.getIds(), outLayout)))
    return failure();
  if (Value bias = op.getBias())
    if (failed(shapes.bind("bias", bias, {"E"})))
      return failure();
  int64_t topK = op.getTopK();
  if (failed(shapes.expectDim("weights", op.getWeights(), outLayout, 1, topK,
                              "from 'top_k'")) ||
      failed(shapes.expectDim("ids", op.getIds(), outLayout, 1, topK,
                              "from 'top_k'")))
    return failure();
  int64_t numExperts = shapes.get("E");
  if (!ShapedType::isDynamic(numExperts) && topK > numExperts)
    return op.emitOpError()
           << "'top_k' (" << topK
           << ") must not exceed the number of experts E = " << numExperts;
  return verifyRouteAttrs(op, shapes, numExperts, topK, op.getNGroup(),
                          op.getTopkGroup(), op.getScale().convertToFloat());
}

LogicalResult RouteOp::verify() {
  ShapeBinder shapes(*this);
  return verifyRouteOp(*this, shapes);
}

//===----------------------------------------------------------------------===//
// DispatchOp
//===----------------------------------------------------------------------===//

/// The error of a dispatch whose rows the i32 offsets cannot index.
static LogicalResult emitTooManyDispatchRows(Operation *op, int64_t numTokens,
                                             int64_t topK, int64_t numExperts,
                                             int64_t block) {
  auto format = [](int64_t size) {
    return ShapedType::isDynamic(size) ? std::string("?")
                                       : std::to_string(size);
  };
  return op->emitOpError()
         << "dispatches more than " << kMaxDispatchRows
         << " rows (T * k + num_experts * (block - 1) with T = "
         << format(numTokens) << ", k = " << format(topK)
         << ", num_experts = " << format(numExperts) << ", block = " << block
         << "), which its i32 offsets cannot index";
}

static LogicalResult verifyDispatchOp(DispatchOp op, ShapeBinder &shapes) {
  static constexpr StringRef rowsLayout[] = {"M", "d"};
  static constexpr StringRef offsetsLayout[] = {"E+1"};
  if (failed(shapes.bind("x", op.getX(), {"T", "d"})) ||
      failed(shapes.bind("ids", op.getIds(), {"T", "k"})) ||
      failed(shapes.bind("rows", op.getRows(), rowsLayout)) ||
      failed(shapes.bind("offsets", op.getOffsets(), offsetsLayout)) ||
      failed(shapes.bind("perm", op.getPerm(), {"M"})))
    return failure();
  if (failed(expectSameElementType(op, "rows", op.getRows(), "x", op.getX())))
    return failure();
  int64_t numExperts = op.getNumExperts(), block = op.getBlock();
  if (numExperts > std::numeric_limits<int32_t>::max())
    return op.emitOpError()
           << "'num_experts' (" << numExperts << ") must be at most "
           << std::numeric_limits<int32_t>::max() << ": expert ids are i32";
  if (failed(shapes.expectDim("offsets", op.getOffsets(), offsetsLayout, 0,
                              numExperts + 1, "from 'num_experts'")))
    return failure();
  std::optional<int64_t> bound =
      dispatchRowBound(shapes.get("T"), shapes.get("k"), numExperts, block);
  int64_t padding = 0;
  if (!bound || llvm::MulOverflow(numExperts, block - 1, padding) ||
      padding > kMaxDispatchRows)
    return emitTooManyDispatchRows(op, shapes.get("T"), shapes.get("k"),
                                   numExperts, block);
  StringRef rowCount =
      block == 1 ? "T * k" : "T * k + num_experts * (block - 1)";
  shapes.recordSum(RuntimeShapeCheck::Kind::NonNegative, {{-1, {"T", "k"}}},
                   kMaxDispatchRows - padding,
                   rowCount + " rows must not exceed " +
                       Twine(kMaxDispatchRows) + ", which i32 offsets index");
  int64_t rows = op.getRows().getType().getDimSize(0);
  if (ShapedType::isDynamic(*bound) && !ShapedType::isDynamic(rows))
    shapes.recordSum(
        RuntimeShapeCheck::Kind::Zero, {{1, {"T", "k"}}}, padding - rows,
        rowCount + " must be the " + Twine(rows) + " rows of the 'rows' type");
  return shapes.expectDim("rows", op.getRows(), rowsLayout, 0, *bound,
                          rowCount);
}

LogicalResult DispatchOp::verify() {
  ShapeBinder shapes(*this);
  return verifyDispatchOp(*this, shapes);
}

//===----------------------------------------------------------------------===//
// GroupedMatmulOp
//===----------------------------------------------------------------------===//

static LogicalResult verifyGroupedMatmulOp(GroupedMatmulOp op,
                                           ShapeBinder &shapes) {
  static constexpr StringRef offsetsLayout[] = {"E+1"};
  bool swiglu = op.getEpilogue() == Epilogue::swiglu;
  static constexpr StringRef plainOut[] = {"M", "N"};
  static constexpr StringRef swigluOut[] = {"M", "N/2"};
  ArrayRef<StringRef> outLayout = swiglu ? swigluOut : plainOut;
  // With `gather`, `rows` is a table of T rows that `gather [M]` indexes.
  if (failed(shapes.bind("rows", op.getRows(),
                         {op.getGather() ? "T" : "M", "K"})) ||
      failed(shapes.bind("weights", op.getWeights(), {"E", "K", "N"})) ||
      failed(shapes.bind("offsets", op.getOffsets(), offsetsLayout)))
    return failure();
  if (Value gather = op.getGather())
    if (failed(shapes.bind("gather", gather, {"M"})))
      return failure();
  if (Value scale = op.getScale())
    if (failed(shapes.bind("scale", scale, {"M"})))
      return failure();
  if (failed(shapes.bind("out", op.getOut(), outLayout)))
    return failure();
  if (failed(expectSameElementType(op, "weights", op.getWeights(), "rows",
                                   op.getRows())) ||
      failed(
          expectSameElementType(op, "out", op.getOut(), "rows", op.getRows())))
    return failure();
  int64_t n = shapes.get("N");
  if (failed(shapes.expectDerived("offsets", op.getOffsets(), offsetsLayout, 0,
                                  "E", 1, 1, "from 'weights'")))
    return failure();
  if (ShapedType::isDynamic(n)) {
    if (swiglu) {
      shapes.recordMultiple("N", 2, "the swiglu epilogue");
      static constexpr StringRef weightsLayout[] = {"E", "K", "N"};
      return shapes.expectDerived("weights", op.getWeights(), weightsLayout, 2,
                                  "N/2", 2, 0, "twice N/2 from 'out'");
    }
    return success();
  }
  if (swiglu && n % 2 != 0)
    return op.emitOpError() << "the swiglu epilogue needs an even N, but "
                               "'weights' [E, K, N] has N = "
                            << n;
  return shapes.expectDim("out", op.getOut(), outLayout, 1, swiglu ? n / 2 : n,
                          "from 'weights'");
}

LogicalResult GroupedMatmulOp::verify() {
  ShapeBinder shapes(*this);
  return verifyGroupedMatmulOp(*this, shapes);
}

//===----------------------------------------------------------------------===//
// CombineOp
//===----------------------------------------------------------------------===//

static LogicalResult verifyCombineOp(CombineOp op, ShapeBinder &shapes) {
  if (failed(shapes.bind("y", op.getY(), {"M", "d"})) ||
      failed(shapes.bind("perm", op.getPerm(), {"M"})) ||
      failed(shapes.bind("weights", op.getWeights(), {"T", "k"})) ||
      failed(shapes.bind("out", op.getOut(), {"T", "d"})))
    return failure();
  return expectSameElementType(op, "out", op.getOut(), "y", op.getY());
}

LogicalResult CombineOp::verify() {
  ShapeBinder shapes(*this);
  return verifyCombineOp(*this, shapes);
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

static LogicalResult verifyMoEOp(MoEOp op, ShapeBinder &shapes) {
  static constexpr StringRef upLayout[] = {"E", "d", "2f"};
  if (failed(shapes.bind("x", op.getX(), {"T", "d"})) ||
      failed(shapes.bind("gate_w", op.getGateW(), {"E", "d"})) ||
      failed(shapes.bind("w_down", op.getWDown(), {"E", "f", "d"})) ||
      failed(shapes.bind("w_up", op.getWUp(), upLayout)) ||
      failed(shapes.bind("out", op.getOut(), {"T", "d"})))
    return failure();
  for (auto [name, value] :
       {std::pair<StringRef, Value>{"gate_w", op.getGateW()},
        {"w_up", op.getWUp()},
        {"w_down", op.getWDown()},
        {"out", op.getOut()}})
    if (failed(expectSameElementType(op, name, value, "x", op.getX())))
      return failure();
  if (failed(shapes.expectDerived("w_up", op.getWUp(), upLayout, 2, "f", 2, 0,
                                  "twice f from 'w_down'")))
    return failure();
  if (Value bias = op.getBias())
    if (failed(shapes.bind("bias", bias, {"E"})))
      return failure();

  Value sharedUp = op.getSharedUp(), sharedDown = op.getSharedDown();
  if (static_cast<bool>(sharedUp) != static_cast<bool>(sharedDown))
    return op.emitOpError() << "'shared_up' and 'shared_down' must be given "
                               "together";
  if (sharedUp) {
    static constexpr StringRef sharedUpLayout[] = {"d", "2fs"};
    if (failed(shapes.bind("shared_down", sharedDown, {"fs", "d"})) ||
        failed(shapes.bind("shared_up", sharedUp, sharedUpLayout)) ||
        failed(
            expectSameElementType(op, "shared_up", sharedUp, "x", op.getX())) ||
        failed(expectSameElementType(op, "shared_down", sharedDown, "x",
                                     op.getX())))
      return failure();
    if (failed(shapes.expectDerived("shared_up", sharedUp, sharedUpLayout, 1,
                                    "fs", 2, 0, "twice fs from 'shared_down'")))
      return failure();
  }

  int64_t numExperts = shapes.get("E"), topK = op.getTopK();
  if (!ShapedType::isDynamic(numExperts) && topK > numExperts)
    return op.emitOpError()
           << "'top_k' (" << topK
           << ") must not exceed the number of experts E = " << numExperts;
  // The layer dispatches its T * k pairs (tessera-decompose-moe).
  if (!ShapedType::isDynamic(numExperts) &&
      !dispatchRowBound(shapes.get("T"), topK, numExperts, op.getBlock()))
    return emitTooManyDispatchRows(op, shapes.get("T"), topK, numExperts,
                                   op.getBlock());
  shapes.recordSum(RuntimeShapeCheck::Kind::NonNegative,
                   {{-static_cast<int64_t>(topK), {"T"}},
                    {1 - static_cast<int64_t>(op.getBlock()), {"E"}}},
                   kMaxDispatchRows,
                   "T * top_k + E * (block - 1) rows must not exceed " +
                       Twine(kMaxDispatchRows) + ", which i32 offsets index");
  return verifyRouteAttrs(op, shapes, numExperts, topK, op.getNGroup(),
                          op.getTopkGroup(), op.getScale().convertToFloat());
}

LogicalResult MoEOp::verify() {
  ShapeBinder shapes(*this);
  return verifyMoEOp(*this, shapes);
}

//===----------------------------------------------------------------------===//
// Run-time shape checks
//===----------------------------------------------------------------------===//

void mlir::tessera::collectRuntimeShapeChecks(
    Operation *op, SmallVectorImpl<RuntimeShapeCheck> &checks) {
  ShapeBinder shapes(op, &checks);
  // The op passed its verifier: these calls only record.
  LogicalResult verified =
      llvm::TypeSwitch<Operation *, LogicalResult>(op)
          .Case([&](AttentionOp op) { return verifyAttentionOp(op, shapes); })
          .Case([&](LatentAttentionOp op) {
            return verifyLatentAttentionOp(op, shapes);
          })
          .Case([&](RouteOp op) { return verifyRouteOp(op, shapes); })
          .Case([&](DispatchOp op) { return verifyDispatchOp(op, shapes); })
          .Case([&](GroupedMatmulOp op) {
            return verifyGroupedMatmulOp(op, shapes);
          })
          .Case([&](CombineOp op) { return verifyCombineOp(op, shapes); })
          .Case([&](MoEOp op) { return verifyMoEOp(op, shapes); })
          .Default([](Operation *) { return success(); });
  assert(succeeded(verified) && "collecting the checks of an invalid op");
  (void)verified;
}

#define GET_OP_CLASSES
#include "tessera/Dialect/Tessera/IR/TesseraOps.cpp.inc"
