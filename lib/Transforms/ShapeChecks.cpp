//===- ShapeChecks.cpp - Run-time checks of dynamic dimensions ------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Builds `@f_shape_check` for each public function `@f` whose tessera ops
// have shape rules over dynamic dimensions (RuntimeShapeChecks.h). The check
// is a clone of `@f` in which each op is preceded by the i1s of its broken
// rules; the clone returns the message of the first broken rule, and the
// computation itself, no longer used, is erased. Sizes of intermediate values
// are rewritten in terms of the arguments' sizes through
// ReifyRankedShapedTypeOpInterface; a rule that would still need a computed
// value is dropped with a warning.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/RuntimeShapeChecks.h"
#include "tessera/Dialect/Tessera/IR/TesseraOps.h"
#include "tessera/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace mlir {
namespace tessera {
#define GEN_PASS_DEF_TESSERASHAPECHECKS
#include "tessera/Transforms/Passes.h.inc"
} // namespace tessera
} // namespace mlir

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// Marks a function built by this pass (its value: the checked function).
constexpr StringLiteral kShapeCheckAttrName = "tessera.shape_check_of";

/// `file:line:col` of the first file location in `loc`, or "".
std::string formatLocation(Location loc) {
  std::string text;
  loc->walk([&](Location nested) {
    if (auto fileLoc = dyn_cast<FileLineColLoc>(nested)) {
      text = (fileLoc.getFilename().getValue() + ":" +
              Twine(fileLoc.getLine()) + ":" + Twine(fileLoc.getColumn()))
                 .str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return text;
}

/// The value of `term` as an i128 (products of two sizes cannot overflow).
Value buildTerm(OpBuilder &b, Location loc, const ShapeTerm &term,
                const IRMapping &mapping) {
  Type i128 = b.getIntegerType(128);
  Value product = arith::ConstantOp::create(
      b, loc, IntegerAttr::get(i128, APInt(128, term.coefficient, true)));
  for (const DimRef &ref : term.factors) {
    Value size = tensor::DimOp::create(b, loc, mapping.lookup(ref.value),
                                       static_cast<int64_t>(ref.dim));
    product = arith::MulIOp::create(
        b, loc, product, arith::IndexCastOp::create(b, loc, i128, size));
  }
  return product;
}

/// An i1 that is true when `check` is broken.
Value buildFailure(OpBuilder &b, Location loc, const RuntimeShapeCheck &check,
                   const IRMapping &mapping) {
  Type i128 = b.getIntegerType(128);
  auto constant = [&](int64_t value) -> Value {
    return arith::ConstantOp::create(
        b, loc, IntegerAttr::get(i128, APInt(128, value, true)));
  };
  if (check.kind == RuntimeShapeCheck::Kind::Divisible) {
    Value dividend = buildTerm(b, loc, check.terms[0], mapping);
    Value divisor = buildTerm(b, loc, check.terms[1], mapping);
    Value zero = constant(0);
    Value notPositive =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, divisor, zero);
    // Sizes are below 2^63: divide as i64 (an i128 division is a libcall).
    Type i64 = b.getI64Type();
    Value safeDivisor = arith::TruncIOp::create(
        b, loc, i64,
        arith::SelectOp::create(b, loc, notPositive, constant(1), divisor));
    Value remainder = arith::RemSIOp::create(
        b, loc, arith::TruncIOp::create(b, loc, i64, dividend), safeDivisor);
    Value inexact = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::ne, remainder,
        arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(0)));
    return arith::OrIOp::create(b, loc, notPositive, inexact);
  }
  Value sum = constant(0);
  for (const ShapeTerm &term : check.terms)
    sum = arith::AddIOp::create(b, loc, sum, buildTerm(b, loc, term, mapping));
  return arith::CmpIOp::create(b, loc,
                               check.kind == RuntimeShapeCheck::Kind::Zero
                                   ? arith::CmpIPredicate::ne
                                   : arith::CmpIPredicate::slt,
                               sum, constant(0));
}

/// True when `value` is computed from the function's arguments by integer
/// arithmetic and `tensor.dim` of arguments only.
bool dependsOnSizesOnly(Value value) {
  SmallVector<Value> worklist = {value};
  llvm::SmallPtrSet<Operation *, 16> visited;
  while (!worklist.empty()) {
    Value current = worklist.pop_back_val();
    Operation *def = current.getDefiningOp();
    if (!def || !visited.insert(def).second)
      continue;
    if (auto dim = dyn_cast<tensor::DimOp>(def)) {
      if (!isa<BlockArgument>(dim.getSource()))
        return false;
      worklist.push_back(dim.getIndex());
      continue;
    }
    if (!isa<arith::ArithDialect>(def->getDialect()))
      return false;
    llvm::append_range(worklist, def->getOperands());
  }
  return true;
}

struct TesseraShapeChecksPass
    : public tessera::impl::TesseraShapeChecksBase<TesseraShapeChecksPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> functions(module.getOps<func::FuncOp>());
    for (func::FuncOp function : functions)
      if (failed(addShapeCheck(function, symbols)))
        return signalPassFailure();
  }

  LogicalResult addShapeCheck(func::FuncOp function, SymbolTable &symbols) {
    if (function.isExternal() || !function.isPublic() ||
        function->hasAttr(kShapeCheckAttrName))
      return success();

    SmallVector<std::pair<Operation *, RuntimeShapeCheck>> rules;
    Block &entry = function.getBody().front();
    function.walk([&](Operation *op) {
      if (!isa<TesseraDialect>(op->getDialect()))
        return;
      SmallVector<RuntimeShapeCheck> checks;
      collectRuntimeShapeChecks(op, checks);
      if (checks.empty())
        return;
      if (op->getBlock() != &entry) {
        op->emitWarning() << "its dynamic sizes are not checked at run time: "
                             "only ops in the entry block of @"
                          << function.getSymName() << " are";
        return;
      }
      for (RuntimeShapeCheck &check : checks)
        rules.emplace_back(op, std::move(check));
    });
    if (rules.empty())
      return success();

    std::string name = (function.getSymName() + "_shape_check").str();
    if (Operation *existing = symbols.lookup(name)) {
      if (existing->hasAttr(kShapeCheckAttrName))
        return success();
      return function.emitError()
             << "cannot add the run-time shape check @" << name
             << ": the module already has a symbol of that name";
    }

    // Clone the function and build each rule before its op.
    MLIRContext *ctx = function.getContext();
    IRMapping mapping;
    auto check = cast<func::FuncOp>(function->clone(mapping));
    check.setSymName(name);
    check->setAttr(kShapeCheckAttrName,
                   FlatSymbolRefAttr::get(function.getSymNameAttr()));
    check.removeResAttrsAttr();
    symbols.insert(check, std::next(Block::iterator(function)));

    OpBuilder b(ctx);
    SmallVector<Value> failures;
    for (auto &[op, rule] : rules) {
      Operation *clonedOp = mapping.lookup(op);
      b.setInsertionPoint(clonedOp);
      failures.push_back(buildFailure(b, op->getLoc(), rule, mapping));
    }

    // Return the message of the first broken rule, or null.
    auto terminator = cast<func::ReturnOp>(check.getBody().front().back());
    b.setInsertionPoint(terminator);
    Location loc = function.getLoc();
    Type pointer = LLVM::LLVMPointerType::get(ctx);
    Value message = LLVM::ZeroOp::create(b, loc, pointer);
    DenseMap<Operation *, Location> ruleLocations;
    for (size_t index = rules.size(); index-- > 0;) {
      auto &[op, rule] = rules[index];
      std::string text = "'" + op->getName().getStringRef().str() + "' op";
      if (std::string where = formatLocation(op->getLoc()); !where.empty())
        text += " at " + where;
      text += ": " + rule.message;
      text.push_back('\0');
      std::string global = uniqueGlobalName(symbols);
      Value address = LLVM::createGlobalString(loc, b, global, text,
                                               LLVM::Linkage::Internal);
      auto select =
          arith::SelectOp::create(b, loc, failures[index], address, message);
      ruleLocations.try_emplace(select, op->getLoc());
      message = select;
    }
    func::ReturnOp::create(b, terminator.getLoc(), message);
    terminator.erase();
    check.setFunctionType(
        FunctionType::get(ctx, check.getArgumentTypes(), {pointer}));

    // Rewrite sizes of intermediate values in terms of the arguments and
    // erase the computation.
    if (failed(simplify(check)))
      return check.emitError("cannot simplify the run-time shape check");

    // Drop the rules that still need a computed value.
    auto ret = cast<func::ReturnOp>(check.getBody().front().back());
    bool dropped = false;
    for (Value current = ret.getOperand(0);
         auto select = current.getDefiningOp<arith::SelectOp>();
         current = select.getFalseValue()) {
      if (dependsOnSizesOnly(select.getCondition()))
        continue;
      auto it = ruleLocations.find(select);
      emitWarning(it == ruleLocations.end() ? loc : it->second)
          << "a run-time shape rule is not checked: it needs sizes that are "
             "only known once @"
          << function.getSymName() << " runs";
      b.setInsertionPoint(select);
      select.getConditionMutable().assign(
          arith::ConstantOp::create(b, loc, b.getBoolAttr(false)));
      dropped = true;
    }
    if (dropped && failed(simplify(check)))
      return check.emitError("cannot simplify the run-time shape check");
    return success();
  }

  /// Resolves `tensor.dim` of op results through the producing ops and erases
  /// what is dead.
  static LogicalResult simplify(func::FuncOp check) {
    MLIRContext *ctx = check.getContext();
    RewritePatternSet patterns(ctx);
    memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
    memref::populateResolveShapedTypeResultDimsPatterns(patterns);
    tensor::DimOp::getCanonicalizationPatterns(patterns, ctx);
    arith::SelectOp::getCanonicalizationPatterns(patterns, ctx);
    return applyPatternsGreedily(check, std::move(patterns));
  }

  std::string uniqueGlobalName(SymbolTable &symbols) {
    std::string name;
    do {
      name = "__tessera_shape_check_message_" + std::to_string(nextGlobal++);
    } while (symbols.lookup(name));
    return name;
  }

  unsigned nextGlobal = 0;
};

} // namespace
