//===- HoistLoopBuffers.cpp - Allocate loop temporaries once -------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Moves `memref.alloc` ops whose buffers live within one iteration of a
// sequential `scf.for` in front of the loop, so that the KV loop of tiled
// attention (and any other loop of tiles) allocates its temporaries once
// rather than once per step. Upstream's buffer-loop-hoisting also hoists out
// of `scf.forall` / `scf.parallel` bodies, which would share one buffer
// between parallel iterations; this pass stops at anything but `scf.for`.
//
//===----------------------------------------------------------------------===//

#include "tessera/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/Transforms/BufferViewFlowAnalysis.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir {
namespace tessera {
#define GEN_PASS_DEF_TESSERAHOISTLOOPBUFFERS
#include "tessera/Transforms/Passes.h.inc"
} // namespace tessera
} // namespace mlir

#define DEBUG_TYPE "tessera-hoist-loop-buffers"

using namespace mlir;

namespace {

/// Whether every value in `aliases` is defined inside the body of `loop`:
/// no view of the buffer is yielded out of an iteration (as a loop result or
/// the next iteration's argument) or comes from outside, so iterations can
/// share it.
bool staysInIteration(scf::ForOp loop,
                      const BufferViewFlowAnalysis::ValueSetT &aliases) {
  Region &body = loop.getRegion();
  return llvm::all_of(aliases, [&](Value alias) {
    Region *region = alias.getParentRegion();
    if (!region || !body.isAncestor(region))
      return false;
    // The loop's own iteration arguments carry values across iterations.
    auto argument = dyn_cast<BlockArgument>(alias);
    return !argument || argument.getOwner()->getParentOp() != loop;
  });
}

struct TesseraHoistLoopBuffersPass
    : public tessera::impl::TesseraHoistLoopBuffersBase<
          TesseraHoistLoopBuffersPass> {
  void runOnOperation() override {
    SmallVector<memref::AllocOp> allocs;
    getOperation().walk([&](memref::AllocOp op) { allocs.push_back(op); });
    if (allocs.empty())
      return;
    BufferViewFlowAnalysis analysis(getOperation());
    for (memref::AllocOp alloc : allocs) {
      BufferViewFlowAnalysis::ValueSetT aliases =
          analysis.resolve(alloc.getResult());
      // Walk out through directly enclosing scf.for loops while the sizes
      // are defined outside the loop and no alias leaves an iteration.
      Operation *destination = nullptr;
      for (auto loop = dyn_cast<scf::ForOp>(alloc->getParentOp()); loop;
           loop = dyn_cast<scf::ForOp>(loop->getParentOp())) {
        if (!llvm::all_of(alloc->getOperands(),
                          [&](Value size) {
                            return loop.isDefinedOutsideOfLoop(size);
                          }) ||
            !staysInIteration(loop, aliases))
          break;
        destination = loop;
      }
      if (destination)
        alloc->moveBefore(destination);
    }
  }
};

} // namespace
