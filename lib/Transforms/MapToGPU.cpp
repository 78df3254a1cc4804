//===- MapToGPU.cpp - Parallel loops to GPU kernels -----------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Turns each top-level `scf.parallel` of a bufferized, statically shaped
// function into a kernel of `gpu.module @tessera_kernels` and a
// `gpu.launch_func` of it:
//
//   scf.parallel (%i0, ..., %in) = (lb) to (ub) step (s) { body }
//
// becomes a 1-D grid of ceil(N / B) blocks of B threads, N the product of
// the trip counts; thread t = block_id * B + thread_id runs the body for
//   %in = lb_n + (t mod n_n) * s_n, %i(n-1) = ... (t div n_n) mod n_(n-1), ...
// when t < N. The last dimension varies fastest so that neighbouring
// threads touch neighbouring elements. Values the body uses from the host
// are either recreated in the kernel (constants, memref views and the index
// arithmetic on them) or passed as arguments (whole buffers: function
// arguments and allocations), so each launch is fully described by its
// grid and its buffers.
//
// Top-level `memref.copy` ops (from bufferization) are first rewritten into
// parallel loops of loads and stores and then mapped like the others.
//
//===----------------------------------------------------------------------===//

#include "tessera/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

#include <functional>

namespace mlir {
namespace tessera {
#define GEN_PASS_DEF_TESSERAMAPTOGPU
#include "tessera/Transforms/Passes.h.inc"
} // namespace tessera
} // namespace mlir

#define DEBUG_TYPE "tessera-map-to-gpu"

using namespace mlir;

namespace {

constexpr StringLiteral kKernelModuleName = "tessera_kernels";

/// Ops that may stay on the host: they only describe buffers and launches.
bool isHostOp(Operation *op) {
  return isa<arith::ConstantOp, memref::AllocOp, memref::DeallocOp,
             memref::GetGlobalOp, gpu::LaunchFuncOp, func::ReturnOp>(op) ||
         isa<ViewLikeOpInterface>(op);
}

/// Ops whose results a kernel recomputes instead of receiving: constants,
/// views of buffers and index arithmetic, all free of side effects.
bool isRecomputable(Operation *op) {
  return isa<arith::ConstantOp, memref::GetGlobalOp, ViewLikeOpInterface,
             affine::AffineApplyOp, arith::AddIOp, arith::SubIOp, arith::MulIOp,
             arith::DivUIOp, arith::DivSIOp, arith::RemUIOp, arith::RemSIOp,
             arith::IndexCastOp, arith::MinSIOp, arith::MaxSIOp, arith::MinUIOp,
             arith::MaxUIOp, arith::CeilDivSIOp, arith::FloorDivSIOp,
             memref::DimOp>(op);
}

/// A statically shaped memref with the identity layout: what the bare-pointer
/// kernel calling convention and the artifact's buffers support.
bool isWholeBuffer(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  return memref && memref.hasStaticShape() && memref.getLayout().isIdentity();
}

class KernelBuilder {
public:
  KernelBuilder(ModuleOp module, int64_t blockSize)
      : module(module), blockSize(blockSize) {}

  LogicalResult mapFunction(func::FuncOp func);

private:
  gpu::GPUModuleOp getKernelModule();
  LogicalResult mapLoop(func::FuncOp func, scf::ParallelOp loop);
  FailureOr<scf::ParallelOp> hoistParallelLoop(scf::ForOp outer);
  LogicalResult copyGlobalToKernels(memref::GetGlobalOp use);
  scf::ParallelOp wrapInSingleThread(ArrayRef<Operation *> ops);

  ModuleOp module;
  int64_t blockSize;
  gpu::GPUModuleOp kernelModule;
  unsigned nextKernel = 0;
};

gpu::GPUModuleOp KernelBuilder::getKernelModule() {
  if (kernelModule)
    return kernelModule;
  if (auto existing = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModuleName))
    return kernelModule = existing;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  kernelModule =
      gpu::GPUModuleOp::create(b, module.getLoc(), kKernelModuleName);
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  b.getUnitAttr());
  return kernelModule;
}

/// Replaces `copy` by element loads and stores in a loop nest over the
/// source's sizes: one `scf.parallel` (a kernel's worth, on the host) or
/// nested `scf.for`s (inside a kernel, which cannot call memrefCopy).
/// Returns the parallel loop, if any.
static scf::ParallelOp expandCopy(memref::CopyOp copy, bool parallel) {
  OpBuilder b(copy);
  Location loc = copy.getLoc();
  auto type = cast<MemRefType>(copy.getSource().getType());
  SmallVector<Value> lower, upper, steps;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t d = 0; d < type.getRank(); ++d) {
    lower.push_back(zero);
    upper.push_back(
        type.isDynamicDim(d)
            ? memref::DimOp::create(b, loc, copy.getSource(), d).getResult()
            : arith::ConstantIndexOp::create(b, loc, type.getDimSize(d))
                  .getResult());
    steps.push_back(one);
  }
  auto body = [&](OpBuilder &nested, Location nestedLoc, ValueRange ivs) {
    Value value =
        memref::LoadOp::create(nested, nestedLoc, copy.getSource(), ivs);
    memref::StoreOp::create(nested, nestedLoc, value, copy.getTarget(), ivs);
  };
  scf::ParallelOp loop;
  if (parallel)
    loop = scf::ParallelOp::create(b, loc, lower, upper, steps, body);
  else
    scf::buildLoopNest(b, loc, lower, upper, steps, body);
  copy.erase();
  return loop;
}

/// Gives the kernel module its own copy of the constant global `use` reads.
LogicalResult KernelBuilder::copyGlobalToKernels(memref::GetGlobalOp use) {
  gpu::GPUModuleOp kernels = getKernelModule();
  if (kernels.lookupSymbol(use.getNameAttr()))
    return success();
  auto global = module.lookupSymbol<memref::GlobalOp>(use.getNameAttr());
  if (!global || !global.getConstant() || !global.getInitialValue())
    return use.emitOpError("reads a global that is not a constant, which a "
                           "GPU kernel cannot share with the host");
  OpBuilder b = OpBuilder::atBlockBegin(kernels.getBody());
  b.clone(*global);
  return success();
}

/// Moves `ops` (sequential code: a loop that is not a parallel nest in
/// disguise, such as the scatter of a counting sort, or what a loop of one
/// iteration folded to) into a parallel loop of one iteration: a kernel of
/// one thread.
scf::ParallelOp KernelBuilder::wrapInSingleThread(ArrayRef<Operation *> ops) {
  OpBuilder b(ops.front());
  Location loc = ops.front()->getLoc();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ParallelOp::create(b, loc, zero, one, one,
                                      [](OpBuilder &, Location, ValueRange) {});
  for (Operation *op : ops)
    op->moveBefore(loop.getBody()->getTerminator());
  return loop;
}

/// The perfect nest of `scf.for` loops without iteration arguments that
/// starts at `start` and ends in an `scf.parallel` without results whose
/// bounds are defined outside `scope`; null if there is none.
static scf::ParallelOp matchForNest(Operation *start, Operation *scope,
                                    SmallVectorImpl<scf::ForOp> &fors) {
  Operation *current = start;
  while (auto loop = dyn_cast<scf::ForOp>(current)) {
    if (loop.getNumRegionIterArgs() != 0 ||
        loop.getBody()->getOperations().size() != 2)
      return nullptr;
    fors.push_back(loop);
    current = &loop.getBody()->front();
  }
  auto inner = dyn_cast<scf::ParallelOp>(current);
  if (fors.empty() || !inner || inner.getNumResults() != 0 ||
      llvm::any_of(inner->getOperands(), [&](Value bound) {
        Operation *def = bound.getDefiningOp();
        return !def ? scope->isAncestor(
                          cast<BlockArgument>(bound).getOwner()->getParentOp())
                    : scope->isAncestor(def);
      }))
    return nullptr;
  return inner;
}

/// Recreates `fors` at the start of `target` (whose induction variables
/// `mapping` already maps) around the body of `inner`, then erases `root`.
static void rebuildForNest(scf::ParallelOp target, ArrayRef<scf::ForOp> fors,
                           scf::ParallelOp inner, IRMapping &mapping,
                           Operation *root) {
  OpBuilder b = OpBuilder::atBlockBegin(target.getBody());
  for (scf::ForOp loop : fors) {
    auto clone = scf::ForOp::create(
        b, loop.getLoc(), mapping.lookupOrDefault(loop.getLowerBound()),
        mapping.lookupOrDefault(loop.getUpperBound()),
        mapping.lookupOrDefault(loop.getStep()));
    mapping.map(loop.getInductionVar(), clone.getInductionVar());
    b.setInsertionPointToStart(clone.getBody());
  }
  for (Operation &op : inner.getBody()->without_terminator())
    b.clone(op, mapping);
  root->erase();
}

/// Rewrites a perfect nest of `scf.for` loops around one `scf.parallel`,
///   for %i { for %j { parallel (%p) { body } } }
/// into `parallel (%p) { for %i { for %j { body } } }`. Lowering a linalg op
/// whose reduction dimensions come first produces such nests; each parallel
/// iteration updates only the elements its own indices address, so running
/// the sequential loops inside each iteration keeps their order per element.
FailureOr<scf::ParallelOp> KernelBuilder::hoistParallelLoop(scf::ForOp outer) {
  SmallVector<scf::ForOp> fors;
  scf::ParallelOp inner = matchForNest(outer, outer, fors);
  if (!inner)
    return failure();
  OpBuilder b(outer);
  auto hoisted = scf::ParallelOp::create(
      b, inner.getLoc(), inner.getLowerBound(), inner.getUpperBound(),
      inner.getStep(), [](OpBuilder &, Location, ValueRange) {});
  IRMapping mapping;
  mapping.map(inner.getBody()->getArguments(),
              hoisted.getBody()->getArguments());
  rebuildForNest(hoisted, fors, inner, mapping, outer);
  return hoisted;
}

/// Rewrites `parallel (%p) { for %i { parallel (%q) { body } } }`, whose
/// body is only the nest, into `parallel (%p, %q) { for %i { body } }` (the
/// loops of a linalg op with a reduction between parallel dimensions, such
/// as attention's `P V`), so that the inner parallel dimensions get threads
/// too. Legal for the same reason as hoistParallelLoop. Returns `loop` when
/// it is not such a nest.
static scf::ParallelOp mergeNestedParallelLoops(scf::ParallelOp loop) {
  Block *body = loop.getBody();
  SmallVector<scf::ForOp> fors;
  scf::ParallelOp nested = body->getOperations().size() == 2
                               ? matchForNest(&body->front(), loop, fors)
                               : nullptr;
  if (!nested)
    return loop;

  OpBuilder b(loop);
  auto concat = [](OperandRange a, OperandRange c) {
    SmallVector<Value> all(a.begin(), a.end());
    all.append(c.begin(), c.end());
    return all;
  };
  auto merged = scf::ParallelOp::create(
      b, loop.getLoc(), concat(loop.getLowerBound(), nested.getLowerBound()),
      concat(loop.getUpperBound(), nested.getUpperBound()),
      concat(loop.getStep(), nested.getStep()),
      [](OpBuilder &, Location, ValueRange) {});
  IRMapping mapping;
  unsigned outerRank = loop.getNumLoops();
  ValueRange ivs = merged.getBody()->getArguments();
  mapping.map(loop.getInductionVars(), ivs.take_front(outerRank));
  mapping.map(nested.getInductionVars(), ivs.drop_front(outerRank));
  rebuildForNest(merged, fors, nested, mapping, loop);
  return merged;
}

LogicalResult KernelBuilder::mapLoop(func::FuncOp func, scf::ParallelOp loop) {
  if (loop.getNumResults() != 0)
    return loop.emitOpError("with reductions is not mapped to the GPU");
  loop = mergeNestedParallelLoops(loop);

  // Static iteration space.
  SmallVector<int64_t> lower, steps, trips;
  int64_t total = 1;
  for (auto [lb, ub, step] : llvm::zip_equal(
           loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    std::optional<int64_t> l = getConstantIntValue(lb);
    std::optional<int64_t> u = getConstantIntValue(ub);
    std::optional<int64_t> s = getConstantIntValue(step);
    if (!l || !u || !s || *s <= 0)
      return loop.emitOpError(
          "needs constant bounds and steps to be mapped to the GPU (dynamic "
          "shapes are not supported by the GPU targets yet)");
    int64_t trip = *u > *l ? llvm::divideCeil(*u - *l, *s) : 0;
    lower.push_back(*l);
    steps.push_back(*s);
    trips.push_back(trip);
    total *= trip;
  }
  if (total == 0) {
    loop.erase();
    return success();
  }

  // Values from the host: recompute what is cheap, pass buffers.
  SetVector<Value> captured;
  getUsedValuesDefinedAbove(loop.getRegion(), captured);
  // Arguments in the order of first use, views and constants followed to
  // the buffers they are made from.
  SetVector<Value> arguments;
  SetVector<Operation *> recomputed;
  std::function<LogicalResult(Value)> capture = [&](Value value) {
    Operation *def = value.getDefiningOp();
    if (def && isRecomputable(def)) {
      if (recomputed.insert(def))
        for (Value operand : def->getOperands())
          if (failed(capture(operand)))
            return failure();
      return success();
    }
    if (isWholeBuffer(value.getType())) {
      arguments.insert(value);
      return success();
    }
    InFlightDiagnostic diag = loop.emitOpError()
                              << "uses a value computed on the host, which a "
                                 "GPU kernel cannot receive: "
                              << value.getType();
    if (def)
      diag.attachNote(def->getLoc()) << "computed here";
    return failure();
  };
  for (Value value : captured)
    if (failed(capture(value)))
      return failure();

  // The kernel.
  gpu::GPUModuleOp kernels = getKernelModule();
  OpBuilder b = OpBuilder::atBlockEnd(kernels.getBody());
  Location loc = loop.getLoc();
  SmallVector<Type> argumentTypes;
  for (Value argument : arguments)
    argumentTypes.push_back(argument.getType());
  std::string name = (func.getSymName() + "_k" + Twine(nextKernel++)).str();
  auto kernel = gpu::GPUFuncOp::create(b, loc, name,
                                       b.getFunctionType(argumentTypes, {}));
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  int64_t threads = std::min(blockSize, total);
  int64_t blocks = llvm::divideCeil(total, threads);
  if (blocks > std::numeric_limits<int32_t>::max())
    return loop.emitOpError("has too many iterations for one grid: ") << total;
  kernel.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({static_cast<int32_t>(threads), 1, 1}));
  kernel.setKnownGridSizeAttr(
      b.getDenseI32ArrayAttr({static_cast<int32_t>(blocks), 1, 1}));

  Block &entry = kernel.getBody().front();
  b.setInsertionPointToStart(&entry);
  IRMapping mapping;
  for (auto [argument, blockArgument] :
       llvm::zip_equal(arguments, entry.getArguments()))
    mapping.map(argument, blockArgument);
  // Recreate the recomputed ops in their original (dominance) order.
  SmallVector<Operation *> ordered(recomputed.begin(), recomputed.end());
  llvm::sort(ordered,
             [](Operation *x, Operation *y) { return x->isBeforeInBlock(y); });
  for (Operation *op : ordered) {
    // Constant tensors (bufferized to globals) get a copy in device memory.
    if (auto global = dyn_cast<memref::GetGlobalOp>(op))
      if (failed(copyGlobalToKernels(global)))
        return failure();
    b.clone(*op, mapping);
  }

  Value blockId = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value threadId = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value linear = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, blockId, index(threads)), threadId);
  Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                        linear, index(total));
  auto guard = scf::IfOp::create(b, loc, inRange, /*withElseRegion=*/false);
  gpu::ReturnOp::create(b, loc);

  b.setInsertionPointToStart(guard.thenBlock());
  SmallVector<Value> ivs(trips.size());
  Value rest = linear;
  for (int64_t d = static_cast<int64_t>(trips.size()) - 1; d >= 0; --d) {
    Value position = rest;
    if (d > 0) {
      position = arith::RemUIOp::create(b, loc, rest, index(trips[d]));
      rest = arith::DivUIOp::create(b, loc, rest, index(trips[d]));
    }
    Value iv = position;
    if (steps[d] != 1)
      iv = arith::MulIOp::create(b, loc, iv, index(steps[d]));
    if (lower[d] != 0)
      iv = arith::AddIOp::create(b, loc, iv, index(lower[d]));
    ivs[d] = iv;
  }
  for (auto [iv, value] : llvm::zip_equal(loop.getInductionVars(), ivs))
    mapping.map(iv, value);
  for (Operation &op : loop.getBody()->without_terminator())
    b.clone(op, mapping);

  // Copies inside a kernel (bufferization's, in sequential code) become
  // loops: kernels cannot call the host's memrefCopy.
  kernel.walk(
      [](memref::CopyOp copy) { expandCopy(copy, /*parallel=*/false); });

  // The launch.
  OpBuilder host(loop);
  auto hostIndex = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(host, loc, v);
  };
  Value one = hostIndex(1);
  gpu::LaunchFuncOp::create(
      host, loc, kernel, gpu::KernelDim3{hostIndex(blocks), one, one},
      gpu::KernelDim3{hostIndex(threads), one, one},
      /*dynamicSharedMemorySize=*/Value(), arguments.getArrayRef());
  loop.erase();
  return success();
}

LogicalResult KernelBuilder::mapFunction(func::FuncOp func) {
  if (func.isExternal())
    return success();
  for (auto [i, type] : llvm::enumerate(func.getArgumentTypes()))
    if (!isWholeBuffer(type))
      return func.emitOpError("argument #")
             << i << " has type " << type
             << "; GPU code needs statically shaped memrefs with the "
                "identity layout";
  if (func.getNumResults() != 0)
    return func.emitOpError("returns values; GPU code returns its results "
                            "in out-parameters (buffer-results-to-out-params)");
  if (!func.getBody().hasOneBlock())
    return func.emitOpError("has control flow on the host");

  Operation *next = &func.getBody().front().front();
  while (Operation *op = next) {
    next = op->getNextNode();
    if (auto copy = dyn_cast<memref::CopyOp>(op)) {
      if (!cast<MemRefType>(copy.getSource().getType()).hasStaticShape())
        return copy.emitOpError("of a dynamically shaped memref is not "
                                "mapped to the GPU");
      if (failed(mapLoop(func, expandCopy(copy, /*parallel=*/true))))
        return failure();
      continue;
    }
    if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
      if (failed(mapLoop(func, loop)))
        return failure();
      continue;
    }
    if (auto nest = dyn_cast<scf::ForOp>(op)) {
      FailureOr<scf::ParallelOp> hoisted = hoistParallelLoop(nest);
      if (succeeded(hoisted)) {
        if (failed(mapLoop(func, *hoisted)))
          return failure();
        continue;
      }
    }
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      if (!isWholeBuffer(alloc.getType()))
        return alloc.emitOpError("of a dynamically shaped buffer is not "
                                 "supported on the GPU");
      continue;
    }
    if (isHostOp(op))
      continue;
    // Sequential code (a loop that is not a parallel nest, what unit-extent
    // loops fold to): the run of such ops up to the next host op or loop
    // becomes a kernel of one thread.
    SmallVector<Operation *> run = {op};
    while (next && !isHostOp(next) &&
           !isa<scf::ParallelOp, scf::ForOp, memref::CopyOp>(next)) {
      run.push_back(next);
      next = next->getNextNode();
    }
    for (Operation *member : run)
      for (Operation *user : member->getUsers())
        if (!llvm::any_of(run, [&](Operation *other) {
              return other == user || other->isProperAncestor(user);
            }))
          return user->emitOpError("uses a value computed by sequential "
                                   "code that is mapped to the GPU");
    if (failed(mapLoop(func, wrapInSingleThread(run))))
      return failure();
  }
  return success();
}

struct TesseraMapToGPUPass
    : public tessera::impl::TesseraMapToGPUBase<TesseraMapToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    if (blockSize <= 0 || blockSize % 32 != 0 || blockSize > 1024) {
      emitError(getOperation().getLoc(),
                "tessera-map-to-gpu: block-size must be a multiple of 32 in "
                "[32, 1024], got ")
          << static_cast<int64_t>(blockSize);
      return signalPassFailure();
    }
    ModuleOp module = getOperation();
    KernelBuilder builder(module, blockSize);
    for (auto func : llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
      if (failed(builder.mapFunction(func)))
        return signalPassFailure();
  }
};

} // namespace
