//===- Emulator.cpp - Running GPU kernels' IR on the host -----------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// See Emulator.h. Every value of a kernel holds one element (a scalar) or
// `width` elements (a vector) per thread of the block, as doubles: floats
// are rounded to their type after every op, integers are wrapped to their
// width. Ops run over all threads at once under a mask of the active ones
// (scf.if narrows it; a loop runs each thread's own trips); side effects
// and the checks apply to active threads only.
//
//===----------------------------------------------------------------------===//

#include "tessera/Target/GPU/Emulator.h"
#include "tessera/Support/FloatConversions.h"

#include "mlir/Dialect/AMDGPU/IR/AMDGPUDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <unordered_map>

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// The elements of an allocation in global or workgroup memory.
struct Storage {
  std::vector<double> data;
  /// Workgroup memory: per element the thread and barrier interval of the
  /// last write and read (-1: none; reader -2: several threads).
  bool workgroup = false;
  std::vector<int32_t> writer, reader;
  std::vector<int64_t> writeEpoch, readEpoch;
  /// Workgroup memory: asynchronous copies issued to each element and not
  /// yet waited for.
  std::vector<int32_t> pending;
  /// Workgroup memory: reads of each element by wgmma groups in flight,
  /// and whether its last write (a generic-proxy write) still needs a
  /// `fence.proxy.async` before a wgmma (the async proxy) may read it.
  std::vector<int32_t> asyncReads;
  std::vector<char> unfenced;
};

/// A memref: a strided view of a storage.
struct Buffer {
  Type element;
  SmallVector<int64_t> shape, strides;
  int64_t offset = 0;
  bool workgroup = false;
  std::shared_ptr<Storage> storage;

  /// A new row-major allocation of NaNs (of 0x7eadbeef for integers).
  Buffer(Type element, ArrayRef<int64_t> shape, bool workgroup = false)
      : element(element), shape(shape), workgroup(workgroup),
        storage(std::make_shared<Storage>()) {
    strides = getRowMajorStrides(shape);
    int64_t n = getNumElements();
    storage->data.assign(n, isa<FloatType>(element)
                                ? std::numeric_limits<double>::quiet_NaN()
                                : double(0x7eadbeef));
    storage->workgroup = workgroup;
    if (workgroup) {
      storage->writer.assign(n, -1);
      storage->reader.assign(n, -1);
      storage->writeEpoch.assign(n, -1);
      storage->readEpoch.assign(n, -1);
      storage->pending.assign(n, 0);
      storage->asyncReads.assign(n, 0);
      storage->unfenced.assign(n, 0);
    }
  }
  /// A view of `base`'s storage.
  Buffer(const Buffer &base, ArrayRef<int64_t> shape, ArrayRef<int64_t> strides,
         int64_t offset)
      : element(base.element), shape(shape), strides(strides), offset(offset),
        workgroup(base.workgroup), storage(base.storage) {}

  static SmallVector<int64_t> getRowMajorStrides(ArrayRef<int64_t> shape) {
    SmallVector<int64_t> strides(shape.size(), 1);
    for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
      strides[i] = strides[i + 1] * shape[i + 1];
    return strides;
  }
  bool isRowMajor() const {
    return offset == 0 && strides == getRowMajorStrides(shape);
  }
  int64_t getNumElements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  /// The storage index of the i-th element in row-major order.
  int64_t getStorageIndex(int64_t i) const {
    int64_t at = offset;
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      at += (i % shape[d]) * strides[d];
      i /= shape[d];
    }
    return at;
  }
  double &at(int64_t storageIndex) { return storage->data[storageIndex]; }
};

using BufferRef = std::shared_ptr<Buffer>;

/// The view that a reshape or a static subview `op` of `source` makes, or
/// null with `why` set.
BufferRef createView(Operation *op, const BufferRef &source, std::string &why) {
  auto type = cast<ShapedType>(op->getResult(0).getType());
  if (!type.hasStaticShape()) {
    why = "a view of dynamic shape";
    return nullptr;
  }
  ArrayRef<int64_t> shape = type.getShape();
  auto reassociated = [&](ArrayRef<ReassociationIndices> groups,
                          bool expand) -> BufferRef {
    SmallVector<int64_t> strides(shape.size());
    for (auto [outer, group] : llvm::enumerate(groups)) {
      if (expand) {
        // Dimension `outer` of the source splits into the group's.
        int64_t stride = source->strides[outer];
        for (int64_t i = static_cast<int64_t>(group.size()) - 1; i >= 0; --i) {
          strides[group[i]] = stride;
          stride *= shape[group[i]];
        }
        continue;
      }
      // The group's source dimensions merge into dimension `outer`: they
      // must be contiguous with each other.
      for (size_t i = 0; i + 1 < group.size(); ++i)
        if (source->strides[group[i]] !=
            source->strides[group[i + 1]] * source->shape[group[i + 1]]) {
          why = "a collapse of dimensions that are not contiguous";
          return nullptr;
        }
      strides[outer] = source->strides[group.back()];
    }
    return std::make_shared<Buffer>(*source, shape, strides, source->offset);
  };
  if (auto expand = dyn_cast<memref::ExpandShapeOp>(op))
    return reassociated(expand.getReassociationIndices(), /*expand=*/true);
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op))
    return reassociated(expand.getReassociationIndices(), /*expand=*/true);
  if (auto collapse = dyn_cast<memref::CollapseShapeOp>(op))
    return reassociated(collapse.getReassociationIndices(), /*expand=*/false);
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op))
    return reassociated(collapse.getReassociationIndices(), /*expand=*/false);
  if (isa<tensor::ReshapeOp, memref::ReshapeOp, memref::CastOp>(op)) {
    if (!source->isRowMajor() &&
        !(isa<memref::CastOp>(op) && source->shape == shape)) {
      why = "a reshape of a strided view";
      return nullptr;
    }
    return std::make_shared<Buffer>(
        *source, shape,
        isa<memref::CastOp>(op)
            ? ArrayRef<int64_t>(source->strides)
            : ArrayRef<int64_t>(Buffer::getRowMajorStrides(shape)),
        source->offset);
  }
  auto subview = dyn_cast<memref::SubViewOp>(op);
  if (!subview) {
    why = "an unknown view";
    return nullptr;
  }
  if (subview.getOffsets().size() || subview.getSizes().size() ||
      subview.getStrides().size()) {
    why = "a subview of dynamic offsets, sizes or strides";
    return nullptr;
  }
  int64_t offset = source->offset;
  SmallVector<int64_t> sizes, strides;
  llvm::SmallBitVector dropped = subview.getDroppedDims();
  for (auto [d, o, size, step] :
       llvm::enumerate(subview.getStaticOffsets(), subview.getStaticSizes(),
                       subview.getStaticStrides())) {
    offset += o * source->strides[d];
    if (dropped.test(d))
      continue;
    sizes.push_back(size);
    strides.push_back(step * source->strides[d]);
  }
  return std::make_shared<Buffer>(*source, sizes, strides, offset);
}

/// `x` rounded to the nearest bf16 (ties to even).
float roundToBF16(float x) {
  if (std::isnan(x))
    return x;
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  bits += 0x7fff + ((bits >> 16) & 1);
  bits &= 0xffff0000u;
  std::memcpy(&x, &bits, sizeof(bits));
  return x;
}

/// Rounds `x` to a value of `type`.
double roundTo(Type type, double x) {
  if (isa<Float32Type>(type))
    return static_cast<float>(x);
  if (isa<BFloat16Type>(type))
    return roundToBF16(static_cast<float>(x));
  if (isa<Float16Type>(type))
    return convertF16ToF32(convertF32ToF16(static_cast<float>(x)));
  if (isa<Float64Type>(type))
    return x;
  // An integer from a float that has none (fptosi of NaN or of a huge
  // value, say in a thread whose result is never used): poison, as 0.
  if (!(std::fabs(x) < 9.2e18))
    return 0.0;
  unsigned width = isa<IndexType>(type) ? 64 : type.getIntOrFloatBitWidth();
  if (width >= 64)
    return static_cast<double>(static_cast<int64_t>(x));
  int64_t v = static_cast<int64_t>(x);
  if (width == 1)
    return v & 1;
  uint64_t mask = (uint64_t(1) << width) - 1;
  uint64_t bits = static_cast<uint64_t>(v) & mask;
  if (bits >> (width - 1))
    return static_cast<double>(static_cast<int64_t>(bits | ~mask));
  return static_cast<double>(bits);
}

Type getElementType(Type type) {
  if (auto shaped = dyn_cast<ShapedType>(type))
    return shaped.getElementType();
  return type;
}

unsigned getWidth(Type type) {
  if (auto vector = dyn_cast<VectorType>(type))
    return vector.getNumElements();
  if (auto structType = dyn_cast<LLVM::LLVMStructType>(type))
    return structType.getBody().size();
  return 1;
}

unsigned getBitWidth(Type type) {
  return isa<IndexType>(type) ? 64 : type.getIntOrFloatBitWidth();
}

/// The bits of `value`, a value of `type` (an integer or a float of at most
/// 32 bits).
uint64_t toBits(Type type, double value) {
  unsigned width = getBitWidth(type);
  uint64_t mask = width >= 64 ? ~uint64_t(0) : (uint64_t(1) << width) - 1;
  if (!isa<FloatType>(type))
    return static_cast<uint64_t>(static_cast<int64_t>(value)) & mask;
  // The 16-bit formats without APFloat (the matrix kernels' hot path).
  if (isa<Float16Type>(type))
    return convertF32ToF16(static_cast<float>(value));
  if (isa<BFloat16Type>(type))
    return convertF32ToBF16(static_cast<float>(value));
  APFloat f(static_cast<float>(value));
  bool losesInfo;
  f.convert(cast<FloatType>(type).getFloatSemantics(),
            APFloat::rmNearestTiesToEven, &losesInfo);
  return f.bitcastToAPInt().getZExtValue();
}

/// The value of `type` whose bits are `bits`.
double fromBits(Type type, uint64_t bits) {
  unsigned width = getBitWidth(type);
  if (!isa<FloatType>(type))
    return roundTo(type, static_cast<double>(static_cast<int64_t>(bits)));
  if (isa<Float16Type>(type))
    return convertF16ToF32(static_cast<uint16_t>(bits));
  if (isa<BFloat16Type>(type))
    return convertBF16ToF32(static_cast<uint16_t>(bits));
  APFloat f(cast<FloatType>(type).getFloatSemantics(), APInt(width, bits));
  bool losesInfo;
  f.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &losesInfo);
  return f.convertToDouble();
}

/// One value of a kernel: `width` elements per thread, thread-major.
struct Lanes {
  unsigned width = 1;
  std::vector<double> v;
  double &at(int64_t thread, unsigned i) { return v[thread * width + i]; }
  double at(int64_t thread, unsigned i) const { return v[thread * width + i]; }
};

std::optional<std::vector<double>> getConstantElements(Attribute attr);

/// A new buffer of `type` holding the constant `value` (a splat or all the
/// elements), or null when the emulator cannot read it.
BufferRef createConstantBuffer(ShapedType type, Attribute value) {
  std::optional<std::vector<double>> elements = getConstantElements(value);
  if (!elements || !type.hasStaticShape())
    return nullptr;
  auto buffer =
      std::make_shared<Buffer>(type.getElementType(), type.getShape());
  for (int64_t i = 0, e = buffer->getNumElements(); i < e; ++i)
    buffer->at(i) = roundTo(type.getElementType(),
                            (*elements)[elements->size() == 1 ? 0 : i]);
  return buffer;
}

/// A new buffer holding the initial value of the global that `op` names, or
/// null.
BufferRef createGlobalBuffer(memref::GetGlobalOp op) {
  auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
      op, op.getNameAttr());
  if (!global || !global.getInitialValue())
    return nullptr;
  return createConstantBuffer(op.getType(), *global.getInitialValue());
}

/// Values to lanes; references stay valid as values are added.
struct ValueHash {
  size_t operator()(Value value) const { return hash_value(value); }
};
using ValueMap = std::unordered_map<Value, Lanes, ValueHash>;

/// Runs the blocks of one launch.
class KernelRun {
public:
  KernelRun(gpu::GPUFuncOp kernel, std::array<int64_t, 3> grid,
            std::array<int64_t, 3> blockDims, int64_t dynamicBytes,
            ArrayRef<BufferRef> args, std::string &error)
      : kernel(kernel), grid(grid), blockDims(blockDims),
        dynamicBytes(dynamicBytes), args(args), error(error),
        threads(blockDims[0] * blockDims[1] * blockDims[2]) {}

  LogicalResult run() {
    usesWgmma =
        kernel
            .walk([](NVVM::WgmmaMmaAsyncOp) { return WalkResult::interrupt(); })
            .wasInterrupted();
    for (int64_t z = 0; z < grid[2]; ++z)
      for (int64_t y = 0; y < grid[1]; ++y)
        for (int64_t x = 0; x < grid[0]; ++x) {
          runBlock({x, y, z});
          if (stopped)
            return failure();
        }
    return success();
  }

private:
  /// Records the first error; the run stops after the current op.
  void fail(Operation *op, const Twine &message) {
    if (stopped)
      return;
    stopped = true;
    std::string text;
    llvm::raw_string_ostream os(text);
    os << kernel.getName() << ", block (" << blockId[0] << ", " << blockId[1]
       << ", " << blockId[2] << "): " << message;
    if (op) {
      os << "\n  at " << op->getLoc() << ": ";
      op->print(os, OpPrintingFlags().skipRegions());
    }
    error = text;
  }

  void runBlock(std::array<int64_t, 3> id) {
    blockId = id;
    values.clear();
    buffers.clear();
    views.clear();
    openCopies.assign(threads, {});
    committedCopies.assign(threads, {});
    unfencedWrites.assign(usesWgmma ? threads : 0, {});
    openWgmma.assign(usesWgmma ? threads / 128 : 0, {});
    committedWgmma.assign(usesWgmma ? threads / 128 : 0, {});
    epoch = 0;
    Block &entry = kernel.getBody().front();
    if (kernel.getNumArguments() != args.size())
      return fail(nullptr, "a launch with the wrong number of arguments");
    // Workgroup (and private) attributions: fresh buffers for the block.
    for (BlockArgument attribution :
         entry.getArguments().drop_front(args.size())) {
      auto type = cast<MemRefType>(attribution.getType());
      buffers[attribution] = std::make_shared<Buffer>(
          type.getElementType(), type.getShape(),
          /*workgroup=*/gpu::GPUDialect::hasWorkgroupMemoryAddressSpace(type));
    }
    for (auto [arg, buffer] :
         llvm::zip(entry.getArguments().take_front(args.size()), args)) {
      auto type = dyn_cast<MemRefType>(arg.getType());
      SmallVector<int64_t> strides;
      int64_t offset;
      if (!type || type.getShape() != ArrayRef<int64_t>(buffer->shape) ||
          type.getElementType() != buffer->element ||
          failed(type.getStridesAndOffset(strides, offset)) ||
          strides != buffer->strides ||
          (!ShapedType::isDynamic(offset) && offset != buffer->offset))
        return fail(nullptr, "a kernel argument whose type is not its "
                             "buffer's");
      buffers[arg] = buffer;
    }
    std::vector<char> all(threads, 1);
    runBlockOps(entry, all);
    for (auto [group, open] : llvm::enumerate(openWgmma))
      if (!stopped && (!open.empty() || !committedWgmma[group].empty()))
        fail(nullptr, llvm::formatv("warpgroup {0} ends with wgmma ops it "
                                    "did not wait for",
                                    group));
  }

  /// Runs the ops of `block` for the threads of `mask`; returns the operands
  /// of its terminator.
  SmallVector<Lanes> runBlockOps(Block &block, const std::vector<char> &mask) {
    for (Operation &op : block) {
      if (isa<scf::YieldOp>(op)) {
        SmallVector<Lanes> results;
        for (Value operand : op.getOperands())
          results.push_back(get(operand));
        return results;
      }
      if (isa<gpu::ReturnOp>(op))
        return {};
      runOp(&op, mask);
      if (stopped)
        return {};
    }
    return {};
  }

  /// The lanes of `value`; after an error, zeros of up to 64 elements a
  /// thread.
  const Lanes &get(Value value) {
    auto it = values.find(value);
    if (it != values.end())
      return it->second;
    fail(value.getDefiningOp(), "a value the emulator did not compute");
    dummy.width = 64;
    dummy.v.assign(threads * 64, 0.0);
    return dummy;
  }
  /// The buffer of `value`, or null after an error.
  BufferRef getBuffer(Value value) {
    auto it = buffers.find(value);
    if (it != buffers.end())
      return it->second;
    fail(value.getDefiningOp(), "a memref the emulator does not know");
    return nullptr;
  }
  Lanes &define(Value value) {
    Lanes &lanes = values[value];
    lanes.width = getWidth(value.getType());
    lanes.v.assign(threads * lanes.width, 0.0);
    return lanes;
  }
  /// The value of `value`, which must agree across the threads of `mask`.
  int64_t getUniform(Operation *op, Value value,
                     const std::vector<char> &mask) {
    const Lanes &lanes = get(value);
    std::optional<double> first;
    for (int64_t t = 0; t < threads; ++t) {
      if (!mask[t])
        continue;
      if (!first)
        first = lanes.at(t, 0);
      else if (lanes.at(t, 0) != *first)
        fail(op, "an operand that differs between threads where the "
                 "emulator needs one value (a view offset)");
    }
    return first ? static_cast<int64_t>(*first) : 0;
  }

  /// The linear index of `indices` of thread `t` in `buffer`, checking the
  /// bounds (`count` elements along the last dimension); -1 when out of
  /// bounds.
  int64_t getLinearIndex(Operation *op, const Buffer &buffer,
                         ValueRange indices, int64_t t, int64_t count) {
    if (count > 1 && !buffer.strides.empty() && buffer.strides.back() != 1) {
      fail(op, "a vector access of a view strided in its last dimension");
      return -1;
    }
    int64_t linear = buffer.offset;
    for (auto [i, index] : llvm::enumerate(indices)) {
      int64_t value = static_cast<int64_t>(get(index).at(t, 0));
      int64_t size = buffer.shape[i];
      int64_t extent = i + 1 == indices.size() ? count : 1;
      if (value < 0 || value + extent > size) {
        fail(op, llvm::formatv("thread {0}: index {1} (+{2}) out of bounds "
                               "of dimension {3} of size {4}",
                               t, value, extent - 1, i, size));
        return -1;
      }
      linear += value * buffer.strides[i];
    }
    return linear;
  }

  void checkRead(Operation *op, Buffer &buffer, int64_t at, int64_t t) {
    if (!buffer.workgroup)
      return;
    if (buffer.storage->pending[at] > 0)
      return fail(op, llvm::formatv("thread {0} reads workgroup memory that "
                                    "an asynchronous copy has not finished "
                                    "writing (no cp.async wait for it)",
                                    t));
    if (buffer.storage->writeEpoch[at] < 0)
      return fail(op, llvm::formatv("thread {0} reads workgroup memory that "
                                    "no thread wrote",
                                    t));
    if (buffer.storage->writeEpoch[at] == epoch &&
        buffer.storage->writer[at] != t)
      return fail(op, llvm::formatv("race: thread {0} reads what thread {1} "
                                    "wrote with no barrier in between",
                                    t, buffer.storage->writer[at]));
    if (buffer.storage->readEpoch[at] == epoch &&
        buffer.storage->reader[at] != t)
      buffer.storage->reader[at] = -2;
    else
      buffer.storage->reader[at] = t;
    buffer.storage->readEpoch[at] = epoch;
  }
  void checkWrite(Operation *op, Buffer &buffer, int64_t at, int64_t t,
                  double value, bool async = false) {
    if (!buffer.workgroup)
      return;
    if (!async && buffer.storage->pending[at] > 0)
      return fail(op, llvm::formatv("race: thread {0} writes workgroup "
                                    "memory that an asynchronous copy has "
                                    "not finished writing",
                                    t));
    if (buffer.storage->readEpoch[at] == epoch &&
        buffer.storage->reader[at] != t)
      return fail(op, llvm::formatv("race: thread {0} overwrites what "
                                    "another thread read with no barrier in "
                                    "between",
                                    t));
    if (buffer.storage->writeEpoch[at] == epoch &&
        buffer.storage->writer[at] != t && buffer.storage->data[at] != value)
      return fail(op, llvm::formatv("race: threads {0} and {1} write "
                                    "different values with no barrier in "
                                    "between",
                                    t, buffer.storage->writer[at]));
    if (buffer.storage->asyncReads[at] > 0)
      return fail(op, llvm::formatv("race: thread {0} overwrites workgroup "
                                    "memory that a wgmma in flight reads "
                                    "(no wgmma.wait_group for it)",
                                    t));
    buffer.storage->writer[at] = t;
    buffer.storage->writeEpoch[at] = epoch;
    if (usesWgmma) {
      buffer.storage->unfenced[at] = 1;
      unfencedWrites[t].push_back({buffer.storage.get(), at});
    }
  }

  void runOp(Operation *op, const std::vector<char> &mask);
  void runMfma(amdgpu::MFMAOp op, const std::vector<char> &mask);
  void runMmaSync(NVVM::MmaOp op, const std::vector<char> &mask);
  void runLdMatrix(nvgpu::LdMatrixOp op, const std::vector<char> &mask);
  void runAsyncCopy(nvgpu::DeviceAsyncCopyOp op, const std::vector<char> &mask);
  void runWgmma(NVVM::WgmmaMmaAsyncOp op, const std::vector<char> &mask);
  /// The value of the 64-bit integer `value` of thread `t` computed exactly
  /// (lanes hold doubles, exact to 2^53 only: a wgmma descriptor's swizzle
  /// mode sits in bits 62-63): integer arith ops are evaluated again in 64
  /// bits from their operands down to values the lanes hold exactly.
  std::optional<uint64_t> getExactInteger(Value value, int64_t t);
  /// The workgroup buffer (a view of dynamic workgroup memory) and element
  /// holding byte `address` of it, checking that `element` is its type.
  std::pair<Buffer *, int64_t>
  getWorkgroupElement(Operation *op, int64_t address, Type element);
  /// Applies the thread's committed groups of asynchronous copies but the
  /// `keep` most recent.
  void waitAsyncCopies(Operation *op, int64_t t, size_t keep);
  /// Whether the threads of each `group` of `size` (a warp of 32, a
  /// warpgroup of 128) are all active or all inactive (ops of the whole
  /// group); fails otherwise.
  bool checkWholeGroups(Operation *op, const std::vector<char> &mask,
                        int64_t size, StringRef group);
  bool checkWholeWarps(Operation *op, const std::vector<char> &mask) {
    return checkWholeGroups(op, mask, 32, "warp");
  }
  bool checkWholeWarpgroups(Operation *op, const std::vector<char> &mask) {
    return checkWholeGroups(op, mask, 128, "warpgroup");
  }

  /// An asynchronous copy's write of one element.
  struct PendingWrite {
    Buffer *buffer;
    int64_t at;
    double value;
  };
  /// Per thread: the copies issued since the last commit, and the committed
  /// groups not yet waited for, oldest first.
  std::vector<std::vector<PendingWrite>> openCopies;
  std::vector<std::vector<std::vector<PendingWrite>>> committedCopies;
  /// Whether the kernel has wgmma ops; then, per thread, its workgroup
  /// writes since its last `fence.proxy.async`, and per warpgroup the
  /// elements its uncommitted wgmma ops read and its committed groups not
  /// yet waited for, oldest first.
  bool usesWgmma = false;
  using ElementRef = std::pair<Storage *, int64_t>;
  std::vector<std::vector<ElementRef>> unfencedWrites;
  std::vector<std::vector<ElementRef>> openWgmma;
  std::vector<std::vector<std::vector<ElementRef>>> committedWgmma;

  gpu::GPUFuncOp kernel;
  std::array<int64_t, 3> grid, blockDims, blockId{};
  int64_t dynamicBytes;
  ArrayRef<BufferRef> args;
  std::string &error;
  int64_t threads;
  bool stopped = false;
  Lanes dummy;
  /// Barrier intervals of the block so far.
  int64_t epoch = 0;
  ValueMap values;
  llvm::DenseMap<Value, BufferRef> buffers;
  /// The views of dynamic workgroup memory: byte ranges and their buffers.
  SmallVector<std::pair<std::pair<int64_t, int64_t>, BufferRef>> views;
  /// The globals the kernel read, by name.
  llvm::DenseMap<Attribute, BufferRef> globals;
};

/// Applies `f` elementwise to the operands of `op` (all of one width) into
/// its first result, rounded to its element type.
template <typename F>
void elementwise(Operation *op, ValueMap &values, int64_t threads, F f) {
  SmallVector<const Lanes *> operands;
  for (Value operand : op->getOperands())
    operands.push_back(&values.find(operand)->second);
  Value result = op->getResult(0);
  Type element = getElementType(result.getType());
  Lanes &out = values[result];
  out.width = getWidth(result.getType());
  out.v.resize(threads * out.width);
  SmallVector<double, 4> args(operands.size());
  for (int64_t i = 0, e = out.v.size(); i < e; ++i) {
    for (auto [j, operand] : llvm::enumerate(operands))
      args[j] = operand->v[i];
    out.v[i] = roundTo(element, f(args));
  }
}

uint64_t asUnsigned(double x, Type type) {
  unsigned width = isa<IndexType>(type) ? 64 : type.getIntOrFloatBitWidth();
  uint64_t bits = static_cast<uint64_t>(static_cast<int64_t>(x));
  return width >= 64 ? bits : bits & ((uint64_t(1) << width) - 1);
}

bool compareFloats(arith::CmpFPredicate p, double a, double b) {
  bool unordered = std::isnan(a) || std::isnan(b);
  switch (p) {
  case arith::CmpFPredicate::AlwaysFalse:
    return false;
  case arith::CmpFPredicate::OEQ:
    return !unordered && a == b;
  case arith::CmpFPredicate::OGT:
    return !unordered && a > b;
  case arith::CmpFPredicate::OGE:
    return !unordered && a >= b;
  case arith::CmpFPredicate::OLT:
    return !unordered && a < b;
  case arith::CmpFPredicate::OLE:
    return !unordered && a <= b;
  case arith::CmpFPredicate::ONE:
    return !unordered && a != b;
  case arith::CmpFPredicate::ORD:
    return !unordered;
  case arith::CmpFPredicate::UEQ:
    return unordered || a == b;
  case arith::CmpFPredicate::UGT:
    return unordered || a > b;
  case arith::CmpFPredicate::UGE:
    return unordered || a >= b;
  case arith::CmpFPredicate::ULT:
    return unordered || a < b;
  case arith::CmpFPredicate::ULE:
    return unordered || a <= b;
  case arith::CmpFPredicate::UNE:
    return unordered || a != b;
  case arith::CmpFPredicate::UNO:
    return unordered;
  case arith::CmpFPredicate::AlwaysTrue:
    return true;
  }
  return false;
}

bool compareInts(arith::CmpIPredicate p, double a, double b, Type type) {
  int64_t sa = static_cast<int64_t>(a), sb = static_cast<int64_t>(b);
  uint64_t ua = asUnsigned(a, type), ub = asUnsigned(b, type);
  switch (p) {
  case arith::CmpIPredicate::eq:
    return sa == sb;
  case arith::CmpIPredicate::ne:
    return sa != sb;
  case arith::CmpIPredicate::slt:
    return sa < sb;
  case arith::CmpIPredicate::sle:
    return sa <= sb;
  case arith::CmpIPredicate::sgt:
    return sa > sb;
  case arith::CmpIPredicate::sge:
    return sa >= sb;
  case arith::CmpIPredicate::ult:
    return ua < ub;
  case arith::CmpIPredicate::ule:
    return ua <= ub;
  case arith::CmpIPredicate::ugt:
    return ua > ub;
  case arith::CmpIPredicate::uge:
    return ua >= ub;
  }
  return false;
}

/// The elements of a constant attribute, as doubles.
std::optional<std::vector<double>> getConstantElements(Attribute attr) {
  std::vector<double> out;
  if (auto i = dyn_cast<IntegerAttr>(attr)) {
    out.push_back(static_cast<double>(i.getValue().getSExtValue()));
    return out;
  }
  if (auto f = dyn_cast<FloatAttr>(attr)) {
    out.push_back(f.getValueAsDouble());
    return out;
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return std::nullopt;
  if (isa<FloatType>(dense.getElementType())) {
    for (APFloat value : dense.getValues<APFloat>())
      out.push_back(value.convertToDouble());
  } else {
    for (APInt value : dense.getValues<APInt>())
      out.push_back(dense.getElementType().isInteger(1)
                        ? static_cast<double>(value.getZExtValue())
                        : static_cast<double>(value.getSExtValue()));
  }
  return out;
}

/// An elementwise arith or math op: the function of its operands, or null.
std::function<double(ArrayRef<double>)> getElementwise(Operation *op) {
  using Args = ArrayRef<double>;
  Type type = op->getNumOperands() ? getElementType(op->getOperand(0).getType())
                                   : Type();
  auto sint = [](double x) { return static_cast<int64_t>(x); };
  return llvm::TypeSwitch<Operation *, std::function<double(Args)>>(op)
      .Case([](arith::AddFOp) { return [](Args a) { return a[0] + a[1]; }; })
      .Case([](arith::SubFOp) { return [](Args a) { return a[0] - a[1]; }; })
      .Case([](arith::MulFOp) {
        return [](Args a) { return double(float(a[0]) * float(a[1])); };
      })
      .Case([](arith::DivFOp) {
        return [](Args a) { return double(float(a[0]) / float(a[1])); };
      })
      .Case([](arith::NegFOp) { return [](Args a) { return -a[0]; }; })
      .Case([](arith::MaximumFOp) {
        return [](Args a) {
          if (std::isnan(a[0]) || std::isnan(a[1]))
            return std::numeric_limits<double>::quiet_NaN();
          return std::max(a[0], a[1]);
        };
      })
      .Case([](arith::MinimumFOp) {
        return [](Args a) {
          if (std::isnan(a[0]) || std::isnan(a[1]))
            return std::numeric_limits<double>::quiet_NaN();
          return std::min(a[0], a[1]);
        };
      })
      .Case([](arith::MaxNumFOp) {
        return [](Args a) { return std::fmax(a[0], a[1]); };
      })
      .Case([](arith::MinNumFOp) {
        return [](Args a) { return std::fmin(a[0], a[1]); };
      })
      .Case<arith::TruncFOp, arith::ExtFOp, arith::SIToFPOp, arith::IndexCastOp,
            arith::ExtSIOp, arith::TruncIOp>(
          [](Operation *) { return [](Args a) { return a[0]; }; })
      .Case<arith::UIToFPOp, arith::IndexCastUIOp, arith::ExtUIOp>(
          [type](Operation *) {
            return [type](Args a) { return double(asUnsigned(a[0], type)); };
          })
      .Case([](arith::FPToSIOp) {
        return [](Args a) { return std::trunc(a[0]); };
      })
      .Case([](arith::AddIOp) { return [](Args a) { return a[0] + a[1]; }; })
      .Case([](arith::SubIOp) { return [](Args a) { return a[0] - a[1]; }; })
      .Case([sint](arith::MulIOp) {
        return [sint](Args a) {
          return double(int64_t(uint64_t(sint(a[0])) * uint64_t(sint(a[1]))));
        };
      })
      .Case([type](arith::DivUIOp) {
        return [type](Args a) {
          uint64_t d = asUnsigned(a[1], type);
          return d ? double(asUnsigned(a[0], type) / d) : 0.0;
        };
      })
      .Case([type](arith::RemUIOp) {
        return [type](Args a) {
          uint64_t d = asUnsigned(a[1], type);
          return d ? double(asUnsigned(a[0], type) % d) : 0.0;
        };
      })
      .Case([sint](arith::DivSIOp) {
        return [sint](Args a) {
          return sint(a[1]) ? double(sint(a[0]) / sint(a[1])) : 0.0;
        };
      })
      .Case([sint](arith::RemSIOp) {
        return [sint](Args a) {
          return sint(a[1]) ? double(sint(a[0]) % sint(a[1])) : 0.0;
        };
      })
      .Case([sint](arith::CeilDivSIOp) {
        return [sint](Args a) {
          int64_t n = sint(a[0]), d = sint(a[1]);
          if (!d)
            return 0.0;
          int64_t q = n / d;
          return double((n % d != 0 && ((n < 0) == (d < 0))) ? q + 1 : q);
        };
      })
      .Case([sint](arith::FloorDivSIOp) {
        return [sint](Args a) {
          int64_t n = sint(a[0]), d = sint(a[1]);
          if (!d)
            return 0.0;
          int64_t q = n / d;
          return double((n % d != 0 && ((n < 0) != (d < 0))) ? q - 1 : q);
        };
      })
      .Case([](arith::MinSIOp) {
        return [](Args a) { return std::min(a[0], a[1]); };
      })
      .Case([](arith::MaxSIOp) {
        return [](Args a) { return std::max(a[0], a[1]); };
      })
      .Case([type](arith::MinUIOp) {
        return [type](Args a) {
          return asUnsigned(a[0], type) < asUnsigned(a[1], type) ? a[0] : a[1];
        };
      })
      .Case([type](arith::MaxUIOp) {
        return [type](Args a) {
          return asUnsigned(a[0], type) > asUnsigned(a[1], type) ? a[0] : a[1];
        };
      })
      .Case([sint](arith::AndIOp) {
        return [sint](Args a) { return double(sint(a[0]) & sint(a[1])); };
      })
      .Case([sint](arith::OrIOp) {
        return [sint](Args a) { return double(sint(a[0]) | sint(a[1])); };
      })
      .Case([sint](arith::XOrIOp) {
        return [sint](Args a) { return double(sint(a[0]) ^ sint(a[1])); };
      })
      .Case([sint](arith::ShLIOp) {
        return [sint](Args a) {
          return double(int64_t(uint64_t(sint(a[0])) << sint(a[1])));
        };
      })
      .Case([type](arith::ShRUIOp) {
        return [type](Args a) {
          return double(asUnsigned(a[0], type) >> int64_t(a[1]));
        };
      })
      .Case([sint](arith::ShRSIOp) {
        return [sint](Args a) { return double(sint(a[0]) >> sint(a[1])); };
      })
      .Case([](arith::SelectOp) {
        return [](Args a) { return a[0] != 0.0 ? a[1] : a[2]; };
      })
      .Case([](arith::CmpFOp cmp) {
        arith::CmpFPredicate p = cmp.getPredicate();
        return [p](Args a) { return double(compareFloats(p, a[0], a[1])); };
      })
      .Case([type](arith::CmpIOp cmp) {
        arith::CmpIPredicate p = cmp.getPredicate();
        return [p, type](Args a) {
          return double(compareInts(p, a[0], a[1], type));
        };
      })
      .Case([](math::Exp2Op) {
        return [](Args a) { return double(std::exp2(float(a[0]))); };
      })
      .Case([](math::ExpOp) {
        return [](Args a) { return double(std::exp(float(a[0]))); };
      })
      .Case([](math::Log2Op) {
        return [](Args a) { return double(std::log2(float(a[0]))); };
      })
      .Case([](math::LogOp) {
        return [](Args a) { return double(std::log(float(a[0]))); };
      })
      .Case([](math::SqrtOp) {
        return [](Args a) { return double(std::sqrt(float(a[0]))); };
      })
      .Case([](math::RsqrtOp) {
        return [](Args a) { return double(1.0f / std::sqrt(float(a[0]))); };
      })
      .Case([](math::AbsFOp) { return [](Args a) { return std::fabs(a[0]); }; })
      .Case(
          [](math::FloorOp) { return [](Args a) { return std::floor(a[0]); }; })
      .Case([](math::CeilOp) { return [](Args a) { return std::ceil(a[0]); }; })
      .Case(
          [](math::TruncOp) { return [](Args a) { return std::trunc(a[0]); }; })
      .Case([](math::RoundEvenOp) {
        return [](Args a) { return std::nearbyint(a[0]); };
      })
      .Case([](math::TanhOp) {
        return [](Args a) { return double(std::tanh(float(a[0]))); };
      })
      .Case([](math::FmaOp) {
        return [](Args a) {
          return double(std::fma(float(a[0]), float(a[1]), float(a[2])));
        };
      })
      .Default([](Operation *) { return nullptr; });
}

void KernelRun::runOp(Operation *op, const std::vector<char> &mask) {
  if (auto fn = getElementwise(op)) {
    // A select with a scalar condition of vector operands.
    if (auto select = dyn_cast<arith::SelectOp>(op);
        select && isa<VectorType>(select.getType()) &&
        !isa<VectorType>(select.getCondition().getType())) {
      const Lanes &c = get(select.getCondition());
      const Lanes &t = get(select.getTrueValue());
      const Lanes &f = get(select.getFalseValue());
      Lanes &out = define(select);
      for (int64_t th = 0; th < threads; ++th)
        for (unsigned i = 0; i < out.width; ++i)
          out.at(th, i) = c.at(th, 0) != 0.0 ? t.at(th, i) : f.at(th, i);
      return;
    }
    for (Value operand : op->getOperands())
      (void)get(operand);
    elementwise(op, values, threads, fn);
    return;
  }
  if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
    std::optional<std::vector<double>> elements =
        getConstantElements(constant.getValue());
    if (!elements)
      return fail(op, "unsupported constant");
    Lanes &out = define(constant);
    Type element = getElementType(constant.getType());
    for (int64_t t = 0; t < threads; ++t)
      for (unsigned i = 0; i < out.width; ++i)
        out.at(t, i) =
            roundTo(element, (*elements)[elements->size() == 1 ? 0 : i]);
    return;
  }
  if (auto id = dyn_cast<gpu::ThreadIdOp>(op)) {
    Lanes &out = define(id);
    for (int64_t t = 0; t < threads; ++t) {
      int64_t x = t % blockDims[0], y = t / blockDims[0] % blockDims[1],
              z = t / (blockDims[0] * blockDims[1]);
      gpu::Dimension d = id.getDimension();
      out.at(t, 0) = d == gpu::Dimension::x   ? x
                     : d == gpu::Dimension::y ? y
                                              : z;
    }
    return;
  }
  auto defineUniform = [&](Value result, int64_t value) {
    Lanes &out = define(result);
    std::fill(out.v.begin(), out.v.end(), double(value));
  };
  if (auto id = dyn_cast<gpu::BlockIdOp>(op))
    return defineUniform(id, blockId[static_cast<int>(id.getDimension())]);
  if (auto dim = dyn_cast<gpu::GridDimOp>(op))
    return defineUniform(dim, grid[static_cast<int>(dim.getDimension())]);
  if (auto dim = dyn_cast<gpu::BlockDimOp>(op))
    return defineUniform(dim, blockDims[static_cast<int>(dim.getDimension())]);
  if (isa<gpu::BarrierOp>(op)) {
    for (char active : mask)
      if (!active)
        return fail(op, "a barrier that not every thread of the block "
                        "reaches");
    ++epoch;
    return;
  }
  if (auto shuffle = dyn_cast<gpu::ShuffleOp>(op)) {
    const Lanes &value = get(shuffle.getValue());
    const Lanes &offset = get(shuffle.getOffset());
    const Lanes &width = get(shuffle.getWidth());
    Lanes &out = define(shuffle.getShuffleResult());
    Lanes &valid = define(shuffle.getValid());
    for (int64_t t = 0; t < threads; ++t) {
      int64_t w = static_cast<int64_t>(width.at(t, 0));
      int64_t o = static_cast<int64_t>(offset.at(t, 0));
      int64_t lane = t % w, base = t - lane, source = lane;
      switch (shuffle.getMode()) {
      case gpu::ShuffleMode::XOR:
        source = lane ^ o;
        break;
      case gpu::ShuffleMode::DOWN:
        source = lane + o;
        break;
      case gpu::ShuffleMode::UP:
        source = lane - o;
        break;
      case gpu::ShuffleMode::IDX:
        source = o;
        break;
      }
      bool ok = source >= 0 && source < w && base + source < threads;
      if (ok && mask[t] && !mask[base + source])
        return fail(op, "a shuffle reads an inactive thread");
      out.at(t, 0) = ok ? value.at(base + source, 0) : value.at(t, 0);
      valid.at(t, 0) = ok;
    }
    return;
  }
  if (auto mfma = dyn_cast<amdgpu::MFMAOp>(op))
    return runMfma(mfma, mask);
  if (auto mma = dyn_cast<NVVM::MmaOp>(op))
    return runMmaSync(mma, mask);
  if (auto ldmatrix = dyn_cast<nvgpu::LdMatrixOp>(op))
    return runLdMatrix(ldmatrix, mask);
  if (auto copy = dyn_cast<nvgpu::DeviceAsyncCopyOp>(op))
    return runAsyncCopy(copy, mask);
  if (auto wgmma = dyn_cast<NVVM::WgmmaMmaAsyncOp>(op))
    return runWgmma(wgmma, mask);
  if (isa<NVVM::WgmmaFenceAlignedOp>(op)) {
    // Orders register accesses before the wgmma ops that follow: nothing
    // to do in lockstep.
    checkWholeWarpgroups(op, mask);
    return;
  }
  if (isa<NVVM::WgmmaGroupSyncAlignedOp>(op)) {
    if (!checkWholeWarpgroups(op, mask))
      return;
    for (int64_t group = 0; group < threads / 128; ++group)
      if (mask[group * 128]) {
        committedWgmma[group].push_back(std::move(openWgmma[group]));
        openWgmma[group].clear();
      }
    return;
  }
  if (auto wait = dyn_cast<NVVM::WgmmaWaitGroupSyncOp>(op)) {
    if (!checkWholeWarpgroups(op, mask))
      return;
    for (int64_t group = 0; group < threads / 128; ++group) {
      auto &groups = committedWgmma[group];
      if (!mask[group * 128])
        continue;
      while (groups.size() > wait.getGroup()) {
        for (auto [storage, at] : groups.front())
          --storage->asyncReads[at];
        groups.erase(groups.begin());
      }
    }
    return;
  }
  if (auto fence = dyn_cast<NVVM::FenceProxyOp>(op)) {
    // Makes each thread's generic-proxy writes (stores, cp.async) visible
    // to the async proxy that wgmma reads through.
    if (fence.getKind() != NVVM::ProxyKind::async_shared &&
        fence.getKind() != NVVM::ProxyKind::async)
      return fail(op, "a proxy fence other than fence.proxy.async");
    for (int64_t t = 0; t < threads && usesWgmma; ++t) {
      if (!mask[t])
        continue;
      for (auto [storage, at] : unfencedWrites[t])
        storage->unfenced[at] = 0;
      unfencedWrites[t].clear();
    }
    return;
  }
  if (auto address = dyn_cast<memref::ExtractAlignedPointerAsIndexOp>(op)) {
    // Byte addresses of workgroup memory: dynamic workgroup memory starts
    // at 0 (as in a kernel without static workgroup memory).
    BufferRef buffer = getBuffer(address.getSource());
    if (!buffer)
      return;
    for (auto &[range, view] : views)
      if (view == buffer) {
        Lanes &out = define(address);
        std::fill(out.v.begin(), out.v.end(), double(range.first));
        return;
      }
    return fail(op, "the address of memory other than a view of dynamic "
                    "workgroup memory");
  }
  if (auto zero = dyn_cast<LLVM::ZeroOp>(op)) {
    define(zero);
    return;
  }
  if (isa<NVVM::CpAsyncCommitGroupOp>(op)) {
    for (int64_t t = 0; t < threads; ++t)
      if (mask[t]) {
        committedCopies[t].push_back(std::move(openCopies[t]));
        openCopies[t].clear();
      }
    return;
  }
  if (auto wait = dyn_cast<NVVM::CpAsyncWaitGroupOp>(op)) {
    for (int64_t t = 0; t < threads && !stopped; ++t)
      if (mask[t])
        waitAsyncCopies(op, t, wait.getN());
    return;
  }
  if (auto call = dyn_cast<LLVM::CallIntrinsicOp>(op)) {
    StringRef name = call.getIntrin();
    if (call->getNumOperands() != 1 || call->getNumResults() != 1 ||
        !(name == "llvm.nvvm.ex2.approx.ftz.f32" ||
          name == "llvm.nvvm.ex2.approx.f32" ||
          name == "llvm.nvvm.lg2.approx.ftz.f" ||
          name == "llvm.nvvm.lg2.approx.f"))
      return fail(op, "an intrinsic the emulator does not know");
    bool exp = name.contains("ex2");
    const Lanes &x = get(call->getOperand(0));
    Lanes &out = define(call->getResult(0));
    for (int64_t t = 0; t < threads; ++t) {
      float v = static_cast<float>(x.at(t, 0));
      out.at(t, 0) = exp ? std::exp2(v) : std::log2(v);
    }
    return;
  }
  if (isa<gpu::DynamicSharedMemoryOp>(op))
    return;
  if (auto view = dyn_cast<memref::ViewOp>(op)) {
    if (!isa_and_nonnull<gpu::DynamicSharedMemoryOp>(
            view.getSource().getDefiningOp()))
      return fail(op, "a view of memory other than dynamic workgroup memory");
    auto type = cast<MemRefType>(view.getType());
    if (!type.hasStaticShape())
      return fail(op, "a view of dynamic shape");
    int64_t begin = getUniform(op, view.getByteShift(), mask);
    if (stopped)
      return;
    int64_t end =
        begin + type.getNumElements() * type.getElementTypeBitWidth() / 8;
    if (begin < 0 || end > dynamicBytes)
      return fail(op,
                  llvm::formatv("a view of bytes [{0}, {1}) of {2} bytes of "
                                "dynamic workgroup memory",
                                begin, end, dynamicBytes));
    // The same bytes viewed again (a loop) are the same buffer.
    std::pair<int64_t, int64_t> range = {begin, end};
    for (auto &[viewed, buffer] : views) {
      if (viewed == range) {
        buffers[view] = buffer;
        return;
      }
      if (begin < viewed.second && viewed.first < end)
        return fail(op, "views of dynamic workgroup memory that overlap");
    }
    auto buffer = std::make_shared<Buffer>(type.getElementType(),
                                           type.getShape(), /*workgroup=*/true);
    views.push_back({range, buffer});
    buffers[view] = buffer;
    return;
  }
  if (isa<memref::SubViewOp, memref::ExpandShapeOp, memref::CollapseShapeOp,
          memref::ReshapeOp, memref::CastOp>(op)) {
    BufferRef source = getBuffer(op->getOperand(0));
    if (!source)
      return;
    std::string why;
    BufferRef view = createView(op, source, why);
    if (!view)
      return fail(op, why);
    buffers[op->getResult(0)] = view;
    return;
  }
  if (auto getGlobal = dyn_cast<memref::GetGlobalOp>(op)) {
    // Constant tables: read-only, the same for every block.
    BufferRef &buffer = globals[getGlobal.getNameAttr().getAttr()];
    if (!buffer)
      buffer = createGlobalBuffer(getGlobal);
    if (!buffer)
      return fail(op, "a global without a known initial value");
    buffers[getGlobal] = buffer;
    return;
  }
  if (auto atomic = dyn_cast<memref::AtomicRMWOp>(op)) {
    // One thread after the other, in thread order.
    BufferRef buffer = getBuffer(atomic.getMemref());
    if (!buffer)
      return;
    const Lanes &value = get(atomic.getValue());
    Lanes &out = define(atomic.getResult());
    Type type = buffer->element;
    for (int64_t t = 0; t < threads; ++t) {
      if (!mask[t])
        continue;
      int64_t at = getLinearIndex(op, *buffer, atomic.getIndices(), t, 1);
      if (at < 0)
        return;
      double old = buffer->at(at), v = value.at(t, 0), next;
      switch (atomic.getKind()) {
      case arith::AtomicRMWKind::addf:
      case arith::AtomicRMWKind::addi:
        next = old + v;
        break;
      case arith::AtomicRMWKind::mulf:
      case arith::AtomicRMWKind::muli:
        next = old * v;
        break;
      case arith::AtomicRMWKind::assign:
        next = v;
        break;
      case arith::AtomicRMWKind::maximumf:
      case arith::AtomicRMWKind::maxs:
      case arith::AtomicRMWKind::maxnumf:
        next = std::max(old, v);
        break;
      case arith::AtomicRMWKind::minimumf:
      case arith::AtomicRMWKind::mins:
      case arith::AtomicRMWKind::minnumf:
        next = std::min(old, v);
        break;
      case arith::AtomicRMWKind::maxu:
        next = asUnsigned(old, type) > asUnsigned(v, type) ? old : v;
        break;
      case arith::AtomicRMWKind::minu:
        next = asUnsigned(old, type) < asUnsigned(v, type) ? old : v;
        break;
      default:
        return fail(op, "an atomic kind the emulator does not know");
      }
      out.at(t, 0) = old;
      buffer->at(at) = roundTo(type, next);
    }
    return;
  }
  if (isa<memref::LoadOp, vector::LoadOp>(op)) {
    BufferRef buffer = getBuffer(op->getOperand(0));
    if (!buffer)
      return;
    Lanes &out = define(op->getResult(0));
    ValueRange indices = op->getOperands().drop_front();
    for (int64_t t = 0; t < threads; ++t) {
      if (!mask[t])
        continue;
      int64_t at = getLinearIndex(op, *buffer, indices, t, out.width);
      if (at < 0)
        return;
      for (unsigned i = 0; i < out.width; ++i) {
        checkRead(op, *buffer, at + i, t);
        out.at(t, i) = buffer->at(at + i);
      }
      if (stopped)
        return;
    }
    return;
  }
  if (isa<memref::StoreOp, vector::StoreOp>(op)) {
    const Lanes &value = get(op->getOperand(0));
    BufferRef buffer = getBuffer(op->getOperand(1));
    if (!buffer)
      return;
    ValueRange indices = op->getOperands().drop_front(2);
    for (int64_t t = 0; t < threads; ++t) {
      if (!mask[t])
        continue;
      int64_t at = getLinearIndex(op, *buffer, indices, t, value.width);
      if (at < 0)
        return;
      for (unsigned i = 0; i < value.width; ++i) {
        double element = roundTo(buffer->element, value.at(t, i));
        checkWrite(op, *buffer, at + i, t, element);
        buffer->at(at + i) = element;
      }
      if (stopped)
        return;
    }
    return;
  }
  if (auto extract = dyn_cast<vector::ExtractOp>(op)) {
    // Leading positions of a (flattened) vector: the elements of the
    // result at their row-major offset.
    ArrayRef<int64_t> position = extract.getStaticPosition();
    ArrayRef<int64_t> shape = extract.getSourceVectorType().getShape();
    int64_t offset = 0;
    for (auto [i, p] : llvm::enumerate(position)) {
      if (p == ShapedType::kDynamic)
        return fail(op, "only extracts at constant positions");
      offset = offset * shape[i] + p;
    }
    unsigned width = getWidth(extract.getType());
    offset *= width;
    const Lanes &source = get(extract.getSource());
    Lanes &out = define(extract);
    for (int64_t t = 0; t < threads; ++t)
      for (unsigned i = 0; i < width; ++i)
        out.at(t, i) = source.at(t, offset + i);
    return;
  }
  if (auto extract = dyn_cast<LLVM::ExtractValueOp>(op)) {
    ArrayRef<int64_t> position = extract.getPosition();
    if (position.size() != 1 ||
        !isa<LLVM::LLVMStructType>(extract.getContainer().getType()))
      return fail(op, "only extracts of one member of a struct");
    const Lanes &source = get(extract.getContainer());
    Lanes &out = define(extract);
    for (int64_t t = 0; t < threads; ++t)
      out.at(t, 0) = source.at(t, position[0]);
    return;
  }
  if (auto insert = dyn_cast<LLVM::InsertValueOp>(op)) {
    ArrayRef<int64_t> position = insert.getPosition();
    if (position.size() != 1 ||
        !isa<LLVM::LLVMStructType>(insert.getContainer().getType()))
      return fail(op, "only inserts of one member of a struct");
    const Lanes &container = get(insert.getContainer());
    const Lanes &value = get(insert.getValue());
    Lanes &out = define(insert);
    for (int64_t t = 0; t < threads; ++t) {
      for (unsigned i = 0; i < out.width; ++i)
        out.at(t, i) = container.at(t, i);
      out.at(t, position[0]) = value.at(t, 0);
    }
    return;
  }
  if (auto bitcast = dyn_cast<vector::BitCastOp>(op)) {
    // Through the bits, element 0 in the lowest.
    Type from = bitcast.getSourceVectorType().getElementType();
    Type to = bitcast.getResultVectorType().getElementType();
    unsigned fromWidth = getBitWidth(from), toWidth = getBitWidth(to);
    const Lanes &source = get(bitcast.getSource());
    Lanes &out = define(bitcast);
    if (source.width * fromWidth > 64 || fromWidth > 32 || toWidth > 32)
      return fail(op, "only bitcasts of up to 64 bits of elements of up to "
                      "32 bits");
    for (int64_t t = 0; t < threads; ++t) {
      uint64_t bits = 0;
      for (unsigned i = 0; i < source.width; ++i)
        bits |= toBits(from, source.at(t, i)) << (i * fromWidth);
      for (unsigned i = 0; i < out.width; ++i)
        out.at(t, i) = fromBits(to, (bits >> (i * toWidth)) &
                                        ((uint64_t(1) << toWidth) - 1));
    }
    return;
  }
  if (auto insert = dyn_cast<vector::InsertOp>(op)) {
    ArrayRef<int64_t> position = insert.getStaticPosition();
    if (position.size() != 1 || position[0] == ShapedType::kDynamic ||
        isa<VectorType>(insert.getValueToStoreType()))
      return fail(op, "only inserts of one element at a constant position");
    const Lanes &value = get(insert.getValueToStore());
    Lanes dest = get(insert.getDest());
    for (int64_t t = 0; t < threads; ++t)
      dest.at(t, position[0]) = value.at(t, 0);
    values[insert.getResult()] = std::move(dest);
    return;
  }
  if (auto fromElements = dyn_cast<vector::FromElementsOp>(op)) {
    Lanes &out = define(fromElements);
    SmallVector<const Lanes *> elements;
    for (Value element : fromElements.getElements())
      elements.push_back(&get(element));
    if (elements.size() != out.width)
      return fail(op, "only one-dimensional vectors");
    for (int64_t t = 0; t < threads; ++t)
      for (unsigned i = 0; i < out.width; ++i)
        out.at(t, i) = elements[i]->at(t, 0);
    return;
  }
  if (auto broadcast = dyn_cast<vector::BroadcastOp>(op)) {
    if (isa<VectorType>(broadcast.getSourceType()))
      return fail(op, "only broadcasts of scalars");
    const Lanes &source = get(broadcast.getSource());
    Lanes &out = define(broadcast);
    for (int64_t t = 0; t < threads; ++t)
      for (unsigned i = 0; i < out.width; ++i)
        out.at(t, i) = source.at(t, 0);
    return;
  }
  if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
    const Lanes &condition = get(ifOp.getCondition());
    std::vector<char> thenMask(mask), elseMask(mask);
    bool anyThen = false, anyElse = false;
    for (int64_t t = 0; t < threads; ++t) {
      bool c = condition.at(t, 0) != 0.0;
      thenMask[t] = mask[t] && c;
      elseMask[t] = mask[t] && !c;
      anyThen |= thenMask[t];
      anyElse |= elseMask[t];
    }
    SmallVector<Lanes> thenResults, elseResults;
    if (anyThen)
      thenResults = runBlockOps(ifOp.getThenRegion().front(), thenMask);
    if (!stopped && anyElse && !ifOp.getElseRegion().empty())
      elseResults = runBlockOps(ifOp.getElseRegion().front(), elseMask);
    if (stopped)
      return;
    for (auto [i, result] : llvm::enumerate(ifOp.getResults())) {
      Lanes &out = define(result);
      for (int64_t t = 0; t < threads; ++t)
        for (unsigned e = 0; e < out.width; ++e) {
          if (thenMask[t])
            out.at(t, e) = thenResults[i].at(t, e);
          else if (elseMask[t])
            out.at(t, e) = elseResults[i].at(t, e);
        }
    }
    return;
  }
  if (auto forOp = dyn_cast<scf::ForOp>(op)) {
    // Bounds may differ between threads (loops strided by the thread id):
    // iteration k runs the threads whose k-th induction value is below
    // their bound; the others keep their carried values.
    const Lanes &lb = get(forOp.getLowerBound());
    const Lanes &ub = get(forOp.getUpperBound());
    const Lanes &step = get(forOp.getStep());
    std::vector<int64_t> iv(threads), upper(threads), stride(threads);
    for (int64_t t = 0; t < threads; ++t) {
      iv[t] = static_cast<int64_t>(lb.at(t, 0));
      upper[t] = static_cast<int64_t>(ub.at(t, 0));
      stride[t] = static_cast<int64_t>(step.at(t, 0));
      if (mask[t] && stride[t] <= 0)
        return fail(op, "a loop step that is not positive");
    }
    SmallVector<Lanes> carried;
    for (Value init : forOp.getInitArgs())
      carried.push_back(get(init));
    Block &body = *forOp.getBody();
    std::vector<char> active(threads);
    while (true) {
      bool any = false;
      for (int64_t t = 0; t < threads; ++t) {
        active[t] = mask[t] && iv[t] < upper[t];
        any |= active[t];
      }
      if (!any)
        break;
      Lanes &ivLanes = define(forOp.getInductionVar());
      for (int64_t t = 0; t < threads; ++t)
        ivLanes.at(t, 0) = static_cast<double>(iv[t]);
      for (auto [arg, value] : llvm::zip(forOp.getRegionIterArgs(), carried))
        values[arg] = value;
      SmallVector<Lanes> next = runBlockOps(body, active);
      if (stopped)
        return;
      for (auto [value, update] : llvm::zip(carried, next))
        for (int64_t t = 0; t < threads; ++t)
          if (active[t])
            for (unsigned e = 0; e < value.width; ++e)
              value.at(t, e) = update.at(t, e);
      for (int64_t t = 0; t < threads; ++t)
        iv[t] += stride[t];
    }
    for (auto [result, value] : llvm::zip(forOp.getResults(), carried))
      values[result] = std::move(value);
    return;
  }
  fail(op, "an op the emulator does not support");
}

/// D = A B + C of 16x16x16 on every wavefront of 64 lanes: lane l holds
/// A[l % 16][4 (l / 16) + i], B[4 (l / 16) + i][l % 16] and
/// D[4 (l / 16) + i][l % 16] (AMD's matrix instruction layouts).
void KernelRun::runMfma(amdgpu::MFMAOp op, const std::vector<char> &mask) {
  if (op.getM() != 16 || op.getN() != 16 || op.getK() != 16 ||
      op.getBlocks() != 1 || op.getCbsz() != 0 || op.getAbid() != 0 ||
      op.getBlgp() != amdgpu::MFMAPermB::none || op.getNegateA() ||
      op.getNegateB() || op.getNegateC())
    return fail(op, "only amdgpu.mfma 16x16x16 of one block without "
                    "permutations");
  if (threads % 64 != 0)
    return fail(op, "an mfma in a block that is not whole wavefronts");
  const Lanes &a = get(op.getSourceA()), &b = get(op.getSourceB()),
              &c = get(op.getDestC());
  if (a.width != 4 || b.width != 4 || c.width != 4)
    return fail(op, "mfma operands of other than 4 elements a lane");
  Lanes &d = define(op.getDestD());
  for (int64_t wave = 0; wave < threads; wave += 64) {
    int64_t active = llvm::count(ArrayRef<char>(mask).slice(wave, 64), 1);
    if (active == 0)
      continue;
    if (active != 64)
      return fail(op, llvm::formatv("an mfma that {0} of the 64 lanes of "
                                    "wavefront {1} reach",
                                    active, wave / 64));
    for (int64_t m = 0; m < 16; ++m)
      for (int64_t n = 0; n < 16; ++n) {
        // D[m][n] is lane 16 (m / 4) + n, element m % 4.
        int64_t dLane = wave + 16 * (m / 4) + n;
        double sum = c.at(dLane, m % 4);
        for (int64_t k = 0; k < 16; ++k) {
          double x = a.at(wave + 16 * (k / 4) + m, k % 4);
          double y = b.at(wave + 16 * (k / 4) + n, k % 4);
          sum += x * y;
        }
        d.at(dLane, m % 4) = static_cast<float>(sum);
      }
  }
}

bool KernelRun::checkWholeGroups(Operation *op, const std::vector<char> &mask,
                                 int64_t size, StringRef group) {
  if (threads % size != 0) {
    fail(op, llvm::formatv("a {0}-wide op in a block that is not whole {0}s",
                           group));
    return false;
  }
  for (int64_t first = 0; first < threads; first += size) {
    int64_t active = llvm::count(ArrayRef<char>(mask).slice(first, size), 1);
    if (active != 0 && active != size) {
      fail(op, llvm::formatv("a {0}-wide op that {1} of the {2} threads of "
                             "{0} {3} reach",
                             group, active, size, first / size));
      return false;
    }
  }
  return true;
}

/// The two f16 or bf16 elements of an mma.sync register of thread `t`: a
/// vector<2xf16> as it is, or an i32 of two 16-bit halves (element 0 in the
/// low half).
std::pair<double, double> unpack(Type element, const Lanes &reg, int64_t t) {
  if (reg.width == 2)
    return {reg.at(t, 0), reg.at(t, 1)};
  uint64_t bits = static_cast<uint64_t>(static_cast<int64_t>(reg.at(t, 0)));
  return {fromBits(element, bits & 0xffff),
          fromBits(element, (bits >> 16) & 0xffff)};
}

/// mma.sync.m16n8k16 with f16 or bf16 operands and f32 accumulators on
/// every warp: with g = lane / 4 and c = lane % 4, A's registers hold rows
/// g, g + 8, g, g + 8 at k = 2c.. (+8 for the last two), B's k = 2c.. and
/// 2c + 8.. of column g, and C (D) rows g, g, g + 8, g + 8 at columns 2c,
/// 2c + 1 (PTX ISA, "Matrix fragments for mma.m16n8k16").
void KernelRun::runMmaSync(NVVM::MmaOp op, const std::vector<char> &mask) {
  NVVM::MMAShapeAttr shape = op.getShapeAttr();
  std::optional<NVVM::MMATypes> typeA = op.getMultiplicandAPtxType();
  if (shape.getM() != 16 || shape.getN() != 8 || shape.getK() != 16 || !typeA ||
      (*typeA != NVVM::MMATypes::f16 && *typeA != NVVM::MMATypes::bf16) ||
      op.getOperandA().size() != 4 || op.getOperandB().size() != 2 ||
      op.getOperandC().size() != 4 || op.getLayoutA() != NVVM::MMALayout::row ||
      op.getLayoutB() != NVVM::MMALayout::col)
    return fail(op, "only mma.sync m16n8k16 row.col of f16 or bf16 with "
                    "four f32 accumulators");
  if (!checkWholeWarps(op, mask))
    return;
  MLIRContext *ctx = op.getContext();
  Type element = *typeA == NVVM::MMATypes::bf16 ? Type(BFloat16Type::get(ctx))
                                                : Type(Float16Type::get(ctx));
  SmallVector<const Lanes *> a, b, c;
  for (Value v : op.getOperandA())
    a.push_back(&get(v));
  for (Value v : op.getOperandB())
    b.push_back(&get(v));
  for (Value v : op.getOperandC())
    c.push_back(&get(v));
  Lanes &d = define(op.getRes());
  for (int64_t warp = 0; warp < threads; warp += 32) {
    if (!mask[warp])
      continue;
    double A[16][16], B[16][8], C[16][8];
    for (int64_t lane = 0; lane < 32; ++lane) {
      int64_t t = warp + lane, g = lane / 4, k = 2 * (lane % 4);
      for (int64_t r = 0; r < 4; ++r) {
        auto [x0, x1] = unpack(element, *a[r], t);
        int64_t row = g + 8 * (r % 2), col = k + 8 * (r / 2);
        A[row][col] = x0;
        A[row][col + 1] = x1;
      }
      for (int64_t r = 0; r < 2; ++r) {
        auto [y0, y1] = unpack(element, *b[r], t);
        B[k + 8 * r][g] = y0;
        B[k + 8 * r + 1][g] = y1;
      }
      for (int64_t r = 0; r < 4; ++r)
        C[g + 8 * (r / 2)][k + r % 2] = c[r]->at(t, 0);
    }
    for (int64_t lane = 0; lane < 32; ++lane) {
      int64_t t = warp + lane, g = lane / 4, k = 2 * (lane % 4);
      for (int64_t r = 0; r < 4; ++r) {
        int64_t row = g + 8 * (r / 2), col = k + r % 2;
        double sum = C[row][col];
        for (int64_t kk = 0; kk < 16; ++kk)
          sum += A[row][kk] * B[kk][col];
        d.at(t, r) = static_cast<float>(sum);
      }
    }
  }
}

/// ldmatrix of `numTiles` 8x8 matrices of 16-bit elements per warp: lanes
/// 8i .. 8i + 7 give the addresses of matrix i's rows; lane l receives
/// elements (l / 4, 2 (l % 4) + j) of each matrix, or (2 (l % 4) + j, l / 4)
/// with `transpose`.
void KernelRun::runLdMatrix(nvgpu::LdMatrixOp op,
                            const std::vector<char> &mask) {
  if (!checkWholeWarps(op, mask))
    return;
  BufferRef buffer = getBuffer(op.getSrcMemref());
  if (!buffer)
    return;
  int64_t tiles = op.getNumTiles();
  Lanes &out = define(op.getRes());
  if (out.width != 2 * tiles || getBitWidth(buffer->element) != 16)
    return fail(op, "only ldmatrix of 16-bit elements, two a tile");
  std::vector<int64_t> rows(32);
  for (int64_t warp = 0; warp < threads; warp += 32) {
    if (!mask[warp])
      continue;
    for (int64_t lane = 0; lane < 8 * tiles; ++lane) {
      rows[lane] = getLinearIndex(op, *buffer, op.getIndices(), warp + lane, 8);
      if (rows[lane] < 0)
        return;
    }
    for (int64_t lane = 0; lane < 32; ++lane)
      for (int64_t i = 0; i < tiles; ++i)
        for (int64_t j = 0; j < 2; ++j) {
          int64_t r = lane / 4, c = 2 * (lane % 4) + j;
          if (op.getTranspose())
            std::swap(r, c);
          int64_t at = rows[8 * i + r] + c;
          checkRead(op, *buffer, at, warp + lane);
          if (stopped)
            return;
          out.at(warp + lane, 2 * i + j) = buffer->at(at);
        }
  }
}

void KernelRun::runAsyncCopy(nvgpu::DeviceAsyncCopyOp op,
                             const std::vector<char> &mask) {
  BufferRef src = getBuffer(op.getSrc()), dst = getBuffer(op.getDst());
  if (!src || !dst)
    return;
  if (!dst->workgroup)
    return fail(op, "an asynchronous copy into memory other than workgroup "
                    "memory");
  int64_t count = op.getDstElements().getSExtValue();
  const Lanes *srcElements =
      op.getSrcElements() ? &get(op.getSrcElements()) : nullptr;
  define(op.getAsyncToken());
  for (int64_t t = 0; t < threads; ++t) {
    if (!mask[t])
      continue;
    int64_t copied = count;
    if (srcElements)
      copied = std::clamp<int64_t>(static_cast<int64_t>(srcElements->at(t, 0)),
                                   0, count);
    int64_t to = getLinearIndex(op, *dst, op.getDstIndices(), t, count);
    if (to < 0)
      return;
    // A copy of no source element reads nothing (its address may be any).
    int64_t from =
        copied ? getLinearIndex(op, *src, op.getSrcIndices(), t, copied) : 0;
    if (from < 0)
      return;
    for (int64_t i = 0; i < count; ++i) {
      double value = i < copied ? src->at(from + i) : 0.0;
      openCopies[t].push_back({dst.get(), to + i, value});
      ++dst->storage->pending[to + i];
    }
  }
}

void KernelRun::waitAsyncCopies(Operation *op, int64_t t, size_t keep) {
  auto &groups = committedCopies[t];
  while (groups.size() > keep && !stopped) {
    for (const PendingWrite &write : groups.front()) {
      --write.buffer->storage->pending[write.at];
      checkWrite(op, *write.buffer, write.at, t, write.value, /*async=*/true);
      write.buffer->at(write.at) = write.value;
    }
    groups.erase(groups.begin());
  }
}

std::optional<uint64_t> KernelRun::getExactInteger(Value value, int64_t t) {
  Type type = value.getType();
  if (!type.isIndex() && !type.isInteger(64)) {
    // Narrower integers are exact in the lanes.
    return static_cast<uint64_t>(static_cast<int64_t>(get(value).at(t, 0)));
  }
  Operation *def = value.getDefiningOp();
  if (auto constant = dyn_cast_or_null<arith::ConstantOp>(def))
    if (auto attr = dyn_cast<IntegerAttr>(constant.getValue()))
      return attr.getValue().getZExtValue();
  if (isa_and_nonnull<arith::IndexCastOp, arith::IndexCastUIOp>(def))
    return getExactInteger(def->getOperand(0), t);
  if (auto select = dyn_cast_or_null<arith::SelectOp>(def))
    return getExactInteger(get(select.getCondition()).at(t, 0) != 0.0
                               ? select.getTrueValue()
                               : select.getFalseValue(),
                           t);
  if (isa_and_nonnull<arith::OrIOp, arith::AndIOp, arith::XOrIOp, arith::AddIOp,
                      arith::SubIOp, arith::MulIOp, arith::ShLIOp,
                      arith::ShRUIOp>(def)) {
    std::optional<uint64_t> x = getExactInteger(def->getOperand(0), t);
    std::optional<uint64_t> y = getExactInteger(def->getOperand(1), t);
    if (!x || !y)
      return std::nullopt;
    return llvm::TypeSwitch<Operation *, uint64_t>(def)
        .Case([&](arith::OrIOp) { return *x | *y; })
        .Case([&](arith::AndIOp) { return *x & *y; })
        .Case([&](arith::XOrIOp) { return *x ^ *y; })
        .Case([&](arith::AddIOp) { return *x + *y; })
        .Case([&](arith::SubIOp) { return *x - *y; })
        .Case([&](arith::MulIOp) { return *x * *y; })
        .Case([&](arith::ShLIOp) { return *y < 64 ? *x << *y : 0; })
        .Case([&](arith::ShRUIOp) { return *y < 64 ? *x >> *y : 0; });
  }
  double lanes = get(value).at(t, 0);
  if (std::fabs(lanes) >= 9007199254740992.0)
    return std::nullopt;
  return static_cast<uint64_t>(static_cast<int64_t>(lanes));
}

std::pair<Buffer *, int64_t>
KernelRun::getWorkgroupElement(Operation *op, int64_t address, Type element) {
  int64_t bytes = getBitWidth(element) / 8;
  for (auto &[range, view] : views) {
    if (address < range.first || address >= range.second)
      continue;
    if (view->element != element) {
      fail(op, llvm::formatv("a wgmma operand at byte {0} of workgroup "
                             "memory, which holds another element type",
                             address));
      return {nullptr, 0};
    }
    if ((address - range.first) % bytes != 0) {
      fail(op, llvm::formatv("a wgmma operand element at byte {0}, not "
                             "aligned to its size",
                             address));
      return {nullptr, 0};
    }
    return {view.get(), (address - range.first) / bytes};
  }
  fail(op, llvm::formatv("a wgmma operand at byte {0}, outside every view "
                         "of dynamic workgroup memory",
                         address));
  return {nullptr, 0};
}

/// wgmma.mma_async m64nNk16 with f16 or bf16 operands in workgroup memory
/// (matrix descriptors) and f32 accumulators, on every active warpgroup:
/// D (64 x N) = A (64 x 16) B (16 x N) + D. A descriptor holds the start
/// address (bits 0-13), the leading and stride byte offsets (16-29, 32-45;
/// all in 16-byte units), the base offset (49-51) and the swizzle mode
/// (62-63). Only the 128-byte swizzle is modelled: 16-byte chunk c of a
/// 128-byte row r of a 1024-byte-aligned 8-row block sits at chunk c ^ r,
/// applied to address bits 4-6 by bits 7-9. A K-major operand (A "row", B
/// "col") has its 8-row groups of the M (N) dimension a stride byte offset
/// apart; an MN-major one (A "col", B "row") has 64-element column blocks
/// a leading byte offset apart and 8-row groups of K a stride byte offset
/// apart. Accumulators: warp w of the warpgroup holds rows 16 w + lane / 4
/// (+ 8), element 4 j + 2 h + i at row 16 w + lane / 4 + 8 h, column
/// 8 j + 2 (lane % 4) + i (PTX ISA, "Matrix fragments for wgmma"). The
/// elements read stay in flight until the warpgroup waits for the group
/// (writing them before is an error), and must have been fenced with
/// `fence.proxy.async` after their last write.
void KernelRun::runWgmma(NVVM::WgmmaMmaAsyncOp op,
                         const std::vector<char> &mask) {
  NVVM::MMAShapeAttr shape = op.getShape();
  int64_t n = shape.getN();
  auto isHalf = [](NVVM::WGMMATypes type) {
    return type == NVVM::WGMMATypes::f16 || type == NVVM::WGMMATypes::bf16;
  };
  if (shape.getM() != 64 || shape.getK() != 16 || !isHalf(op.getTypeA()) ||
      op.getTypeB() != op.getTypeA() ||
      op.getTypeD() != NVVM::WGMMATypes::f32 ||
      op.getScaleA() != NVVM::WGMMAScaleIn::one ||
      op.getScaleB() != NVVM::WGMMAScaleIn::one)
    return fail(op, "only wgmma m64nNk16 of f16 or bf16 with f32 "
                    "accumulators and unscaled inputs");
  if (!checkWholeWarpgroups(op, mask))
    return;
  MLIRContext *ctx = op.getContext();
  Type element = op.getTypeA() == NVVM::WGMMATypes::bf16
                     ? Type(BFloat16Type::get(ctx))
                     : Type(Float16Type::get(ctx));
  const Lanes &c = get(op.getInouts());
  if (c.width != n / 2)
    return fail(op, "wgmma accumulators of other than N / 2 elements a "
                    "thread");
  bool accumulate = op.getScaleD() == NVVM::WGMMAScaleOut::one;
  Lanes &d = define(op.getResults());
  // The elements of one operand: `mn` rows (M or N) of 16 k.
  auto load = [&](int64_t group, Value descriptor, bool kMajor, int64_t mn,
                  std::vector<double> &out) -> bool {
    std::optional<uint64_t> bits;
    for (int64_t t = group; t < group + 128; ++t) {
      std::optional<uint64_t> mine = getExactInteger(descriptor, t);
      if (!mine) {
        fail(op, "a wgmma descriptor the emulator cannot compute exactly");
        return false;
      }
      if (bits && *bits != *mine) {
        fail(op, llvm::formatv("a wgmma descriptor that differs between "
                               "threads {0} and {1} of a warpgroup",
                               group, t));
        return false;
      }
      bits = mine;
    }
    int64_t start = (*bits & 0x3FFF) << 4;
    int64_t leading = ((*bits >> 16) & 0x3FFF) << 4;
    int64_t stride = ((*bits >> 32) & 0x3FFF) << 4;
    if (((*bits >> 49) & 7) != 0 || (*bits >> 62) != 1) {
      fail(op, "a wgmma descriptor with a base offset or a swizzle other "
               "than 128 bytes");
      return false;
    }
    out.assign(mn * 16, 0.0);
    for (int64_t r = 0; r < mn; ++r)
      for (int64_t k = 0; k < 16; ++k) {
        int64_t address = kMajor ? start + r / 8 * stride + r % 8 * 128 + k * 2
                                 : start + r / 64 * leading + k / 8 * stride +
                                       k % 8 * 128 + r % 64 * 2;
        address ^= ((address >> 7) & 7) << 4;
        auto [buffer, at] = getWorkgroupElement(op, address, element);
        if (!buffer)
          return false;
        checkRead(op, *buffer, at, group);
        Storage &storage = *buffer->storage;
        if (!stopped && storage.unfenced[at])
          fail(op, llvm::formatv("a wgmma of warpgroup {0} reads workgroup "
                                 "memory that thread {1} wrote with no "
                                 "fence.proxy.async after it",
                                 group / 128, storage.writer[at]));
        if (stopped)
          return false;
        ++storage.asyncReads[at];
        openWgmma[group / 128].push_back({&storage, at});
        out[r * 16 + k] = storage.data[at];
      }
    return true;
  };
  std::vector<double> a, b;
  for (int64_t group = 0; group < threads; group += 128) {
    if (!mask[group])
      continue;
    if (!load(group, op.getDescriptorA(),
              op.getLayoutA() == NVVM::MMALayout::row, 64, a) ||
        !load(group, op.getDescriptorB(),
              op.getLayoutB() == NVVM::MMALayout::col, n, b))
      return;
    for (int64_t lane = 0; lane < 128; ++lane) {
      int64_t t = group + lane;
      for (int64_t e = 0; e < n / 2; ++e) {
        int64_t j = e / 4, h = e % 4 / 2, i = e % 2;
        int64_t row = lane / 32 * 16 + lane % 32 / 4 + 8 * h;
        int64_t col = 8 * j + 2 * (lane % 4) + i;
        double sum = accumulate ? c.at(t, e) : 0.0;
        for (int64_t k = 0; k < 16; ++k)
          sum += a[row * 16 + k] * b[col * 16 + k];
        d.at(t, e) = static_cast<float>(sum);
      }
    }
  }
}

/// Runs the host function: bufferization casts, allocations, constants and
/// launches.
class HostRun {
public:
  HostRun(ModuleOp module, std::string &error) : module(module), error(error) {}

  LogicalResult run(func::FuncOp func, ArrayRef<NpyArray> inputs,
                    std::vector<NpyArray> &outputs);

private:
  LogicalResult fail(Operation *op, const Twine &message) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << message;
    if (op) {
      os << "\n  at " << op->getLoc() << ": ";
      op->print(os, OpPrintingFlags().skipRegions());
    }
    error = text;
    return failure();
  }
  LogicalResult runOp(Operation *op);
  LogicalResult launch(gpu::LaunchFuncOp op);

  ModuleOp module;
  std::string &error;
  llvm::DenseMap<Value, BufferRef> buffers;
  llvm::DenseMap<Value, int64_t> scalars;
};

BufferRef makeBuffer(ShapedType type) {
  return std::make_shared<Buffer>(type.getElementType(), type.getShape());
}

LogicalResult HostRun::launch(gpu::LaunchFuncOp op) {
  auto kernel =
      SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(op, op.getKernel());
  if (!kernel)
    return fail(op, "no gpu.func for the launch");
  auto scalar = [&](Value value) -> std::optional<int64_t> {
    auto it = scalars.find(value);
    if (it == scalars.end())
      return std::nullopt;
    return it->second;
  };
  std::array<int64_t, 3> grid, block;
  gpu::KernelDim3 g = op.getGridSizeOperandValues(),
                  b = op.getBlockSizeOperandValues();
  Value dims[6] = {g.x, g.y, g.z, b.x, b.y, b.z};
  for (int i = 0; i < 6; ++i) {
    std::optional<int64_t> value = scalar(dims[i]);
    if (!value || *value <= 0)
      return fail(op, "grid and block sizes must be positive constants");
    (i < 3 ? grid[i] : block[i - 3]) = *value;
  }
  int64_t dynamicBytes = 0;
  if (Value bytes = op.getDynamicSharedMemorySize()) {
    std::optional<int64_t> value = scalar(bytes);
    if (!value)
      return fail(op, "the dynamic shared memory size must be a constant");
    dynamicBytes = *value;
  }
  SmallVector<BufferRef> args;
  for (Value operand : op.getKernelOperands()) {
    auto it = buffers.find(operand);
    if (it == buffers.end())
      return fail(op, "a kernel operand that is not a buffer");
    args.push_back(it->second);
  }
  return KernelRun(kernel, grid, block, dynamicBytes, args, error).run();
}

LogicalResult HostRun::runOp(Operation *op) {
  if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
    if (auto shaped = dyn_cast<RankedTensorType>(constant.getType())) {
      BufferRef buffer = createConstantBuffer(shaped, constant.getValue());
      if (!buffer)
        return fail(op, "unsupported constant");
      buffers[constant] = buffer;
      return success();
    }
    if (auto i = dyn_cast<IntegerAttr>(constant.getValue())) {
      scalars[constant] = i.getValue().getSExtValue();
      return success();
    }
    return success(); // Unused float constants.
  }
  if (auto getGlobal = dyn_cast<memref::GetGlobalOp>(op)) {
    BufferRef buffer = createGlobalBuffer(getGlobal);
    if (!buffer)
      return fail(op, "a global without a known initial value");
    buffers[getGlobal] = buffer;
    return success();
  }
  if (auto toBuffer = dyn_cast<bufferization::ToBufferOp>(op)) {
    buffers[toBuffer] = buffers.lookup(toBuffer.getTensor());
    return success();
  }
  if (auto toTensor = dyn_cast<bufferization::ToTensorOp>(op)) {
    buffers[toTensor] = buffers.lookup(toTensor.getBuffer());
    return success();
  }
  if (isa<memref::AllocOp, memref::AllocaOp, tensor::EmptyOp>(op)) {
    auto type = cast<ShapedType>(op->getResult(0).getType());
    if (!type.hasStaticShape())
      return fail(op, "an allocation of dynamic shape");
    buffers[op->getResult(0)] = makeBuffer(type);
    return success();
  }
  auto copyInto = [&](const Buffer &source, Buffer &target) {
    for (int64_t i = 0, e = source.getNumElements(); i < e; ++i)
      target.at(target.getStorageIndex(i)) =
          source.storage->data[source.getStorageIndex(i)];
  };
  if (auto copy = dyn_cast<linalg::CopyOp>(op)) {
    if (copy->getNumResults() != 1)
      return fail(op, "only copies of tensors");
    BufferRef source = buffers.lookup(copy.getInputs()[0]);
    if (!source)
      return fail(op, "a copy of an unknown tensor");
    BufferRef result = std::make_shared<Buffer>(source->element, source->shape);
    copyInto(*source, *result);
    buffers[copy->getResult(0)] = result;
    return success();
  }
  if (auto copy = dyn_cast<memref::CopyOp>(op)) {
    BufferRef source = buffers.lookup(copy.getSource());
    BufferRef target = buffers.lookup(copy.getTarget());
    if (!source || !target || source->shape != target->shape)
      return fail(op, "a copy between unknown or different buffers");
    copyInto(*source, *target);
    return success();
  }
  if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp, tensor::ReshapeOp,
          memref::ExpandShapeOp, memref::CollapseShapeOp, memref::ReshapeOp,
          memref::SubViewOp, memref::CastOp>(op)) {
    BufferRef source = buffers.lookup(op->getOperand(0));
    if (!source)
      return fail(op, "a view of an unknown value");
    std::string why;
    BufferRef view = createView(op, source, why);
    if (!view)
      return fail(op, why);
    buffers[op->getResult(0)] = view;
    return success();
  }
  if (auto launchOp = dyn_cast<gpu::LaunchFuncOp>(op))
    return launch(launchOp);
  if (isa<memref::DeallocOp>(op))
    return success();
  return fail(op, "a host op the emulator does not support (it runs host "
                  "functions of allocations, views, copies and launches)");
}

/// The elements of `buffer` in row-major order as a .npy array (floats as
/// f32, i32 as i32, other integers as i64).
NpyArray toNpy(const Buffer &buffer) {
  Type element = buffer.element;
  NpyDType dtype = isa<FloatType>(element) ? NpyDType::F32
                   : element.isInteger(32) ? NpyDType::I32
                                           : NpyDType::I64;
  NpyArray array(dtype, buffer.shape);
  for (int64_t i = 0, e = buffer.getNumElements(); i < e; ++i) {
    double value = buffer.storage->data[buffer.getStorageIndex(i)];
    if (dtype == NpyDType::F32)
      array.getDataAs<float>()[i] = static_cast<float>(value);
    else if (dtype == NpyDType::I32)
      array.getDataAs<int32_t>()[i] = static_cast<int32_t>(value);
    else
      array.getDataAs<int64_t>()[i] = static_cast<int64_t>(value);
  }
  return array;
}

LogicalResult HostRun::run(func::FuncOp func, ArrayRef<NpyArray> inputs,
                           std::vector<NpyArray> &outputs) {
  // Arguments are tensors, or memrefs of which those marked
  // `bufferize.result` are the results (the GPU pipelines' out-parameters).
  SmallVector<BlockArgument> ins, outs;
  for (BlockArgument arg : func.getArguments()) {
    if (func.getArgAttr(arg.getArgNumber(), "bufferize.result"))
      outs.push_back(arg);
    else
      ins.push_back(arg);
  }
  if (ins.size() != inputs.size())
    return fail(func, llvm::formatv("{0} inputs for {1} arguments",
                                    inputs.size(), ins.size()));
  for (auto [arg, input] : llvm::zip(ins, inputs)) {
    auto type = dyn_cast<ShapedType>(arg.getType());
    if (!type || !type.hasStaticShape() ||
        !isa<RankedTensorType, MemRefType>(type))
      return fail(func, "arguments must be tensors or memrefs of static "
                        "shape");
    if (auto memref = dyn_cast<MemRefType>(type);
        memref && !memref.getLayout().isIdentity())
      return fail(func, "memref arguments must have the identity layout");
    if (ArrayRef<int64_t>(input.shape) != type.getShape())
      return fail(func, llvm::formatv("input of shape {0} for an argument of "
                                      "type {1}",
                                      formatNpyShape(input.shape), type));
    BufferRef buffer = makeBuffer(type);
    for (int64_t i = 0, e = buffer->getNumElements(); i < e; ++i) {
      double value = 0;
      switch (input.dtype) {
      case NpyDType::F32:
        value = input.getDataAs<float>()[i];
        break;
      case NpyDType::F16:
        value = APFloat(APFloat::IEEEhalf(),
                        APInt(16, input.getDataAs<uint16_t>()[i]))
                    .convertToFloat();
        break;
      case NpyDType::I32:
        value = input.getDataAs<int32_t>()[i];
        break;
      case NpyDType::I64:
        value = static_cast<double>(input.getDataAs<int64_t>()[i]);
        break;
      }
      buffer->at(i) = roundTo(type.getElementType(), value);
    }
    buffers[arg] = buffer;
  }
  for (BlockArgument arg : outs) {
    auto type = dyn_cast<MemRefType>(arg.getType());
    if (!type || !type.hasStaticShape() || !type.getLayout().isIdentity())
      return fail(func, "results must be memrefs of static shape and the "
                        "identity layout");
    buffers[arg] = makeBuffer(type);
  }
  for (Operation &op : func.getBody().front()) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (Value result : ret.getOperands()) {
        BufferRef buffer = buffers.lookup(result);
        if (!buffer)
          return fail(ret, "a result that is not a known tensor");
        outputs.push_back(toNpy(*buffer));
      }
      for (BlockArgument arg : outs)
        outputs.push_back(toNpy(*buffers.lookup(arg)));
      return success();
    }
    if (failed(runOp(&op)))
      return failure();
  }
  return fail(func, "no func.return");
}

} // namespace

llvm::Expected<std::vector<NpyArray>>
tessera::emulateGPUFunction(ModuleOp module, StringRef entry,
                            ArrayRef<NpyArray> inputs) {
  auto func = module.lookupSymbol<func::FuncOp>(entry);
  if (!func || func.isExternal())
    return llvm::createStringError("no func.func @" + entry.str() +
                                   " with a body");
  std::string error;
  std::vector<NpyArray> outputs;
  if (failed(HostRun(module, error).run(func, inputs, outputs)))
    return llvm::createStringError(error);
  return outputs;
}
