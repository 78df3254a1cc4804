//===- TensorCoreUtils.h - Helpers of the tensor-core kernels ---*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// What the tensor-core and matrix-core kernels (tessera-tensor-core-grouped-
// matmul, tessera-tensor-core-attention) share: the chips, the kernel
// module, padded tiles in dynamic shared memory, ldmatrix results as
// registers, mma.sync and the launch's operand buffers. Internal to the
// library.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_LIB_TRANSFORMS_TENSORCOREUTILS_H
#define TESSERA_LIB_TRANSFORMS_TENSORCOREUTILS_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Debug.h"

namespace mlir {
namespace tessera {
namespace tensor_core {

/// Shared-memory rows are padded by 8 elements, which spreads the 8 rows an
/// ldmatrix reads over all 32 banks; copies move 8 elements (16 bytes).
constexpr int64_t kPad = 8, kChunk = 8;

/// The NVIDIA compute capability of `chip` (`sm_90a` -> 90), 0 if unknown.
unsigned getComputeCapability(StringRef chip);

/// The shared memory a block of compute capability `capability` may use
/// (static and dynamic), in bytes.
int64_t getMaxSharedBytes(unsigned capability);

/// The streaming multiprocessors of the usual data-center part of compute
/// capability `capability` (A100, H100 SXM, B200), for heuristics.
int64_t getMultiprocessorCount(unsigned capability);

/// Whether AMD `chip` has the f16 and bf16 16x16x16 MFMA products (the
/// CDNA chips gfx90a, gfx940-942 and gfx950; `_1k` on gfx90a).
bool hasMfma(StringRef chip);

/// The compute units of the usual data-center part of AMD `chip` (one
/// MI250X die, MI300X, MI355X), for heuristics.
int64_t getComputeUnitCount(StringRef chip);

/// The LDS a workgroup may use on the AMD chips with MFMA.
constexpr int64_t kMfmaSharedBytes = 64 * 1024;

/// A chip of the matrix-unit passes: AMD gfx<NNN> or NVIDIA sm_<NN>[a].
struct Chip {
  bool amd = false;
  /// NVIDIA: the compute capability (`sm_90a` -> 90).
  unsigned capability = 0;
};

/// What `chip` is; an unknown chip is reported on `module` as an error of
/// `pass`.
FailureOr<Chip> getChipOrError(ModuleOp module, StringRef pass, StringRef chip);

/// The ops of type OpT in `module` for which `whyNotEligible` gives no
/// reason; every op's verdict is printed with -debug-only=`debugType`.
template <typename OpT>
SmallVector<OpT>
collectEligible(ModuleOp module, const char *debugType,
                llvm::function_ref<std::string(OpT)> whyNotEligible) {
  SmallVector<OpT> ops;
  module.walk([&](OpT op) {
    std::string why = whyNotEligible(op);
    DEBUG_WITH_TYPE(debugType, llvm::dbgs()
                                   << op.getLoc() << ": "
                                   << (why.empty() ? "tensor cores" : why)
                                   << "\n");
    if (why.empty())
      ops.push_back(op);
  });
  return ops;
}

/// `gpu.module @tessera_kernels` of `module`, created (and `module` marked
/// as a GPU container) on first use.
gpu::GPUModuleOp getOrCreateKernelModule(ModuleOp module);

/// A kernel name `<function of op>_<suffix><N>` not yet used in `kernels`;
/// `next` counts per function.
std::string getUniqueKernelName(gpu::GPUModuleOp kernels, Operation *op,
                                StringRef suffix,
                                llvm::StringMap<unsigned> &next);

/// A tile of `shape` elements in workgroup memory, the last dimension padded
/// by kPad.
MemRefType getSharedTileType(MLIRContext *ctx, Type element,
                             ArrayRef<int64_t> shape);
int64_t getBytes(MemRefType type);

/// Views of the kernel's dynamic shared memory, one per type, back to back.
SmallVector<Value> createDynamicSharedViews(ImplicitLocOpBuilder &b,
                                            ArrayRef<MemRefType> types);

/// The four 32-bit rows (vector<2xf16|bf16>) of an x4 ldmatrix result.
SmallVector<Value> getLdMatrixRows(ImplicitLocOpBuilder &b, Value fragment);

/// One m16n8k16 mma.sync with f32 accumulators: `a` (4) and `bRegs` (2) are
/// vector<2xf16|bf16> registers of the `element` type, `c` a vector<4xf32>;
/// returns the new vector<4xf32>.
Value createMmaSync(ImplicitLocOpBuilder &b, Type element, ArrayRef<Value> a,
                    ArrayRef<Value> bRegs, Value c);

/// wgmma operands in shared memory are 128-byte swizzled: 16-byte chunk c
/// of a 128-byte row r sits at chunk c ^ (r % 8); 8 rows (1024 bytes)
/// repeat, so a swizzled tile starts at a 1024-byte boundary.
constexpr int64_t kSwizzleBytes = 128, kSwizzleRows = 8;

/// Elements of `element` (f16, bf16) in one 128-byte swizzled row: the
/// width of a swizzled column block.
inline int64_t getSwizzleRowElements(Type element) {
  return kSwizzleBytes * 8 / element.getIntOrFloatBitWidth();
}

/// The shared address (i64) of the first element of workgroup `tile`, for
/// wgmma descriptors.
Value getSharedAddress(ImplicitLocOpBuilder &b, Value tile);

/// A wgmma shared-memory descriptor of the 128-byte swizzled matrix at
/// `base` + `offset` (i64 bytes): start address, leading and stride byte
/// offsets (all in 16-byte units) and the swizzle mode (1: 128 bytes) in
/// bits 62-63.
Value createWgmmaDescriptor(ImplicitLocOpBuilder &b, Value base, int64_t lbo,
                            int64_t sbo, Value offset);

/// One wgmma.mma_async m64nNk16 of `element` (f16, bf16) operands with f32
/// accumulators `acc` (an LLVM struct of N / 2 f32) += A B, A K-major and B
/// K-major (`bMajorN` false) or N-major (true), from descriptors.
Value createWgmma(ImplicitLocOpBuilder &b, Type element, Value acc, Value descA,
                  Value descB, int64_t n, bool bMajorN);

/// wgmma accumulators (a struct of 4 f32 per 8 columns) as mma.sync C
/// fragments (vector<4xf32>, element 4 j + e of the struct at e of fragment
/// j: the two layouts agree), and back.
SmallVector<Value> unpackWgmmaAccumulators(ImplicitLocOpBuilder &b, Value acc);
Value packWgmmaAccumulators(ImplicitLocOpBuilder &b, ValueRange fragments);

/// 2^x and log2(x) of an f32: the approximate PTX instructions
/// (`ex2.approx.ftz`, `lg2.approx`), or for `amd` math ops (ocml).
Value createExp2(ImplicitLocOpBuilder &b, Value x, bool amd = false);
Value createLog2(ImplicitLocOpBuilder &b, Value x, bool amd = false);

/// Launches `kernel` on gridX x gridY x gridZ blocks of `threads` threads
/// with `sharedBytes` of dynamic shared memory.
void createKernelLaunch(ImplicitLocOpBuilder &b, gpu::GPUFuncOp kernel,
                        int64_t gridX, int64_t gridY, int64_t threads,
                        int64_t sharedBytes, ValueRange args,
                        int64_t gridZ = 1);

/// The read-only buffer of `tensor` for a launch. A constant (a global after
/// bufferization) is first copied: launch arguments are function arguments
/// and allocations.
Value createLaunchOperand(ImplicitLocOpBuilder &b, Value tensor);

} // namespace tensor_core
} // namespace tessera
} // namespace mlir

#endif // TESSERA_LIB_TRANSFORMS_TENSORCOREUTILS_H
