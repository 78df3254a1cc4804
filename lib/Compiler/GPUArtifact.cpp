//===- GPUArtifact.cpp - Device code plus its launch manifest -------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "GPUArtifact.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

static std::string describe(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "'" << op->getName() << "' at " << op->getLoc();
  return text;
}

/// The artifact's name of an element type, empty if it has none.
static StringRef getDTypeName(Type type) {
  if (type.isF32())
    return "f32";
  if (type.isF16())
    return "f16";
  if (type.isBF16())
    return "bf16";
  if (type.isF64())
    return "f64";
  if (type.isInteger(1))
    return "i1";
  if (type.isInteger(8))
    return "i8";
  if (type.isInteger(16))
    return "i16";
  if (type.isInteger(32))
    return "i32";
  if (type.isInteger(64))
    return "i64";
  return "";
}

static std::string getShapeText(MemRefType type) {
  if (type.getRank() == 0)
    return "-";
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleave(type.getShape(), os, "x");
  return text;
}

static int64_t getByteSize(MemRefType type) {
  int64_t bits = type.getElementType().getIntOrFloatBitWidth();
  return type.getNumElements() * std::max<int64_t>(bits / 8, 1);
}

static llvm::Expected<int64_t> getConstantDim(Value value, Operation *op) {
  APInt constant;
  if (!value)
    return 0;
  if (!matchPattern(value, m_ConstantInt(&constant)))
    return makeError("the launch configuration of " + describe(op) +
                     " is not constant");
  return constant.getSExtValue();
}

static llvm::Error writeFunction(func::FuncOp func, raw_ostream &os) {
  os << "function " << func.getSymName() << "\n";
  llvm::DenseMap<Value, unsigned> buffers;
  unsigned numBuffers = 0;
  unsigned inputs = 0, outputs = 0;
  for (BlockArgument argument : func.getArguments()) {
    auto type = dyn_cast<MemRefType>(argument.getType());
    StringRef dtype = type ? getDTypeName(type.getElementType()) : "";
    if (!type || !type.hasStaticShape() || dtype.empty())
      return makeError("argument #" + Twine(argument.getArgNumber()) + " of '" +
                       func.getSymName() +
                       "' has a type the GPU artifact cannot describe");
    unsigned id = numBuffers++;
    buffers[argument] = id;
    // buffer-results-to-out-params marks the out-parameters.
    bool isResult = static_cast<bool>(
        func.getArgAttr(argument.getArgNumber(), "bufferize.result"));
    os << "buffer " << id << (isResult ? " output " : " input ")
       << (isResult ? outputs++ : inputs++) << " " << dtype << " "
       << getShapeText(type) << "\n";
  }

  for (Operation &op : func.getBody().front()) {
    if (isa<arith::ConstantOp, memref::DeallocOp, func::ReturnOp>(op))
      continue;
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      if (!alloc.getType().hasStaticShape() ||
          getDTypeName(alloc.getType().getElementType()).empty())
        return makeError("the temporary " + describe(&op) +
                         " has a type the GPU artifact cannot describe");
      unsigned id = numBuffers++;
      buffers[alloc] = id;
      os << "buffer " << id << " temp " << getByteSize(alloc.getType()) << "\n";
      continue;
    }
    // A reshape of a buffer (the one expert of a MoE layer's shared experts)
    // is its bytes: kernels take bare pointers, so launches name the source.
    if (isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(op)) {
      auto it = buffers.find(op.getOperand(0));
      if (it != buffers.end() && cast<MemRefType>(op.getResult(0).getType())
                                     .getLayout()
                                     .isIdentity()) {
        buffers[op.getResult(0)] = it->second;
        continue;
      }
    }
    auto launch = dyn_cast<gpu::LaunchFuncOp>(op);
    if (!launch)
      return makeError(describe(&op) + " is left on the host: the GPU "
                                       "artifact describes allocations and "
                                       "kernel launches only");
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
    gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
    os << "launch " << launch.getKernelName().getValue();
    Value shared = launch.getDynamicSharedMemorySize();
    for (Value dim :
         {grid.x, grid.y, grid.z, block.x, block.y, block.z, shared}) {
      llvm::Expected<int64_t> size = getConstantDim(dim, launch);
      if (!size)
        return size.takeError();
      os << " " << *size;
    }
    for (Value operand : launch.getKernelOperands()) {
      auto it = buffers.find(operand);
      if (it == buffers.end())
        return makeError("an argument of " + describe(launch) +
                         " is not a buffer of the function");
      os << " b" << it->second;
    }
    os << "\n";
  }
  os << "end\n";
  return llvm::Error::success();
}

llvm::Error mlir::tessera::writeGPUArtifact(ModuleOp module, StringRef target,
                                            StringRef chip,
                                            StringRef imageFormat,
                                            StringRef image, raw_ostream &os) {
  std::string manifest;
  llvm::raw_string_ostream manifestStream(manifest);
  manifestStream << "tessera-gpu-artifact 1\n"
                 << "target " << target << " " << chip << "\n"
                 << "image " << imageFormat << " " << image.size() << "\n";
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isDeclaration() || !func.isPublic())
      continue;
    if (llvm::Error error = writeFunction(func, manifestStream))
      return error;
  }
  os << manifest << "data\n" << image;
  return llvm::Error::success();
}
