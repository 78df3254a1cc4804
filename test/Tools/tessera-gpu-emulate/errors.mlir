// What tessera-gpu-emulate reports instead of a result: races on workgroup
// memory (a read of another thread's write and a write over another
// thread's read with no barrier between), reads of workgroup memory
// nothing wrote or an asynchronous copy (cp.async) has not finished,
// out-of-bounds accesses, a barrier not every thread
// reaches, an op it does not know, and bad command lines. One line from
// the tool, then the kernel, block and op. wgmma (one kernel, its mistake
// picked by an input; mode 0 makes none): reading memory written with no
// fence.proxy.async since, descriptors other than 128-byte swizzled or
// that differ within a warpgroup, a warpgroup only half of whose threads
// reach it, overwriting what a wgmma in flight reads, and ending with
// groups never waited for.

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

// RUN: %numpy_python %S/../tessera-run/Inputs/npy.py %t make \
// RUN:   m0 "np.array([0], 'i4')" m1 "np.array([1], 'i4')" m2 "np.array([2], 'i4')" \
// RUN:   m3 "np.array([3], 'i4')" m4 "np.array([4], 'i4')" m5 "np.array([5], 'i4')" \
// RUN:   m6 "np.array([6], 'i4')"
// RUN: tessera-gpu-emulate %s --entry=wgmma --input=%t/m0.npy --output=%t/w.npy
// RUN: %numpy_python %S/../tessera-run/Inputs/npy.py %t check w "np.full(128, 16, 'f4')"
// RUN: not tessera-gpu-emulate %s --entry=wgmma --input=%t/m1.npy 2>&1 | FileCheck %s --check-prefix=NOFENCE
// NOFENCE: error: wgmma, block (0, 0, 0): a wgmma of warpgroup 0 reads workgroup memory that thread 0 wrote with no fence.proxy.async after it
// NOFENCE-NEXT: nvvm.wgmma.mma_async
// RUN: not tessera-gpu-emulate %s --entry=wgmma --input=%t/m2.npy 2>&1 | FileCheck %s --check-prefix=SWIZZLE
// SWIZZLE: error: wgmma, block (0, 0, 0): a wgmma descriptor with a base offset or a swizzle other than 128 bytes
// RUN: not tessera-gpu-emulate %s --entry=wgmma --input=%t/m3.npy 2>&1 | FileCheck %s --check-prefix=UNIFORM
// UNIFORM: error: wgmma, block (0, 0, 0): a wgmma descriptor that differs between threads 0 and 1 of a warpgroup
// RUN: not tessera-gpu-emulate %s --entry=wgmma --input=%t/m4.npy 2>&1 | FileCheck %s --check-prefix=PARTIAL
// PARTIAL: error: wgmma, block (0, 0, 0): a warpgroup-wide op that 64 of the 128 threads of warpgroup 0 reach
// RUN: not tessera-gpu-emulate %s --entry=wgmma --input=%t/m5.npy 2>&1 | FileCheck %s --check-prefix=INFLIGHT
// INFLIGHT: error: wgmma, block (0, 0, 0): race: thread 0 overwrites workgroup memory that a wgmma in flight reads (no wgmma.wait_group for it)
// INFLIGHT-NEXT: vector.store
// RUN: not tessera-gpu-emulate %s --entry=wgmma --input=%t/m6.npy 2>&1 | FileCheck %s --check-prefix=NEVERWAITED
// NEVERWAITED: error: wgmma, block (0, 0, 0): warpgroup 0 ends with wgmma ops it did not wait for

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
    // One m64n8k16 of ones (A K-major at byte 0, B N-major at 8192, both
    // 128-byte swizzled) into out[t] (16 everywhere); mode[0] picks the
    // mistake.
    gpu.func @wgmma(%mode: memref<1xi32>, %out: memref<128xf32>) kernel {
      %t = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c64 = arith.constant 64 : index
      %c80 = arith.constant 80 : index
      %m = memref.load %mode[%c0] : memref<1xi32>
      %i0 = arith.constant 0 : i32
      %smem = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %s = memref.view %smem[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<80x64xf16, #gpu.address_space<workgroup>>
      %ones = arith.constant dense<1.0> : vector<64xf16>
      %fills = arith.cmpi ult, %t, %c80 : index
      scf.if %fills {
        vector.store %ones, %s[%t, %c0] : memref<80x64xf16, #gpu.address_space<workgroup>>, vector<64xf16>
      }
      %i1 = arith.constant 1 : i32
      %fence = arith.cmpi ne, %m, %i1 : i32
      scf.if %fence {
        nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
      }
      gpu.barrier
      %p = memref.extract_aligned_pointer_as_index %s : memref<80x64xf16, #gpu.address_space<workgroup>> -> index
      %base = arith.index_castui %p : index to i64
      %i4 = arith.constant 4 : i64
      %start = arith.shrui %base, %i4 : i64
      %fa = arith.constant 4611686293305360384 : i64
      %good = arith.ori %start, %fa : i64
      // Mode 2: no swizzle; mode 3: thread t starts at 16 (t % 2) bytes.
      %plain = arith.constant 274877972480 : i64
      %i2 = arith.constant 2 : i32
      %is2 = arith.cmpi eq, %m, %i2 : i32
      %swizzled = arith.select %is2, %plain, %good : i64
      %tt = arith.index_castui %t : index to i64
      %i2l = arith.constant 2 : i64
      %odd = arith.remui %tt, %i2l : i64
      %i3 = arith.constant 3 : i32
      %is3 = arith.cmpi eq, %m, %i3 : i32
      %shift = arith.addi %swizzled, %odd : i64
      %da = arith.select %is3, %shift, %swizzled : i64
      %db = arith.constant 4611686293338849792 : i64
      // Mode 4: only threads 0-63 reach the wgmma.
      %i4m = arith.constant 4 : i32
      %not4 = arith.cmpi ne, %m, %i4m : i32
      %low = arith.cmpi ult, %t, %c64 : index
      %run = arith.ori %not4, %low : i1
      %zero = llvm.mlir.zero : !llvm.struct<(f32, f32, f32, f32)>
      %acc = scf.if %run -> !llvm.struct<(f32, f32, f32, f32)> {
        nvvm.wgmma.fence.aligned
        %d = nvvm.wgmma.mma_async %da, %db, %zero, <m = 64, n = 8, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <row>] : !llvm.struct<(f32, f32, f32, f32)> -> !llvm.struct<(f32, f32, f32, f32)>
        nvvm.wgmma.commit.group.sync.aligned
        scf.yield %d : !llvm.struct<(f32, f32, f32, f32)>
      } else {
        scf.yield %zero : !llvm.struct<(f32, f32, f32, f32)>
      }
      // Mode 5: thread 0 writes A's first row before the wait; mode 6 never
      // waits.
      %i5 = arith.constant 5 : i32
      %is5 = arith.cmpi eq, %m, %i5 : i32
      %first = arith.cmpi eq, %t, %c0 : index
      %early = arith.andi %is5, %first : i1
      scf.if %early {
        vector.store %ones, %s[%c0, %c0] : memref<80x64xf16, #gpu.address_space<workgroup>>, vector<64xf16>
      }
      %i6 = arith.constant 6 : i32
      %waits = arith.cmpi ne, %m, %i6 : i32
      scf.if %waits {
        nvvm.wgmma.wait.group.sync.aligned 0
      }
      %e = llvm.extractvalue %acc[0] : !llvm.struct<(f32, f32, f32, f32)>
      memref.store %e, %out[%t] : memref<128xf32>
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
  func.func @wgmma(%mode: tensor<1xi32>) -> tensor<128xf32> {
    %mb = bufferization.to_buffer %mode read_only : tensor<1xi32> to memref<1xi32>
    %r = memref.alloc() : memref<128xf32>
    %c1 = arith.constant 1 : index
    %c128 = arith.constant 128 : index
    %bytes = arith.constant 10240 : i32
    gpu.launch_func @kernels::@wgmma blocks in (%c1, %c1, %c1) threads in (%c128, %c1, %c1) dynamic_shared_memory_size %bytes args(%mb : memref<1xi32>, %r : memref<128xf32>)
    %t = bufferization.to_tensor %r restrict writable : memref<128xf32> to tensor<128xf32>
    return %t : tensor<128xf32>
  }
}
