// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-grouped-matmul="tile-n=128 stages=4 min-blocks-per-sm=2" | FileCheck %s
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-grouped-matmul | FileCheck %s --check-prefix=DEFAULT
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-grouped-matmul="chip=sm_75" | FileCheck %s --check-prefix=OLD
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-grouped-matmul="stages=2 min-blocks-per-sm=1" | FileCheck %s --check-prefix=TWO
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-grouped-matmul="chip=sm_86" | FileCheck %s --check-prefix=SM86
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-grouped-matmul="chip=sm_80 stages=8" | FileCheck %s --check-prefix=SM80
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-grouped-matmul="chip=sm_90a" | FileCheck %s --check-prefix=WGMMA
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-grouped-matmul="chip=sm_90a wgmma-tile-m=192" | FileCheck %s --check-prefix=WGMMA192
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-grouped-matmul="chip=sm_86 wgmma-tile-m=192" | FileCheck %s --check-prefix=SM86
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-grouped-matmul="chip=gfx942 tile-n=128" | FileCheck %s --check-prefix=MFMA
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-grouped-matmul="chip=gfx90a" | FileCheck %s --check-prefix=AMD
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-grouped-matmul="chip=gfx1100" | FileCheck %s --check-prefix=OLD

// A bf16 grouped GEMM becomes a launch of a tensor-core kernel between
// to_buffer of the operands and to_tensor of the result. With 128-column
// tiles, 4 stages and 2 blocks per multiprocessor: 2 column tiles x 6
// row blocks (2 row tiles + 4 experts: each expert's tiles start at its
// segment, at most one partial tile an expert), 256 threads, the staged
// tiles in dynamic shared memory (4 stages of 128x(32+8) and 32x(128+8)
// elements: 75776 bytes).
// CHECK-LABEL: func.func @bf16
// CHECK-DAG:   %[[X:.*]] = bufferization.to_buffer %arg0 read_only : tensor<256x64xbf16> to memref<256x64xbf16>
// CHECK-DAG:   %[[W:.*]] = bufferization.to_buffer %arg1 read_only : tensor<4x64x136xbf16> to memref<4x64x136xbf16>
// CHECK-DAG:   %[[O:.*]] = bufferization.to_buffer %arg2 read_only : tensor<5xi32> to memref<5xi32>
// CHECK:       %[[Y:.*]] = memref.alloc() : memref<256x136xbf16>
// CHECK:       gpu.launch_func @tessera_kernels::@bf16_mma0 blocks in (%c2{{.*}}, %c6{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c75776_i32 args(%[[X]] : memref<256x64xbf16>, %[[W]] : memref<4x64x136xbf16>, %[[O]] : memref<5xi32>, %[[Y]] : memref<256x136xbf16>)
// CHECK:       %[[R:.*]] = bufferization.to_tensor %[[Y]] restrict writable
// CHECK:       return %[[R]]
// CHECK-NOT:   tessera.grouped_matmul
//
// Static shared memory: the rows' experts, the experts present in each half
// (64 rows) of the tile. Registers bounded for 2 blocks per multiprocessor.
// CHECK:       gpu.module @tessera_kernels
// CHECK:       gpu.func @bf16_mma0(%{{.*}}: memref<256x64xbf16>, %{{.*}}: memref<4x64x136xbf16>, %{{.*}}: memref<5xi32>, %{{.*}}: memref<256x136xbf16>)
// CHECK-SAME:    workgroup(%{{.*}} : memref<128xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<2x4xi32, #gpu.address_space<workgroup>>)
// CHECK-SAME:    kernel attributes {known_block_size = array<i32: 256, 1, 1>, known_grid_size = array<i32: 2, 6, 1>, nvvm.minctasm = 2 : i32}
// CHECK:       %[[SHARED:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK:       %[[A:.*]] = memref.view %[[SHARED]][%c0{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<4x128x40xbf16, #gpu.address_space<workgroup>>
// CHECK:       %[[B:.*]] = memref.view %[[SHARED]][%c40960{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<4x32x136xbf16, #gpu.address_space<workgroup>>
// The walk over the offsets: rising offsets, ceil(segment / 128) tiles an
// expert, and the expert and index of the block's first tile (blockIdx.y).
// CHECK:       %[[Y:.*]] = gpu.block_id  y
// CHECK:       %[[WALK:.*]]:4 = scf.for %{{.*}} = %c0{{.*}} to %c4{{.*}} step %c1{{.*}} iter_args(%{{.*}} = %true, %{{.*}} = %c0{{.*}}, %{{.*}} = %c0{{.*}}, %{{.*}} = %c0{{.*}}) -> (i1, index, index, index)
// CHECK:       arith.cmpi sle
// CHECK:       %[[T:.*]] = arith.divui %{{.*}}, %c128{{.*}} : index
// CHECK:       arith.cmpi uge, %[[Y]]
// CHECK:       scf.yield %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : i1, index, index, index
// Offsets from <= 0 to >= 256 rows.
// CHECK:       arith.cmpi sle, %{{.*}}, %c0{{.*}} : index
// CHECK:       arith.cmpi sge, %{{.*}}, %c256{{.*}} : index
// Rows in no segment (when the segments do not hold each row once) are
// cleared by blocks 0 and 1, one row tile each.
// CHECK:       %[[NOT:.*]] = arith.xori %{{.*}}, %true : i1
// CHECK:       %[[ROWBLOCK:.*]] = arith.cmpi ult, %[[Y]], %c2{{.*}} : index
// CHECK:       %[[ZERO:.*]] = arith.andi %[[NOT]], %[[ROWBLOCK]] : i1
// CHECK:       scf.if %[[ZERO]] {
// CHECK:         vector.store %{{.*}} : memref<256x136xbf16>, vector<8xbf16>
// CHECK:         gpu.barrier
// CHECK-NEXT:  }
// Then the blocks walk the experts' tiles: the walk found the first; later
// ones (overlapping segments) find their expert and index again.
// CHECK:       %[[GRID:.*]] = gpu.grid_dim  y
// CHECK:       scf.for %[[TILE:.*]] = %[[Y]] to %[[WALK]]#1 step %[[GRID]] {
// CHECK:       %[[FIRST:.*]] = arith.cmpi eq, %[[TILE]], %[[Y]] : index
// CHECK:       scf.if %[[FIRST]] -> (index, index) {
// CHECK-NEXT:    scf.yield %[[WALK]]#2, %[[WALK]]#3 : index, index
// CHECK:       } else {
// CHECK:       scf.for %{{.*}} = %c0{{.*}} to %c4{{.*}} step %c1{{.*}} iter_args({{.*}}) -> (index, index, index)
// Prologue: the tiles of steps 0, 1 and 2, one group each; each thread
// copies 2 chunks of 16 bytes of each tile per step.
// CHECK-COUNT-2: nvgpu.device_async_copy %{{.*}}, %[[A]][{{.*}}], 8 {bypassL1}
// CHECK-COUNT-2: nvgpu.device_async_copy %{{.*}}, %[[B]][{{.*}}], 8 {bypassL1}
// CHECK-COUNT-3: nvvm.cp.async.commit.group
// A step: wait for its tile, one barrier, the copies of step + 3, the
// multiply unless the warp's 64 rows hold none of the expert's.
// CHECK:       scf.for
// CHECK:       nvvm.cp.async.wait.group 2
// CHECK-NEXT:  gpu.barrier
// CHECK:       nvvm.cp.async.commit.group
// CHECK-NOT:   gpu.barrier
// CHECK:       scf.if %{{.*}} -> (vector<4xf32>,
// CHECK:       nvgpu.ldmatrix %[[A]][{{.*}}] {numTiles = 4 : i32, transpose = false} : memref<4x128x40xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
// CHECK:       nvgpu.ldmatrix %[[B]][{{.*}}] {numTiles = 4 : i32, transpose = true} : memref<4x32x136xbf16, #gpu.address_space<workgroup>> -> vector<4x2xbf16>
// CHECK:       vector.bitcast %{{.*}} : vector<2xbf16> to vector<1xi32>
// CHECK:       nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// 16 fragments x 2 k-steps of 16 per K step of 32.
// CHECK-COUNT-31: nvvm.mma.sync
// CHECK-NOT:   nvvm.mma.sync
// The next expert's copies wait until the last stages have been read.
// CHECK:       scf.yield
// CHECK:       gpu.barrier
// CHECK:       arith.truncf %{{.*}} : vector<2xf32> to vector<2xbf16>
// CHECK:       vector.store %{{.*}} : memref<256x136xbf16>, vector<2xbf16>
// The next tile rewrites the tables the stores read.
// CHECK:       gpu.barrier
// CHECK-NEXT:  }
// CHECK-NEXT:  gpu.return
// By default: 128x256 tiles (1 column tile x 6 row blocks), 4 stages of
// 128x(32+8) and 32x(256+8) elements (108544 bytes), registers for one
// block per multiprocessor, 4x8 fragments a warp.
// DEFAULT-LABEL: func.func @bf16
// DEFAULT:       gpu.launch_func @tessera_kernels::@bf16_mma0 blocks in (%c1{{.*}}, %c6{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c108544_i32
// DEFAULT:       gpu.func @bf16_mma0
// DEFAULT-SAME:    known_grid_size = array<i32: 1, 6, 1>, nvvm.minctasm = 1 : i32
// DEFAULT:       memref.view %{{.*}}[%c0{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<4x128x40xbf16, #gpu.address_space<workgroup>>
// DEFAULT:       memref.view %{{.*}}[%c40960{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<4x32x264xbf16, #gpu.address_space<workgroup>>
// DEFAULT:       scf.for
// DEFAULT:       nvvm.cp.async.wait.group 2
// 32 fragments x 2 k-steps.
// DEFAULT-COUNT-64: nvvm.mma.sync
// DEFAULT-NOT:   nvvm.mma.sync
// DEFAULT:       scf.yield
// Two stages (of 128x256 tiles): 54272 bytes, the tile of step 1 loaded in
// the loop.
// TWO-LABEL:   func.func @bf16
// TWO:         dynamic_shared_memory_size %c54272_i32
// TWO:         gpu.func @bf16_mma0
// TWO-SAME:      nvvm.minctasm = 1 : i32
// TWO:         memref.view %{{.*}}[%c20480{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<2x32x264xbf16, #gpu.address_space<workgroup>>
// TWO:         nvvm.cp.async.commit.group
// TWO-NOT:     nvvm.cp.async.commit.group
// TWO:         scf.for
// TWO:         nvvm.cp.async.wait.group 0
// OLD-LABEL:   func.func @bf16
// OLD:         tessera.grouped_matmul
// OLD-NOT:     gpu.module
// Stages are capped by the chip's shared memory, next to the 1024-byte
// aligned tables: 99 KiB on sm_86 hold 3 stages of 27136 bytes, 163 KiB on
// sm_80 hold 6 of the 8 asked for.
// SM86-LABEL:  func.func @bf16
// SM86:        dynamic_shared_memory_size %c81408_i32
// SM86:        memref.view %{{.*}} to memref<3x128x40xbf16, #gpu.address_space<workgroup>>
// SM80-LABEL:  func.func @bf16
// SM80:        dynamic_shared_memory_size %c162816_i32
// SM80:        memref.view %{{.*}} to memref<6x128x40xbf16, #gpu.address_space<workgroup>>
//
// sm_90a, K a multiple of 64: warpgroup MMA. 4 stages of 128x64 rows and
// 64x256 weights, unpadded (196608 bytes): the weights as 4 blocks of 64
// columns (one 128-byte row each) so that both operands use the 128-byte
// swizzle; the copies put 16-byte chunk c of row r at chunk c ^ (r % 8).
// WGMMA-LABEL: func.func @bf16
// WGMMA:       gpu.launch_func @tessera_kernels::@bf16_mma0 blocks in (%c1{{.*}}, %c6{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c196608_i32
// WGMMA:       gpu.func @bf16_mma0
// WGMMA:       %[[A:.*]] = memref.view %{{.*}}[%c0{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<4x128x64xbf16, #gpu.address_space<workgroup>>
// WGMMA:       %[[B:.*]] = memref.view %{{.*}}[%c65536{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<4x4x64x64xbf16, #gpu.address_space<workgroup>>
// WGMMA:       memref.extract_aligned_pointer_as_index %[[A]]
// WGMMA:       memref.extract_aligned_pointer_as_index %[[B]]
// WGMMA:       %[[R:.*]] = arith.divui %{{.*}}, %c8{{.*}} : index
// WGMMA:       %[[C:.*]] = arith.remui %{{.*}}, %c8{{.*}} : index
// WGMMA:       %[[RM:.*]] = arith.remui %[[R]], %c8{{.*}} : index
// WGMMA-NEXT:  %[[X:.*]] = arith.xori %[[C]], %[[RM]] : index
// WGMMA:       %[[SLOT:.*]] = arith.muli %[[X]], %c8{{.*}} : index
// WGMMA:       nvgpu.device_async_copy %arg0[{{.*}}], %[[A]][%{{.*}}, %[[R]], %[[SLOT]]], 8 {bypassL1}
// WGMMA:       nvgpu.device_async_copy %arg1[{{.*}}], %[[B]][{{.*}}], 8 {bypassL1}
// 4 chunks of the rows and 8 of the weights per thread and stage.
// WGMMA-COUNT-2: nvgpu.device_async_copy %arg1[{{.*}}], %[[B]]
// The copies of the first 3 steps are in flight before the tile finds its
// rows' experts (the expert table is cleared after them).
// WGMMA:       nvvm.cp.async.commit.group
// WGMMA:       nvvm.cp.async.commit.group
// WGMMA:       nvvm.cp.async.commit.group
// WGMMA-NOT:   nvvm.cp.async.wait.group
// WGMMA:       memref.store %{{.*}} : memref<2x4xi32, #gpu.address_space<workgroup>>
// WGMMA-NOT:   nvgpu.device_async_copy
// A step: the copies' proxy fence, one barrier, the wgmma group of the
// warpgroup, the copies of step + 3, the wait for the group.
// WGMMA:       llvm.mlir.zero : !llvm.struct<(f32,
// WGMMA:       scf.for
// WGMMA:       nvvm.cp.async.wait.group 2
// WGMMA-NEXT:  nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// WGMMA-NEXT:  gpu.barrier
// WGMMA-NEXT:  scf.if
// Stage offsets: 16384 bytes of rows (8192 a warpgroup), 32768 of weights.
// WGMMA:       arith.constant 16384 : i64
// WGMMA:       arith.constant 8192 : i64
// WGMMA:       arith.constant 32768 : i64
// WGMMA:       nvvm.wgmma.fence.aligned
// Descriptors: (address & 0x3FFFF) >> 4, then the rows' (K-major) leading
// byte offset 16 (1 << 16: unused by the swizzle), stride 1024 (64 << 32:
// 8 rows of 128 bytes), 128-byte swizzle (1 << 62).
// WGMMA:       arith.constant 262143 : i64
// WGMMA:       arith.constant 4611686293305360384 : i64
// The weights (N-major): leading byte offset 8192 between 64-column
// blocks (512 << 16), stride 1024 between 8-row groups.
// WGMMA:       arith.constant 4611686293338849280 : i64
// WGMMA:       nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %{{.*}}, <m = 64, n = 256, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// k-steps 1-3: 32 bytes along the rows' swizzled 128-byte row, 16 weight
// rows (2048 bytes).
// WGMMA:       arith.constant 32 : i64
// WGMMA:       arith.constant 2048 : i64
// WGMMA:       nvvm.wgmma.mma_async
// WGMMA:       arith.constant 64 : i64
// WGMMA:       arith.constant 4096 : i64
// WGMMA:       nvvm.wgmma.mma_async
// WGMMA:       arith.constant 96 : i64
// WGMMA:       arith.constant 6144 : i64
// WGMMA:       nvvm.wgmma.mma_async
// WGMMA-NOT:   nvvm.wgmma.mma_async
// WGMMA:       nvvm.wgmma.commit.group.sync.aligned
// WGMMA:       } else {
// WGMMA:       nvvm.cp.async.commit.group
// WGMMA:       nvvm.wgmma.wait.group.sync.aligned 0
// WGMMA:       scf.yield
// The store: accumulator pairs 4j + 2h + {0, 1}.
// WGMMA:       gpu.barrier
// WGMMA:       llvm.extractvalue %{{.*}}[0]
// WGMMA-NEXT:  llvm.extractvalue %{{.*}}[1]
// WGMMA:       vector.store %{{.*}} : memref<256x136xbf16>, vector<2xbf16>
// WGMMA:       llvm.extractvalue %{{.*}}[4]
// WGMMA-NEXT:  llvm.extractvalue %{{.*}}[5]
// WGMMA:       llvm.extractvalue %{{.*}}[2]
// WGMMA-NEXT:  llvm.extractvalue %{{.*}}[3]
//
// wgmma-tile-m=192: blocks of three warpgroups (384 threads) compute
// 192-row tiles; 4 stages of 192x64 rows and 64x256 weights (229376
// bytes), the row and expert tables for 192 rows and 3 warpgroups. A
// thread copies row chunks at rows tid/8 + 48p (p = 0..3) and weight chunks
// at k-rows tid/32 + 12p: 2048 weight chunks are 5 1/3 per thread, so the
// sixth part (k-rows tid/32 + 60) is guarded. A stage of rows is 24576
// bytes, a warpgroup's 64 rows 8192 bytes into it. The mma.sync kernels
// (sm_86 above) keep 128-row tiles.
// WGMMA192-LABEL: func.func @bf16
// WGMMA192:       gpu.launch_func @tessera_kernels::@bf16_mma0 blocks in (%c1{{.*}}, %c6{{.*}}, %c1{{.*}}) threads in (%c384{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c229376_i32
// WGMMA192:       gpu.func @bf16_mma0({{.*}}) workgroup(%{{.*}} : memref<192xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<3x4xi32, #gpu.address_space<workgroup>>)
// WGMMA192:       memref.view %{{.*}}[%c0{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<4x192x64xbf16, #gpu.address_space<workgroup>>
// WGMMA192:       memref.view %{{.*}}[%c98304{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<4x4x64x64xbf16, #gpu.address_space<workgroup>>
// WGMMA192:       %[[R:.*]] = arith.divui %thread_id_x, %c8{{.*}} : index
// WGMMA192:       nvgpu.device_async_copy %arg0[{{.*}}], %{{.*}}[%{{.*}}, %[[R]], %{{.*}}], 8 {bypassL1}
// WGMMA192:       arith.addi %[[R]], %c48{{.*}} : index
// WGMMA192:       arith.addi %[[R]], %c96{{.*}} : index
// WGMMA192:       arith.addi %[[R]], %c144{{.*}} : index
// WGMMA192:       nvgpu.device_async_copy %arg0
// WGMMA192-NOT:   nvgpu.device_async_copy %arg0
// WGMMA192:       %[[KR:.*]] = arith.divui %thread_id_x, %c32{{.*}} : index
// WGMMA192-COUNT-5: nvgpu.device_async_copy %arg1
// WGMMA192:       %[[LAST:.*]] = arith.addi %[[KR]], %c60{{.*}} : index
// WGMMA192:       %[[IN:.*]] = arith.cmpi ult, %[[LAST]], %c64{{.*}} : index
// WGMMA192-NEXT:  scf.if %[[IN]] {
// WGMMA192:       nvgpu.device_async_copy %arg1
// WGMMA192-NOT:   nvgpu.device_async_copy
// WGMMA192:       nvvm.cp.async.commit.group
// WGMMA192:       nvvm.cp.async.wait.group 2
// WGMMA192:       arith.constant 24576 : i64
// WGMMA192:       arith.constant 8192 : i64
// WGMMA192:       arith.constant 32768 : i64
// WGMMA192-COUNT-4: nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %{{.*}}, <m = 64, n = 256, k = 16>
// WGMMA192-NOT:   nvvm.wgmma.mma_async
// WGMMA192:       nvvm.wgmma.commit.group.sync.aligned
// On AMD CDNA chips the kernel is 4 wavefronts of 64 lanes (2 x 2) on the
// matrix cores, with two LDS stages of 128x(32+8) and 32x(128+8) elements
// (37888 bytes) and no nvvm attributes. Each K-step (2 of 32) loads the next chunks
// from global memory into registers before its products and stores them
// into the other stage after them.
// MFMA-LABEL:   func.func @bf16
// MFMA:         gpu.launch_func @tessera_kernels::@bf16_mma0 blocks in (%c2{{.*}}, %c6{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c37888_i32
// MFMA:         gpu.func @bf16_mma0({{.*}} kernel attributes {known_block_size = array<i32: 256, 1, 1>, known_grid_size = array<i32: 2, 6, 1>} {
// MFMA:         %[[A:.*]] = memref.view {{.*}} to memref<2x128x40xbf16, #gpu.address_space<workgroup>>
// MFMA:         %[[B:.*]] = memref.view {{.*}} to memref<2x32x136xbf16, #gpu.address_space<workgroup>>
// MFMA:         %[[TID:.*]] = gpu.thread_id x
// MFMA:         %[[LANE:.*]] = arith.remui %[[TID]], %c64{{.*}} : index
// MFMA:         %[[WAVE:.*]] = arith.divui %[[TID]], %c64{{.*}} : index
// MFMA:         arith.divui %[[WAVE]], %c2{{.*}} : index
// MFMA:         arith.remui %[[WAVE]], %c2{{.*}} : index
// Step 0: 2 row chunks and 2 weight chunks of 8 per thread, then LDS.
// MFMA:         vector.load %arg0[{{.*}}] : memref<256x64xbf16>, vector<8xbf16>
// MFMA:         vector.load %arg0[{{.*}}] : memref<256x64xbf16>, vector<8xbf16>
// MFMA:         vector.load %arg1[{{.*}}] : memref<4x64x136xbf16>, vector<8xbf16>
// MFMA:         vector.load %arg1[{{.*}}] : memref<4x64x136xbf16>, vector<8xbf16>
// MFMA:         vector.store %{{.*}}, %[[A]][%c0{{.*}}, %{{.*}}, %{{.*}}] : memref<2x128x40xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// MFMA:         vector.store %{{.*}}, %[[B]][%c0{{.*}}, %{{.*}}, %{{.*}}] : memref<2x32x136xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// MFMA:         vector.store %{{.*}}, %[[B]][%c0{{.*}}, %{{.*}}, %{{.*}}] : memref<2x32x136xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// MFMA-NEXT:    gpu.barrier
// MFMA:         scf.for %[[STEP:.*]] = %c0{{.*}} to %c2{{.*}} step %c1{{.*}} iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// MFMA:           %[[NEXT:.*]] = arith.addi %[[STEP]], %c1{{.*}} : index
// MFMA:           %[[MORE:.*]] = arith.cmpi ult, %[[NEXT]], %c2{{.*}} : index
// MFMA-NEXT:      %[[REGS:.*]]:4 = scf.if %[[MORE]] -> (vector<8xbf16>, vector<8xbf16>, vector<8xbf16>, vector<8xbf16>) {
// MFMA:             vector.load %arg0
// MFMA:           } else {
// A: lane l reads row l % 16, 4 elements at k = 4 (l / 16); B: 4 rows of
// column l % 16.
// MFMA:           %[[STAGE:.*]] = arith.remui %[[STEP]], %c2{{.*}} : index
// MFMA:           %[[ROW16:.*]] = arith.remui %[[LANE]], %c16{{.*}} : index
// MFMA:           %[[QUAD:.*]] = arith.divui %[[LANE]], %c16{{.*}} : index
// MFMA:           arith.muli %[[QUAD]], %c4{{.*}} : index
// MFMA:           vector.load %[[A]][%[[STAGE]], %{{.*}}, %{{.*}}] : memref<2x128x40xbf16, #gpu.address_space<workgroup>>, vector<4xbf16>
// MFMA:           memref.load %[[B]][%[[STAGE]], %{{.*}}, %{{.*}}] : memref<2x32x136xbf16, #gpu.address_space<workgroup>>
// MFMA:           vector.from_elements %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : vector<4xbf16>
// MFMA-COUNT-16:  amdgpu.mfma 16x16x16 %{{.*}} * %{{.*}} + %{{.*}} blgp = none : vector<4xbf16>, vector<4xbf16>, vector<4xf32>
// MFMA-COUNT-16:  amdgpu.mfma 16x16x16
// MFMA-NOT:       amdgpu.mfma
// MFMA:           } else {
// MFMA:           scf.if %[[MORE]] {
// MFMA:             %[[OTHER:.*]] = arith.remui %[[NEXT]], %c2{{.*}} : index
// MFMA:             vector.store %[[REGS]]#0, %[[A]][%[[OTHER]], %{{.*}}, %{{.*}}]
// MFMA:             vector.store %[[REGS]]#3, %[[B]][%[[OTHER]], %{{.*}}, %{{.*}}]
// MFMA:           }
// MFMA-NEXT:      gpu.barrier
// The store: element e of a fragment is row 4 (l / 16) + e, column l % 16.
// MFMA:         vector.extract %{{.*}}[0] : f32 from vector<4xf32>
// MFMA-NEXT:    arith.truncf %{{.*}} : f32 to bf16
// MFMA:         memref.store %{{.*}}, %arg3[%{{.*}}, %{{.*}}] : memref<256x136xbf16>
// MFMA:         gpu.return
// gfx90a too, with the default 256-column tiles (54272 bytes of LDS, 8
// fragments a row); no NVIDIA ops anywhere.
// AMD-LABEL:    func.func @bf16
// AMD:          dynamic_shared_memory_size %c54272_i32
// AMD:          gpu.module @tessera_kernels
// AMD-NOT:      {{nvvm|nvgpu}}
// AMD-COUNT-64: amdgpu.mfma 16x16x16
// AMD-NOT:      {{nvvm|nvgpu|amdgpu.mfma}}
// AMD:          gpu.return
func.func @bf16(%x: tensor<256x64xbf16>, %w: tensor<4x64x136xbf16>, %o: tensor<5xi32>)
    -> tensor<256x136xbf16> {
  %y = tessera.grouped_matmul %x, %w, %o
      : (tensor<256x64xbf16>, tensor<4x64x136xbf16>, tensor<5xi32>) -> tensor<256x136xbf16>
  return %y : tensor<256x136xbf16>
}

// -----

// f16 operands are passed to mma.sync as vector<2xf16> registers. Constant
// offsets are copied into a buffer of their own (launch arguments are
// arguments and allocations). K = 32 is no multiple of 64: mma.sync on
// sm_90a too.
// CHECK-LABEL: func.func @f16_constant_offsets
// CHECK:       %[[CST:.*]] = arith.constant dense<[0, 3, 9]> : tensor<3xi32>
// CHECK:       %[[COPY:.*]] = linalg.copy ins(%[[CST]] : tensor<3xi32>) outs(%{{.*}} : tensor<3xi32>)
// CHECK:       bufferization.to_buffer %[[COPY]] read_only
// CHECK:       gpu.launch_func @tessera_kernels::@f16_constant_offsets_mma0 blocks in (%c1{{.*}}, %c3{{.*}}, %c1{{.*}})
// CHECK:       gpu.func @f16_constant_offsets_mma0
// CHECK:       nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {{.*}} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK:       arith.truncf %{{.*}} : vector<2xf32> to vector<2xf16>
// CHECK:       vector.store %{{.*}} : memref<9x8xf16>, vector<2xf16>
// WGMMA-LABEL: func.func @f16_constant_offsets
// WGMMA:       gpu.func @f16_constant_offsets_mma0
// WGMMA-NOT:   nvvm.wgmma
// WGMMA:       nvvm.mma.sync
// WGMMA-NOT:   nvvm.wgmma
// WGMMA:       gpu.return
// MFMA-LABEL:  func.func @f16_constant_offsets
// MFMA:        gpu.func @f16_constant_offsets_mma0
// MFMA-COUNT-32: amdgpu.mfma 16x16x16 %{{.*}} * %{{.*}} + %{{.*}} blgp = none : vector<4xf16>, vector<4xf16>, vector<4xf32>
// MFMA-NOT:    amdgpu.mfma
// MFMA:        arith.truncf %{{.*}} : f32 to f16
func.func @f16_constant_offsets(%x: tensor<9x32xf16>, %w: tensor<2x32x8xf16>)
    -> tensor<9x8xf16> {
  %o = arith.constant dense<[0, 3, 9]> : tensor<3xi32>
  %y = tessera.grouped_matmul %x, %w, %o
      : (tensor<9x32xf16>, tensor<2x32x8xf16>, tensor<3xi32>) -> tensor<9x8xf16>
  return %y : tensor<9x8xf16>
}

// -----

// Row scales: the kernel takes them before the output and multiplies each
// row's f32 results by its scale before rounding (mma.sync pairs, MFMA
// elements).
// CHECK-LABEL: func.func @scaled
// CHECK:       gpu.launch_func @tessera_kernels::@scaled_mma0 {{.*}} args(%{{.*}} : memref<40x32xbf16>, %{{.*}} : memref<2x32x16xbf16>, %{{.*}} : memref<3xi32>, %{{.*}} : memref<40xf32>, %{{.*}} : memref<40x16xbf16>)
// CHECK:       gpu.func @scaled_mma0(%{{.*}}: memref<40x32xbf16>, %{{.*}}: memref<2x32x16xbf16>, %{{.*}}: memref<3xi32>, %[[S:.*]]: memref<40xf32>, %[[Y:.*]]: memref<40x16xbf16>)
// CHECK:       %[[SCALE:.*]] = memref.load %[[S]][%{{.*}}] : memref<40xf32>
// CHECK:       %[[PAIR:.*]] = vector.from_elements %{{.*}}, %{{.*}} : vector<2xf32>
// CHECK-NEXT:  %[[SPLAT:.*]] = vector.broadcast %[[SCALE]] : f32 to vector<2xf32>
// CHECK-NEXT:  %[[SCALED:.*]] = arith.mulf %[[PAIR]], %[[SPLAT]] : vector<2xf32>
// CHECK-NEXT:  %[[ROUNDED:.*]] = arith.truncf %[[SCALED]] : vector<2xf32> to vector<2xbf16>
// CHECK:       vector.store %[[ROUNDED]], %[[Y]]
// MFMA-LABEL:  func.func @scaled
// MFMA:        gpu.func @scaled_mma0(%{{.*}}: memref<40x32xbf16>, %{{.*}}: memref<2x32x16xbf16>, %{{.*}}: memref<3xi32>, %[[S:.*]]: memref<40xf32>, %[[Y:.*]]: memref<40x16xbf16>)
// MFMA:        %[[SCALE:.*]] = memref.load %[[S]][%{{.*}}] : memref<40xf32>
// MFMA:        %[[V:.*]] = vector.extract %{{.*}}[0] : f32 from vector<4xf32>
// MFMA-NEXT:   %[[SCALED:.*]] = arith.mulf %[[V]], %[[SCALE]] : f32
// MFMA-NEXT:   arith.truncf %[[SCALED]] : f32 to bf16
func.func @scaled(%x: tensor<40x32xbf16>, %w: tensor<2x32x16xbf16>, %o: tensor<3xi32>, %s: tensor<40xf32>) -> tensor<40x16xbf16> {
  %y = tessera.grouped_matmul %x, %w, %o scale %s
      : (tensor<40x32xbf16>, tensor<2x32x16xbf16>, tensor<3xi32>, tensor<40xf32>) -> tensor<40x16xbf16>
  return %y : tensor<40x16xbf16>
}

// -----

// A gather index: the 40 rows of the left operand are rows of the 20-row
// table x. The kernel takes the index after the offsets (before the row
// scales); each copy of a row chunk reads its index, clamps one outside
// the table to row 0 and then reads nothing: cp.async copies 0 of the 8
// elements (zero fill) and MFMA selects a zero chunk.
// CHECK-LABEL: func.func @gathered
// CHECK:       gpu.launch_func @tessera_kernels::@gathered_mma0 {{.*}} args(%{{.*}} : memref<20x64xbf16>, %{{.*}} : memref<3x64x32xbf16>, %{{.*}} : memref<4xi32>, %{{.*}} : memref<40xi32>, %{{.*}} : memref<40xf32>, %{{.*}} : memref<40x32xbf16>)
// CHECK:       gpu.func @gathered_mma0(%[[X:.*]]: memref<20x64xbf16>, %{{.*}}: memref<3x64x32xbf16>, %{{.*}}: memref<4xi32>, %[[G:.*]]: memref<40xi32>, %[[S:.*]]: memref<40xf32>, %[[Y:.*]]: memref<40x32xbf16>)
// CHECK:       %[[ROW:.*]] = arith.minui %{{.*}}, %c39 : index
// CHECK-NEXT:  %[[ID:.*]] = memref.load %[[G]][%[[ROW]]] : memref<40xi32>
// CHECK-NEXT:  %[[C20:.*]] = arith.constant 20 : i32
// CHECK-NEXT:  %[[VALID:.*]] = arith.cmpi ult, %[[ID]], %[[C20]] : i32
// CHECK-NEXT:  %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK-NEXT:  %[[CLAMPED:.*]] = arith.select %[[VALID]], %[[ID]], %[[ZERO]] : i32
// CHECK-NEXT:  %[[SRC:.*]] = arith.index_castui %[[CLAMPED]] : i32 to index
// CHECK-NEXT:  %[[ALL:.*]] = arith.constant 8 : index
// CHECK-NEXT:  %[[NONE:.*]] = arith.constant 0 : index
// CHECK-NEXT:  %[[READ:.*]] = arith.select %[[VALID]], %[[ALL]], %[[NONE]] : index
// CHECK:       nvgpu.device_async_copy %[[X]][%[[SRC]], %{{.*}}], %{{.*}}, 8, %[[READ]] {bypassL1} : memref<20x64xbf16>
// CHECK:       memref.load %[[S]]
// WGMMA-LABEL: func.func @gathered
// WGMMA:       gpu.func @gathered_mma0(%[[X:.*]]: memref<20x64xbf16>, %{{.*}}: memref<3x64x32xbf16>, %{{.*}}: memref<4xi32>, %[[G:.*]]: memref<40xi32>,
// WGMMA:       %[[ID:.*]] = memref.load %[[G]]
// WGMMA:       %[[VALID:.*]] = arith.cmpi ult, %[[ID]]
// WGMMA:       %[[READ:.*]] = arith.select %[[VALID]], %{{.*}}, %{{.*}} : index
// WGMMA:       nvgpu.device_async_copy %[[X]][%{{.*}}, %{{.*}}], %{{.*}}, 8, %[[READ]] {bypassL1} : memref<20x64xbf16>
// WGMMA:       nvvm.wgmma.mma_async
// MFMA-LABEL:  func.func @gathered
// MFMA:        gpu.func @gathered_mma0(%[[X:.*]]: memref<20x64xbf16>, %{{.*}}: memref<3x64x32xbf16>, %{{.*}}: memref<4xi32>, %[[G:.*]]: memref<40xi32>,
// MFMA:        %[[ID:.*]] = memref.load %[[G]]
// MFMA:        %[[VALID:.*]] = arith.cmpi ult, %[[ID]], %{{.*}} : i32
// MFMA:        %[[CLAMPED:.*]] = arith.select %[[VALID]], %[[ID]], %{{.*}} : i32
// MFMA:        %[[SRC:.*]] = arith.index_castui %[[CLAMPED]] : i32 to index
// MFMA:        %[[CHUNK:.*]] = vector.load %[[X]][%[[SRC]], %{{.*}}] : memref<20x64xbf16>, vector<8xbf16>
// MFMA:        %[[ZEROS:.*]] = arith.constant dense<0.000000e+00> : vector<8xbf16>
// MFMA:        arith.select %[[VALID]], %[[CHUNK]], %[[ZEROS]] : vector<8xbf16>
// MFMA:        amdgpu.mfma
func.func @gathered(%x: tensor<20x64xbf16>, %w: tensor<3x64x32xbf16>, %o: tensor<4xi32>, %g: tensor<40xi32>, %s: tensor<40xf32>) -> tensor<40x32xbf16> {
  %y = tessera.grouped_matmul %x, %w, %o gather %g scale %s
      : (tensor<20x64xbf16>, tensor<3x64x32xbf16>, tensor<4xi32>, tensor<40xi32>, tensor<40xf32>) -> tensor<40x32xbf16>
  return %y : tensor<40x32xbf16>
}

// -----

// The SwiGLU epilogue (out [40, 24] = silu(a[:, :24]) * a[:, 24:]): the
// tile's product columns alternate groups of 8 gate and 8 up weight
// columns, so a lane's fragment j + 1 holds the up columns of its gate
// fragment j. A weight chunk at product column c of group g = c / 8 comes
// from output column (g / 2) 8 + c % 8 of the gate half (clamped to its
// last chunk, 16) or, for odd g, of the up half (+ 24, clamped to 40).
// The store writes silu(g) * u = g / (1 + exp(-g)) * u at output column
// (c / 16) 8 + c % 8 when it is inside the 24 columns; rows in no segment
// are zeros over the 24 columns too.
// CHECK-LABEL: func.func @swiglu
// CHECK:       %[[Y:.*]] = memref.alloc() : memref<40x24xbf16>
// CHECK:       gpu.launch_func @tessera_kernels::@swiglu_mma0 blocks in (%c1{{.*}}, %c3{{.*}}, %c1{{.*}}) {{.*}} args({{.*}}, %[[Y]] : memref<40x24xbf16>)
// CHECK:       gpu.func @swiglu_mma0(%{{.*}}: memref<40x64xbf16>, %[[W:.*]]: memref<2x64x48xbf16>, %{{.*}}: memref<3xi32>, %[[OUT:.*]]: memref<40x24xbf16>)
// CHECK:       arith.cmpi ult, %[[ZCOL:.*]], %c24
// CHECK:       vector.store %{{.*}}, %[[OUT]][%{{.*}}, %[[ZCOL]]] : memref<40x24xbf16>, vector<8xbf16>
// CHECK:       %[[G:.*]] = arith.divui %[[COL:.*]], %c8
// CHECK:       %[[HALF:.*]] = arith.divui %[[G]], %c2
// CHECK:       %[[BASE:.*]] = arith.muli %[[HALF]], %c8
// CHECK:       %[[IN:.*]] = arith.remui %[[COL]], %c8
// CHECK-NEXT:  %[[OCOL:.*]] = arith.addi %[[BASE]], %[[IN]]
// CHECK:       %[[GATE:.*]] = arith.minui %[[OCOL]], %c16
// CHECK:       %[[UCOL:.*]] = arith.addi %[[OCOL]], %c24
// CHECK:       %[[UP:.*]] = arith.minui %[[UCOL]], %c40
// CHECK:       %[[ODD:.*]] = arith.remui %[[G]], %c2
// CHECK:       %[[ISUP:.*]] = arith.cmpi ne, %[[ODD]], %c0
// CHECK-NEXT:  %[[WCOL:.*]] = arith.select %[[ISUP]], %[[UP]], %[[GATE]]
// CHECK-NEXT:  nvgpu.device_async_copy %[[W]][%{{.*}}, %{{.*}}, %[[WCOL]]]
// CHECK:       %[[GV:.*]] = vector.extract %[[ACC:.*]]#0[0] : f32 from vector<4xf32>
// CHECK-NEXT:  %[[UV:.*]] = vector.extract %[[ACC]]#1[0] : f32 from vector<4xf32>
// CHECK:       %[[NEG:.*]] = arith.negf %[[GV]]
// CHECK-NEXT:  %[[E:.*]] = math.exp %[[NEG]]
// CHECK-NEXT:  %[[DEN:.*]] = arith.addf %{{.*}}, %[[E]]
// CHECK-NEXT:  %[[SIG:.*]] = arith.divf %{{.*}}, %[[DEN]]
// CHECK-NEXT:  %[[SILU:.*]] = arith.mulf %[[GV]], %[[SIG]]
// CHECK-NEXT:  %[[V0:.*]] = arith.mulf %[[SILU]], %[[UV]]
// CHECK:       %[[PG:.*]] = arith.divui %[[PCOL:.*]], %c16
// CHECK:       %[[PB:.*]] = arith.muli %[[PG]], %c8
// CHECK:       %[[PI:.*]] = arith.remui %[[PCOL]], %c8
// CHECK-NEXT:  %[[SCOL:.*]] = arith.addi %[[PB]], %[[PI]]
// CHECK:       arith.cmpi ult, %[[SCOL]], %c24
// CHECK:       vector.from_elements %[[V0]], %{{.*}} : vector<2xf32>
// CHECK:       vector.store %{{.*}}, %[[OUT]][%{{.*}}, %[[SCOL]]] : memref<40x24xbf16>, vector<2xbf16>
// 4 row fragments x 2 gate fragments x 2 halves x 2 elements a lane: 30
// after the first pair.
// CHECK-COUNT-30: math.exp
// CHECK-NOT:   math.exp
// wgmma: group j + 1 of the accumulators (elements 4 (j + 1) + ..) holds
// the up columns of gate group j; 16 gate groups of 256 product columns.
// WGMMA-LABEL: func.func @swiglu
// WGMMA:       gpu.func @swiglu_mma0
// WGMMA:       nvvm.wgmma.mma_async
// WGMMA:       %[[GV:.*]] = llvm.extractvalue %[[ACC:.*]][0] : !llvm.struct
// WGMMA-NEXT:  %[[UV:.*]] = llvm.extractvalue %[[ACC]][4] : !llvm.struct
// WGMMA:       %[[E:.*]] = math.exp
// WGMMA:       %[[SILU:.*]] = arith.mulf %[[GV]], %{{.*}}
// WGMMA-NEXT:  arith.mulf %[[SILU]], %[[UV]]
// WGMMA-COUNT-63: math.exp
// WGMMA-NOT:   math.exp
// On AMD, groups of 16 columns (an MFMA fragment's width); scalar stores.
// MFMA-LABEL:  func.func @swiglu
// MFMA:        gpu.func @swiglu_mma0
// MFMA:        %[[ISUP:.*]] = arith.cmpi ne, %{{.*}}, %c0{{.*}} : index
// MFMA-NEXT:   arith.select %[[ISUP]]
// MFMA-NEXT:   vector.load %{{.*}} : memref<2x64x48xbf16>, vector<8xbf16>
// MFMA:        %[[PG:.*]] = arith.divui %{{.*}}, %c32
// MFMA:        arith.muli %[[PG]], %c16
// MFMA:        %[[GV:.*]] = vector.extract %[[ACC:.*]]#0[0] : f32 from vector<4xf32>
// MFMA-NEXT:   %[[UV:.*]] = vector.extract %[[ACC]]#1[0] : f32 from vector<4xf32>
// MFMA:        math.exp
// MFMA:        %[[SILU:.*]] = arith.mulf %[[GV]], %{{.*}}
// MFMA-NEXT:   %[[V:.*]] = arith.mulf %[[SILU]], %[[UV]]
// MFMA-NEXT:   arith.truncf %[[V]] : f32 to bf16
// MFMA:        memref.store %{{.*}} : memref<40x24xbf16>
func.func @swiglu(%x: tensor<40x64xbf16>, %w: tensor<2x64x48xbf16>, %o: tensor<3xi32>) -> tensor<40x24xbf16> {
  %y = tessera.grouped_matmul %x, %w, %o {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<40x64xbf16>, tensor<2x64x48xbf16>, tensor<3xi32>) -> tensor<40x24xbf16>
  return %y : tensor<40x24xbf16>
}

// -----

// What the kernel does not take yet keeps the generic lowering: f32
// operands, SwiGLU halves that are not multiples of 8 (N = 24), a gather
// index of dynamic length, K not a multiple of 32, N not a multiple of 8, dynamic shapes, more than 65535 row tiles, expert tables
// that leave no room for two stages in shared memory.
// CHECK-LABEL: func.func @not_eligible
// CHECK-NOT:   gpu.launch_func
// CHECK-COUNT-8: tessera.grouped_matmul
// CHECK-NOT:   gpu.module
// MFMA-LABEL:  func.func @not_eligible
// MFMA-NOT:    gpu.launch_func
// MFMA-COUNT-8: tessera.grouped_matmul
// MFMA-NOT:    gpu.module
func.func @not_eligible(%xf: tensor<16x32xf32>, %wf: tensor<2x32x8xf32>,
                        %x: tensor<16x32xbf16>, %w: tensor<2x32x16xbf16>,
                        %w24: tensor<2x32x24xbf16>, %o: tensor<3xi32>,
                        %g: tensor<?xi32>,
                        %x48: tensor<16x48xbf16>, %w48: tensor<2x48x8xbf16>,
                        %w12: tensor<2x32x12xbf16>, %xd: tensor<?x32xbf16>,
                        %xh: tensor<8388736x32xbf16>,
                        %wx: tensor<30000x32x8xbf16>, %ox: tensor<30001xi32>) {
  %0 = tessera.grouped_matmul %xf, %wf, %o
      : (tensor<16x32xf32>, tensor<2x32x8xf32>, tensor<3xi32>) -> tensor<16x8xf32>
  %2 = tessera.grouped_matmul %x, %w24, %o {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<16x32xbf16>, tensor<2x32x24xbf16>, tensor<3xi32>) -> tensor<16x12xbf16>
  %3 = tessera.grouped_matmul %x, %w, %o gather %g
      : (tensor<16x32xbf16>, tensor<2x32x16xbf16>, tensor<3xi32>, tensor<?xi32>) -> tensor<?x16xbf16>
  %4 = tessera.grouped_matmul %x48, %w48, %o
      : (tensor<16x48xbf16>, tensor<2x48x8xbf16>, tensor<3xi32>) -> tensor<16x8xbf16>
  %5 = tessera.grouped_matmul %x, %w12, %o
      : (tensor<16x32xbf16>, tensor<2x32x12xbf16>, tensor<3xi32>) -> tensor<16x12xbf16>
  %6 = tessera.grouped_matmul %xd, %w, %o
      : (tensor<?x32xbf16>, tensor<2x32x16xbf16>, tensor<3xi32>) -> tensor<?x16xbf16>
  %7 = tessera.grouped_matmul %xh, %w, %o
      : (tensor<8388736x32xbf16>, tensor<2x32x16xbf16>, tensor<3xi32>) -> tensor<8388736x16xbf16>
  %8 = tessera.grouped_matmul %x, %wx, %ox
      : (tensor<16x32xbf16>, tensor<30000x32x8xbf16>, tensor<30001xi32>) -> tensor<16x8xbf16>
  return
}
