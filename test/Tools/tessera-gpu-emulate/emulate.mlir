// tessera-gpu-emulate on hand-written kernels whose results numpy computes:
// threads exchange values through workgroup memory across a barrier (and a
// shuffle), a thread-strided loop, a divergent scf.if with results, and a
// 16x16x16 MFMA per wavefront whose lanes load A, B and C in the ISA's
// layouts, and two wgmma m64n8k16 of one warpgroup reading A (K-major) and
// B (N-major) from workgroup memory in the 128-byte swizzled layouts their
// descriptors name, into accumulators set member by member (llvm.insertvalue:
// 1, 2, 3, 4 at the fragment's (row, column) (0, 0), (0, 1), (8, 0), (8, 1)).

// RUN: rm -rf %t && mkdir -p %t
// RUN: %numpy_python %S/../tessera-run/Inputs/npy.py %t make \
// RUN:   x "np.arange(128, dtype='f4') * 0.5 - 7" \
// RUN:   a "((np.arange(256) % 7) - 3).astype('f4').reshape(16, 16) / 4" \
// RUN:   b "((np.arange(256) * 3 % 11) - 5).astype('f4').reshape(16, 16) / 8" \
// RUN:   c "np.linspace(-1, 1, 256, dtype='f4').reshape(16, 16)" \
// RUN:   wa "((np.arange(2048) * 5 % 13) - 6).astype('f2').reshape(64, 32) / 4" \
// RUN:   wb "((np.arange(256) * 7 % 9) - 4).astype('f2').reshape(32, 8) / 2"
// RUN: tessera-gpu-emulate %s --entry=rotate --input=%t/x.npy --output=%t/r.npy
// RUN: %numpy_python %S/../tessera-run/Inputs/npy.py %t check r \
// RUN:   "np.concatenate([np.roll(x[:64], -1), np.roll(x[64:], -1)]) + x[np.arange(128) ^ 1]"
// RUN: tessera-gpu-emulate %s --entry=strided --input=%t/x.npy --output=%t/s.npy
// RUN: %numpy_python %S/../tessera-run/Inputs/npy.py %t check s \
// RUN:   "np.where(x > 0, x * 2, -x)"
// RUN: tessera-gpu-emulate %s --entry=mfma --input=%t/a.npy --input=%t/b.npy \
// RUN:   --input=%t/c.npy --output=%t/d.npy
// RUN: %numpy_python %S/../tessera-run/Inputs/npy.py %t check d \
// RUN:   "(a.astype(np.float64) @ b + c).astype('f4')"
// RUN: tessera-gpu-emulate %s --entry=wgmma --input=%t/wa.npy --input=%t/wb.npy \
// RUN:   --output=%t/wd.npy
// RUN: %numpy_python %S/../tessera-run/Inputs/npy.py %t check wd \
// RUN:   "(wa.astype(np.float64) @ wb + 1 + np.arange(8) % 2 + 2 * (np.arange(64)[:, None] % 16 >= 8)).astype('f4')"

module attributes {gpu.container_module} {
  gpu.module @kernels {
    // Block of 64 threads: r[t] = x[(t + 1) % 64] of the block's half
    // (through workgroup memory and a barrier) + x[t ^ 1] (a shuffle).
    gpu.func @rotate(%x: memref<128xf32>, %r: memref<128xf32>)
        workgroup(%s : memref<64xf32, #gpu.address_space<workgroup>>)
        kernel {
      %t = gpu.thread_id x
      %blk = gpu.block_id x
      %c1 = arith.constant 1 : index
      %c64 = arith.constant 64 : index
      %base = arith.muli %blk, %c64 : index
      %i = arith.addi %base, %t : index
      %v = memref.load %x[%i] : memref<128xf32>
      memref.store %v, %s[%t] : memref<64xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %n = arith.addi %t, %c1 : index
      %m = arith.remui %n, %c64 : index
      %w = memref.load %s[%m] : memref<64xf32, #gpu.address_space<workgroup>>
      %one = arith.constant 1 : i32
      %width = arith.constant 64 : i32
      %u, %valid = gpu.shuffle xor %v, %one, %width : f32
      %sum = arith.addf %w, %u : f32
      memref.store %sum, %r[%i] : memref<128xf32>
      gpu.return
    }
    // 32 threads cover 128 elements in a loop strided by the thread count;
    // an scf.if with a result picks 2x or -x.
    gpu.func @strided(%x: memref<128xf32>, %s: memref<128xf32>) kernel {
      %t = gpu.thread_id x
      %c32 = arith.constant 32 : index
      %c128 = arith.constant 128 : index
      %zero = arith.constant 0.0 : f32
      %two = arith.constant 2.0 : f32
      scf.for %i = %t to %c128 step %c32 {
        %v = memref.load %x[%i] : memref<128xf32>
        %pos = arith.cmpf ogt, %v, %zero : f32
        %y = scf.if %pos -> (f32) {
          %d = arith.mulf %v, %two : f32
          scf.yield %d : f32
        } else {
          %n = arith.negf %v : f32
          scf.yield %n : f32
        }
        memref.store %y, %s[%i] : memref<128xf32>
      }
      gpu.return
    }
    // D = A B + C: lane l loads A[l % 16][4 (l / 16) + i],
    // B[4 (l / 16) + i][l % 16] and C[4 (l / 16) + i][l % 16] and stores D
    // like C.
    gpu.func @mfma(%a: memref<16x16xf16>, %b: memref<16x16xf16>,
                   %c: memref<16x16xf32>, %d: memref<16x16xf32>) kernel {
      %l = gpu.thread_id x
      %c4 = arith.constant 4 : index
      %c16 = arith.constant 16 : index
      %row = arith.remui %l, %c16 : index
      %g = arith.divui %l, %c16 : index
      %k0 = arith.muli %g, %c4 : index
      %av = vector.load %a[%row, %k0] : memref<16x16xf16>, vector<4xf16>
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c3 = arith.constant 3 : index
      %k1 = arith.addi %k0, %c1 : index
      %k2 = arith.addi %k0, %c2 : index
      %k3 = arith.addi %k0, %c3 : index
      %b0 = memref.load %b[%k0, %row] : memref<16x16xf16>
      %b1 = memref.load %b[%k1, %row] : memref<16x16xf16>
      %b2 = memref.load %b[%k2, %row] : memref<16x16xf16>
      %b3 = memref.load %b[%k3, %row] : memref<16x16xf16>
      %bvec = vector.from_elements %b0, %b1, %b2, %b3 : vector<4xf16>
      %e0 = memref.load %c[%k0, %row] : memref<16x16xf32>
      %e1 = memref.load %c[%k1, %row] : memref<16x16xf32>
      %e2 = memref.load %c[%k2, %row] : memref<16x16xf32>
      %e3 = memref.load %c[%k3, %row] : memref<16x16xf32>
      %cvec = vector.from_elements %e0, %e1, %e2, %e3 : vector<4xf32>
      %dvec = amdgpu.mfma 16x16x16 %av * %bvec + %cvec blgp = none : vector<4xf16>, vector<4xf16>, vector<4xf32>
      %d0 = vector.extract %dvec[0] : f32 from vector<4xf32>
      %d1 = vector.extract %dvec[1] : f32 from vector<4xf32>
      %d2 = vector.extract %dvec[2] : f32 from vector<4xf32>
      %d3 = vector.extract %dvec[3] : f32 from vector<4xf32>
      memref.store %d0, %d[%k0, %row] : memref<16x16xf32>
      memref.store %d1, %d[%k1, %row] : memref<16x16xf32>
      memref.store %d2, %d[%k2, %row] : memref<16x16xf32>
      memref.store %d3, %d[%k3, %row] : memref<16x16xf32>
      gpu.return
    }
    // D (64 x 8) = A (64 x 32) B (32 x 8) in two k-steps of 16. A sits
    // K-major at byte 0: row r is 128 bytes at r * 128 (8-row groups 1024
    // bytes apart), its 16-byte chunk c at chunk c ^ (r % 8); a k-step
    // moves the descriptor's start 32 bytes. B sits N-major at byte 8192:
    // row k is 128 bytes, chunk 0 at chunk k % 8; a k-step moves 16 rows.
    // Thread t stores D like mma.sync's C per warp: rows 16 (t / 32) +
    // (t % 32) / 4 (+ 8), columns 2 (t % 4) (+ 1).
    gpu.func @wgmma(%a: memref<64x32xf16>, %b: memref<32x8xf16>,
                    %d: memref<64x8xf32>) kernel {
      %t = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c4 = arith.constant 4 : index
      %c8 = arith.constant 8 : index
      %c16 = arith.constant 16 : index
      %c32 = arith.constant 32 : index
      %c128 = arith.constant 128 : index
      %c256 = arith.constant 256 : index
      %c8192 = arith.constant 8192 : index
      %smem = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %sa = memref.view %smem[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64x64xf16, #gpu.address_space<workgroup>>
      %sb = memref.view %smem[%c8192][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<32x64xf16, #gpu.address_space<workgroup>>
      scf.for %q = %t to %c256 step %c128 {
        %r = arith.divui %q, %c4 : index
        %c = arith.remui %q, %c4 : index
        %k = arith.muli %c, %c8 : index
        %v = vector.load %a[%r, %k] : memref<64x32xf16>, vector<8xf16>
        %rr = arith.remui %r, %c8 : index
        %slot = arith.xori %c, %rr : index
        %col = arith.muli %slot, %c8 : index
        vector.store %v, %sa[%r, %col] : memref<64x64xf16, #gpu.address_space<workgroup>>, vector<8xf16>
      }
      %low = arith.cmpi ult, %t, %c32 : index
      scf.if %low {
        %v = vector.load %b[%t, %c0] : memref<32x8xf16>, vector<8xf16>
        %kr = arith.remui %t, %c8 : index
        %col = arith.muli %kr, %c8 : index
        vector.store %v, %sb[%t, %col] : memref<32x64xf16, #gpu.address_space<workgroup>>, vector<8xf16>
      }
      nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
      gpu.barrier
      // Descriptors: start >> 4 | 1 << 16 (leading) | 64 << 32 (stride
      // 1024) | 1 << 62 (128-byte swizzle); B's leading offset 8192 (512).
      %pa = memref.extract_aligned_pointer_as_index %sa : memref<64x64xf16, #gpu.address_space<workgroup>> -> index
      %pb = memref.extract_aligned_pointer_as_index %sb : memref<32x64xf16, #gpu.address_space<workgroup>> -> index
      %ba = arith.index_castui %pa : index to i64
      %bb = arith.index_castui %pb : index to i64
      %i4 = arith.constant 4 : i64
      %i32 = arith.constant 32 : i64
      %i2048 = arith.constant 2048 : i64
      %fa = arith.constant 4611686293305360384 : i64
      %fb = arith.constant 4611686293338849280 : i64
      %a0 = arith.shrui %ba, %i4 : i64
      %da0 = arith.ori %a0, %fa : i64
      %ba1 = arith.addi %ba, %i32 : i64
      %a1 = arith.shrui %ba1, %i4 : i64
      %da1 = arith.ori %a1, %fa : i64
      %b0 = arith.shrui %bb, %i4 : i64
      %db0 = arith.ori %b0, %fb : i64
      %bb1 = arith.addi %bb, %i2048 : i64
      %b1 = arith.shrui %bb1, %i4 : i64
      %db1 = arith.ori %b1, %fb : i64
      %zero = llvm.mlir.zero : !llvm.struct<(f32, f32, f32, f32)>
      %f1 = arith.constant 1.0 : f32
      %f2 = arith.constant 2.0 : f32
      %f3 = arith.constant 3.0 : f32
      %f4 = arith.constant 4.0 : f32
      %init0 = llvm.insertvalue %f1, %zero[0] : !llvm.struct<(f32, f32, f32, f32)>
      %init1 = llvm.insertvalue %f2, %init0[1] : !llvm.struct<(f32, f32, f32, f32)>
      %init2 = llvm.insertvalue %f3, %init1[2] : !llvm.struct<(f32, f32, f32, f32)>
      %init = llvm.insertvalue %f4, %init2[3] : !llvm.struct<(f32, f32, f32, f32)>
      nvvm.wgmma.fence.aligned
      %acc0 = nvvm.wgmma.mma_async %da0, %db0, %init, <m = 64, n = 8, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <row>] : !llvm.struct<(f32, f32, f32, f32)> -> !llvm.struct<(f32, f32, f32, f32)>
      %acc1 = nvvm.wgmma.mma_async %da1, %db1, %acc0, <m = 64, n = 8, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <row>] : !llvm.struct<(f32, f32, f32, f32)> -> !llvm.struct<(f32, f32, f32, f32)>
      nvvm.wgmma.commit.group.sync.aligned
      nvvm.wgmma.wait.group.sync.aligned 0
      %w = arith.divui %t, %c32 : index
      %l = arith.remui %t, %c32 : index
      %g = arith.divui %l, %c4 : index
      %wr = arith.muli %w, %c16 : index
      %row0 = arith.addi %wr, %g : index
      %row1 = arith.addi %row0, %c8 : index
      %lc = arith.remui %l, %c4 : index
      %col0 = arith.muli %lc, %c2 : index
      %col1 = arith.addi %col0, %c1 : index
      %e0 = llvm.extractvalue %acc1[0] : !llvm.struct<(f32, f32, f32, f32)>
      %e1 = llvm.extractvalue %acc1[1] : !llvm.struct<(f32, f32, f32, f32)>
      %e2 = llvm.extractvalue %acc1[2] : !llvm.struct<(f32, f32, f32, f32)>
      %e3 = llvm.extractvalue %acc1[3] : !llvm.struct<(f32, f32, f32, f32)>
      memref.store %e0, %d[%row0, %col0] : memref<64x8xf32>
      memref.store %e1, %d[%row0, %col1] : memref<64x8xf32>
      memref.store %e2, %d[%row1, %col0] : memref<64x8xf32>
      memref.store %e3, %d[%row1, %col1] : memref<64x8xf32>
      gpu.return
    }
  }

  func.func @rotate(%x: tensor<128xf32>) -> tensor<128xf32> {
    %xb = bufferization.to_buffer %x read_only : tensor<128xf32> to memref<128xf32>
    %r = memref.alloc() : memref<128xf32>
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c64 = arith.constant 64 : index
    gpu.launch_func @kernels::@rotate blocks in (%c2, %c1, %c1) threads in (%c64, %c1, %c1) args(%xb : memref<128xf32>, %r : memref<128xf32>)
    %t = bufferization.to_tensor %r restrict writable : memref<128xf32> to tensor<128xf32>
    return %t : tensor<128xf32>
  }

  func.func @strided(%x: tensor<128xf32>) -> tensor<128xf32> {
    %xb = bufferization.to_buffer %x read_only : tensor<128xf32> to memref<128xf32>
    %s = memref.alloc() : memref<128xf32>
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    gpu.launch_func @kernels::@strided blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1) args(%xb : memref<128xf32>, %s : memref<128xf32>)
    %t = bufferization.to_tensor %s restrict writable : memref<128xf32> to tensor<128xf32>
    return %t : tensor<128xf32>
  }

  func.func @mfma(%a: tensor<16x16xf16>, %b: tensor<16x16xf16>, %c: tensor<16x16xf32>) -> tensor<16x16xf32> {
    %ab = bufferization.to_buffer %a read_only : tensor<16x16xf16> to memref<16x16xf16>
    %bb = bufferization.to_buffer %b read_only : tensor<16x16xf16> to memref<16x16xf16>
    %cb = bufferization.to_buffer %c read_only : tensor<16x16xf32> to memref<16x16xf32>
    %d = memref.alloc() : memref<16x16xf32>
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    gpu.launch_func @kernels::@mfma blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1) args(%ab : memref<16x16xf16>, %bb : memref<16x16xf16>, %cb : memref<16x16xf32>, %d : memref<16x16xf32>)
    %t = bufferization.to_tensor %d restrict writable : memref<16x16xf32> to tensor<16x16xf32>
    return %t : tensor<16x16xf32>
  }

  func.func @wgmma(%a: tensor<64x32xf16>, %b: tensor<32x8xf16>) -> tensor<64x8xf32> {
    %ab = bufferization.to_buffer %a read_only : tensor<64x32xf16> to memref<64x32xf16>
    %bb = bufferization.to_buffer %b read_only : tensor<32x8xf16> to memref<32x8xf16>
    %d = memref.alloc() : memref<64x8xf32>
    %c1 = arith.constant 1 : index
    %c128 = arith.constant 128 : index
    %bytes = arith.constant 12288 : i32
    gpu.launch_func @kernels::@wgmma blocks in (%c1, %c1, %c1) threads in (%c128, %c1, %c1) dynamic_shared_memory_size %bytes args(%ab : memref<64x32xf16>, %bb : memref<32x8xf16>, %d : memref<64x8xf32>)
    %t = bufferization.to_tensor %d restrict writable : memref<64x8xf32> to tensor<64x8xf32>
    return %t : tensor<64x8xf32>
  }
}
