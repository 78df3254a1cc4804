// What tessera-gpu-emulate reports instead of a result: races on workgroup
// memory (a read of another thread's write and a write over another
// thread's read with no barrier between), reads of workgroup memory
// nothing wrote or an asynchronous copy (cp.async) has not finished,
// out-of-bounds accesses, a barrier not every thread
// reaches, an op it does not know, and bad command lines. One line from
// the tool, then the kernel, block and op.

// RUN: rm -rf %t && mkdir -p %t
// RUN: %numpy_python %S/../tessera-run/Inputs/npy.py %t make x "np.arange(64, dtype='f4')"
// RUN: not tessera-gpu-emulate %s --entry=raw --input=%t/x.npy 2>&1 | FileCheck %s --check-prefix=RAW
// RAW: error: raw, block (0, 0, 0): race: thread 0 reads what thread 1 wrote with no barrier in between
// RAW-NEXT: at loc("{{.*}}errors.mlir":{{[0-9]+}}:12): %{{.*}} = memref.load %arg2[%{{.*}}] : memref<64xf32, #gpu.address_space<workgroup>>
// RUN: not tessera-gpu-emulate %s --entry=war --input=%t/x.npy 2>&1 | FileCheck %s --check-prefix=WAR
// WAR: error: war, block (0, 0, 0): race: thread 0 overwrites what another thread read with no barrier in between
// RUN: not tessera-gpu-emulate %s --entry=unwritten --input=%t/x.npy 2>&1 | FileCheck %s --check-prefix=UNWRITTEN
// UNWRITTEN: error: unwritten, block (0, 0, 0): thread 0 reads workgroup memory that no thread wrote
// RUN: not tessera-gpu-emulate %s --entry=bounds --input=%t/x.npy 2>&1 | FileCheck %s --check-prefix=BOUNDS
// BOUNDS: error: bounds, block (0, 0, 0): thread 63: index 64 (+0) out of bounds of dimension 0 of size 64
// RUN: not tessera-gpu-emulate %s --entry=divergent --input=%t/x.npy 2>&1 | FileCheck %s --check-prefix=DIVERGENT
// DIVERGENT: error: divergent, block (0, 0, 0): a barrier that not every thread of the block reaches
// RUN: not tessera-gpu-emulate %s --entry=unknown --input=%t/x.npy 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// UNKNOWN: error: unknown, block (0, 0, 0): an op the emulator does not support
// UNKNOWN-NEXT: gpu.subgroup_reduce
// RUN: not tessera-gpu-emulate %s --entry=nowait --input=%t/x.npy 2>&1 | FileCheck %s --check-prefix=NOWAIT
// NOWAIT: error: nowait, block (0, 0, 0): thread 0 reads workgroup memory that an asynchronous copy has not finished writing (no cp.async wait for it)
// RUN: not tessera-gpu-emulate %s --entry=raw 2>&1 | FileCheck %s --check-prefix=INPUTS
// INPUTS: error: 0 inputs for 1 arguments
// RUN: not tessera-gpu-emulate %s --entry=nothere --input=%t/x.npy 2>&1 | FileCheck %s --check-prefix=ENTRY
// ENTRY: error: no func.func @nothere with a body
// RUN: not tessera-gpu-emulate %s --input=%t/x.npy 2>&1 | FileCheck %s --check-prefix=NOENTRY
// NOENTRY: error: no --entry: name the func.func to run
// RUN: not tessera-gpu-emulate %s --entry=host --input=%t/x.npy 2>&1 | FileCheck %s --check-prefix=HOST
// HOST: error: a host op the emulator does not support (it runs host functions of allocations, views, copies and launches)
// HOST-NEXT: arith.negf

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @raw(%x: memref<64xf32>, %r: memref<64xf32>)
        workgroup(%s : memref<64xf32, #gpu.address_space<workgroup>>) kernel {
      %t = gpu.thread_id x
      %c1 = arith.constant 1 : index
      %c64 = arith.constant 64 : index
      %v = memref.load %x[%t] : memref<64xf32>
      memref.store %v, %s[%t] : memref<64xf32, #gpu.address_space<workgroup>>
      %n = arith.addi %t, %c1 : index
      %m = arith.remui %n, %c64 : index
      %w = memref.load %s[%m] : memref<64xf32, #gpu.address_space<workgroup>>
      memref.store %w, %r[%t] : memref<64xf32>
      gpu.return
    }
    gpu.func @war(%x: memref<64xf32>, %r: memref<64xf32>)
        workgroup(%s : memref<64xf32, #gpu.address_space<workgroup>>) kernel {
      %t = gpu.thread_id x
      %c1 = arith.constant 1 : index
      %c64 = arith.constant 64 : index
      %v = memref.load %x[%t] : memref<64xf32>
      memref.store %v, %s[%t] : memref<64xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %n = arith.addi %t, %c1 : index
      %m = arith.remui %n, %c64 : index
      %w = memref.load %s[%m] : memref<64xf32, #gpu.address_space<workgroup>>
      memref.store %w, %s[%t] : memref<64xf32, #gpu.address_space<workgroup>>
      memref.store %w, %r[%t] : memref<64xf32>
      gpu.return
    }
    gpu.func @unwritten(%x: memref<64xf32>, %r: memref<64xf32>)
        workgroup(%s : memref<64xf32, #gpu.address_space<workgroup>>) kernel {
      %t = gpu.thread_id x
      %w = memref.load %s[%t] : memref<64xf32, #gpu.address_space<workgroup>>
      memref.store %w, %r[%t] : memref<64xf32>
      gpu.return
    }
    gpu.func @bounds(%x: memref<64xf32>, %r: memref<64xf32>) kernel {
      %t = gpu.thread_id x
      %c1 = arith.constant 1 : index
      %v = memref.load %x[%t] : memref<64xf32>
      %n = arith.addi %t, %c1 : index
      memref.store %v, %r[%n] : memref<64xf32>
      gpu.return
    }
    gpu.func @divergent(%x: memref<64xf32>, %r: memref<64xf32>) kernel {
      %t = gpu.thread_id x
      %c32 = arith.constant 32 : index
      %low = arith.cmpi ult, %t, %c32 : index
      scf.if %low {
        gpu.barrier
      }
      gpu.return
    }
    gpu.func @nowait(%x: memref<64xf32>, %r: memref<64xf32>)
        workgroup(%s : memref<64xf32, #gpu.address_space<workgroup>>) kernel {
      %t = gpu.thread_id x
      %token = nvgpu.device_async_copy %x[%t], %s[%t], 1 : memref<64xf32> to memref<64xf32, #gpu.address_space<workgroup>>
      nvvm.cp.async.commit.group
      gpu.barrier
      %w = memref.load %s[%t] : memref<64xf32, #gpu.address_space<workgroup>>
      memref.store %w, %r[%t] : memref<64xf32>
      gpu.return
    }
    gpu.func @unknown(%x: memref<64xf32>, %r: memref<64xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %x[%t] : memref<64xf32>
      %s = gpu.subgroup_reduce add %v : (f32) -> f32
      memref.store %s, %r[%t] : memref<64xf32>
      gpu.return
    }
  }

  func.func @raw(%x: tensor<64xf32>) -> tensor<64xf32> {
    %xb = bufferization.to_buffer %x read_only : tensor<64xf32> to memref<64xf32>
    %r = memref.alloc() : memref<64xf32>
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    gpu.launch_func @kernels::@raw blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1) args(%xb : memref<64xf32>, %r : memref<64xf32>)
    %t = bufferization.to_tensor %r restrict writable : memref<64xf32> to tensor<64xf32>
    return %t : tensor<64xf32>
  }
  func.func @war(%x: tensor<64xf32>) -> tensor<64xf32> {
    %xb = bufferization.to_buffer %x read_only : tensor<64xf32> to memref<64xf32>
    %r = memref.alloc() : memref<64xf32>
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    gpu.launch_func @kernels::@war blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1) args(%xb : memref<64xf32>, %r : memref<64xf32>)
    %t = bufferization.to_tensor %r restrict writable : memref<64xf32> to tensor<64xf32>
    return %t : tensor<64xf32>
  }
  func.func @unwritten(%x: tensor<64xf32>) -> tensor<64xf32> {
    %xb = bufferization.to_buffer %x read_only : tensor<64xf32> to memref<64xf32>
    %r = memref.alloc() : memref<64xf32>
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    gpu.launch_func @kernels::@unwritten blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1) args(%xb : memref<64xf32>, %r : memref<64xf32>)
    %t = bufferization.to_tensor %r restrict writable : memref<64xf32> to tensor<64xf32>
    return %t : tensor<64xf32>
  }
  func.func @bounds(%x: tensor<64xf32>) -> tensor<64xf32> {
    %xb = bufferization.to_buffer %x read_only : tensor<64xf32> to memref<64xf32>
    %r = memref.alloc() : memref<64xf32>
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    gpu.launch_func @kernels::@bounds blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1) args(%xb : memref<64xf32>, %r : memref<64xf32>)
    %t = bufferization.to_tensor %r restrict writable : memref<64xf32> to tensor<64xf32>
    return %t : tensor<64xf32>
  }
  func.func @nowait(%x: tensor<64xf32>) -> tensor<64xf32> {
    %xb = bufferization.to_buffer %x read_only : tensor<64xf32> to memref<64xf32>
    %r = memref.alloc() : memref<64xf32>
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    gpu.launch_func @kernels::@nowait blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1) args(%xb : memref<64xf32>, %r : memref<64xf32>)
    %t = bufferization.to_tensor %r restrict writable : memref<64xf32> to tensor<64xf32>
    return %t : tensor<64xf32>
  }
  func.func @divergent(%x: tensor<64xf32>) -> tensor<64xf32> {
    %xb = bufferization.to_buffer %x read_only : tensor<64xf32> to memref<64xf32>
    %r = memref.alloc() : memref<64xf32>
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    gpu.launch_func @kernels::@divergent blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1) args(%xb : memref<64xf32>, %r : memref<64xf32>)
    %t = bufferization.to_tensor %r restrict writable : memref<64xf32> to tensor<64xf32>
    return %t : tensor<64xf32>
  }
  func.func @unknown(%x: tensor<64xf32>) -> tensor<64xf32> {
    %xb = bufferization.to_buffer %x read_only : tensor<64xf32> to memref<64xf32>
    %r = memref.alloc() : memref<64xf32>
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    gpu.launch_func @kernels::@unknown blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1) args(%xb : memref<64xf32>, %r : memref<64xf32>)
    %t = bufferization.to_tensor %r restrict writable : memref<64xf32> to tensor<64xf32>
    return %t : tensor<64xf32>
  }
  func.func @host(%x: tensor<64xf32>) -> tensor<64xf32> {
    %n = arith.negf %x : tensor<64xf32>
    return %n : tensor<64xf32>
  }
}
