//===- Emulator.h - Running GPU kernels' IR on the host ---------*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// An interpreter of GPU kernels' IR before it is lowered to NVVM or ROCDL:
// a host function whose work is `gpu.launch_func`s of kernels in
// `gpu.module`s, as the tensor-core passes leave it (tensors in and out) or
// as the GPU pipelines do with `stop-before-kernel-lowering` (memrefs, the
// results as out-parameters marked `bufferize.result`). It
// runs every thread of a block in lockstep, one op at a time over all
// threads, so that a test can compare a kernel's results with the CPU
// reference where no GPU is (the AMD matrix-core kernels have never run on
// a GPU here). Lockstep execution is one valid schedule of a correct
// kernel; to find the schedules it hides, every workgroup-memory access
// is checked against the others of its barrier interval (a read of
// another thread's write, or a write over another thread's read or
// differing write, is a race), reads of workgroup memory that nothing
// wrote and out-of-bounds accesses are errors, and buffers start as NaN so
// that elements a kernel fails to write show.
//
// Kernels may use arith, math, vector (loads, stores, element moves,
// bitcasts), scf (for, if), memref (loads, stores, atomic read-modify-
// writes in thread order, static subviews and reshapes, globals, views of
// dynamic workgroup memory), gpu (ids, dims, barrier, shuffle), `amdgpu.mfma`
// 16x16x16 with one block, and NVIDIA's `nvvm.mma.sync` m16n8k16 (f16,
// bf16), `nvgpu.ldmatrix` and `nvgpu.device_async_copy` with the cp.async
// commit and wait ops (a copy lands when its thread waits for its group;
// reading it before is an error), sm_90a's `nvvm.wgmma.mma_async`
// m64nNk16 (f16, bf16; operands in workgroup memory named by 128-byte
// swizzled descriptors) with its fence, commit and wait ops and
// `fence.proxy.async` (reads stay in flight until their group is waited
// for; reading memory written since its writer's last proxy fence is an
// error), and the ex2/lg2 approximation intrinsics; the host function
// bufferization casts, allocations, constants and globals, tensor.empty,
// copies, views and reshapes. Anything else is reported.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_TARGET_GPU_EMULATOR_H
#define TESSERA_TARGET_GPU_EMULATOR_H

#include "tessera/Support/Npy.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <vector>

namespace mlir {
namespace tessera {

/// Runs `entry` of `module` on `inputs` (one per argument but the
/// `bufferize.result` out-parameters; floats are rounded to the argument's
/// element type) and returns its results, then its out-parameters (f16 and
/// bf16 as f32, index as i64).
llvm::Expected<std::vector<NpyArray>>
emulateGPUFunction(ModuleOp module, llvm::StringRef entry,
                   llvm::ArrayRef<NpyArray> inputs);

} // namespace tessera
} // namespace mlir

#endif // TESSERA_TARGET_GPU_EMULATOR_H
