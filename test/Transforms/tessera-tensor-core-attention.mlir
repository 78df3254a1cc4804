// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-attention="q-block=64 warp-rows=16 kv-splits=1" | FileCheck %s
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-attention="kv-splits=1" | FileCheck %s --check-prefix=DEFAULT
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-attention="chip=sm_75" | FileCheck %s --check-prefix=OLD
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-attention="q-block=128 warp-rows=16 kv-splits=1" | FileCheck %s --check-prefix=WIDE
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-attention | FileCheck %s --check-prefixes=SPLIT,MLA
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-attention="chip=sm_80" | FileCheck %s --check-prefix=MLA80
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-attention="chip=sm_86" | FileCheck %s --check-prefix=MLA86
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-attention="kv-splits=1" | FileCheck %s --check-prefix=MLA1
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-attention="chip=gfx942 kv-splits=1" | FileCheck %s --check-prefixes=MFMA,AMDMLA
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-attention="chip=gfx90a" | FileCheck %s --check-prefix=MFMASPLIT
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-attention="chip=gfx1100" | FileCheck %s --check-prefix=OLD
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-attention="chip=sm_90a latent-wgmma=true kv-splits=1" | FileCheck %s --check-prefix=WGMMA
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-attention="chip=sm_90a kv-splits=1" | FileCheck %s --check-prefix=NOWGMMA
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-attention="chip=sm_90 latent-wgmma=true attention-wgmma=true kv-splits=1" | FileCheck %s --check-prefix=NOWGMMA
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-attention="chip=sm_90a attention-wgmma=true kv-splits=1" | FileCheck %s --check-prefix=AWGMMA
// RUN: tessera-opt %s --split-input-file --tessera-tensor-core-attention="chip=sm_90a attention-wgmma=true latent-wgmma=true wgmma-values=true kv-splits=1" | FileCheck %s --check-prefix=VWGMMA

// A bf16 GQA attention (8 query heads over 2 KV heads) with causal, window,
// kv_lens and the lse becomes a launch of a flash kernel between to_buffer
// of the operands and to_tensor of both results. The rows of a block are
// (query head, query) pairs of one KV head's 4 query heads (400 rows per
// (batch, KV head)), so K and V are read once per KV head. With 16 rows a
// warp: one block of 4 warps per 64 rows (7) of each (batch, KV head) (4),
// Q and two stages of K and V in dynamic shared memory (64x(64+8) + 2 x 2
// x 64x(64+8) bf16: 46080 bytes), Q's fragments in registers.
// CHECK-LABEL: func.func @gqa
// CHECK-DAG:   %[[Q:.*]] = bufferization.to_buffer %arg0 read_only : tensor<2x8x100x64xbf16> to memref<2x8x100x64xbf16>
// CHECK-DAG:   %[[K:.*]] = bufferization.to_buffer %arg1 read_only : tensor<2x2x150x64xbf16> to memref<2x2x150x64xbf16>
// CHECK-DAG:   %[[V:.*]] = bufferization.to_buffer %arg2 read_only : tensor<2x2x150x64xbf16> to memref<2x2x150x64xbf16>
// CHECK-DAG:   %[[L:.*]] = bufferization.to_buffer %arg3 read_only : tensor<2xi32> to memref<2xi32>
// CHECK:       %[[O:.*]] = memref.alloc() : memref<2x8x100x64xbf16>
// CHECK:       %[[LSE:.*]] = memref.alloc() : memref<2x8x100xf32>
// CHECK:       gpu.launch_func @tessera_kernels::@gqa_flash0 blocks in (%c7{{.*}}, %c4{{.*}}, %c1{{.*}}) threads in (%c128{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c46080_i32 args(%[[Q]] : memref<2x8x100x64xbf16>, %[[K]] : memref<2x2x150x64xbf16>, %[[V]] : memref<2x2x150x64xbf16>, %[[L]] : memref<2xi32>, %[[O]] : memref<2x8x100x64xbf16>, %[[LSE]] : memref<2x8x100xf32>)
// CHECK:       %[[RO:.*]] = bufferization.to_tensor %[[O]] restrict writable
// CHECK:       %[[RL:.*]] = bufferization.to_tensor %[[LSE]] restrict writable
// CHECK:       return %[[RO]], %[[RL]]
// CHECK-NOT:   tessera.attention
//
// CHECK:       gpu.module @tessera_kernels
// CHECK:       gpu.func @gqa_flash0(%[[AQ:.*]]: memref<2x8x100x64xbf16>, %[[AK:.*]]: memref<2x2x150x64xbf16>, %[[AV:.*]]: memref<2x2x150x64xbf16>, %[[AL:.*]]: memref<2xi32>, %[[AO:.*]]: memref<2x8x100x64xbf16>, %[[ALSE:.*]]: memref<2x8x100xf32>)
// CHECK-SAME:    kernel attributes {known_block_size = array<i32: 128, 1, 1>, known_grid_size = array<i32: 7, 4, 1>}
// CHECK:       %[[SHARED:.*]] = gpu.dynamic_shared_memory
// CHECK:       %[[TQ:.*]] = memref.view %[[SHARED]][%c0{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64x72xbf16, #gpu.address_space<workgroup>>
// CHECK:       %[[TK:.*]] = memref.view %[[SHARED]][%c9216{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<2x64x72xbf16, #gpu.address_space<workgroup>>
// CHECK:       %[[TV:.*]] = memref.view %[[SHARED]][%c27648{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<2x64x72xbf16, #gpu.address_space<workgroup>>
// The heaviest row block first: r0 = (6 - block) * 64; the block's
// (batch, KV head); the query indices of its rows (all of them when the
// rows span two heads); Skv_eff from kv_lens.
// CHECK:       %[[BX:.*]] = gpu.block_id x
// CHECK:       %[[INV:.*]] = arith.subi %c6{{.*}}, %[[BX]]
// CHECK:       %[[R0:.*]] = arith.muli %[[INV]], %c64
// CHECK:       %[[BY:.*]] = gpu.block_id y
// CHECK:       %[[BATCH:.*]] = arith.divui %[[BY]], %c2
// CHECK:       %[[KVH:.*]] = arith.remui %[[BY]], %c2
// CHECK:       %[[LAST:.*]] = arith.minsi %{{.*}}, %c399
// CHECK:       %[[H0:.*]] = arith.divui %[[R0]], %c100
// CHECK:       %[[H1:.*]] = arith.divui %[[LAST]], %c100
// CHECK:       %[[ONE:.*]] = arith.cmpi eq, %[[H0]], %[[H1]]
// CHECK:       %[[I0:.*]] = arith.remui %[[R0]], %c100
// CHECK:       arith.select %[[ONE]], %[[I0]], %c0
// CHECK:       %[[I1:.*]] = arith.remui %[[LAST]], %c100
// CHECK:       arith.select %[[ONE]], %[[I1]], %c99
// CHECK:       %[[LEN:.*]] = memref.load %[[AL]][%[[BATCH]]]
// The key blocks: from the window's first key (min query + Skv_eff - Sq -
// 70 + 1) to the causal diagonal of the largest query, within [0, min(Skv,
// Skv_eff)).
// CHECK:       %[[BEGIN:.*]] = arith.divsi %{{.*}}, %c64
// CHECK:       %[[CEIL:.*]] = arith.ceildivsi %{{.*}}, %c64
// CHECK:       %[[END:.*]] = arith.maxsi %[[CEIL]], %[[BEGIN]]
// Prologue: Q (4 chunks of 16 bytes a thread; a row's query head is
// KV head * 4 + packed row / 100), the first K and V blocks, one group
// each; Q's fragments to registers.
// CHECK:       %[[QG:.*]] = arith.muli %[[KVH]], %c4
// CHECK:       %[[QH:.*]] = arith.addi %[[QG]], %{{.*}} : index
// CHECK:       %[[QI:.*]] = arith.remui %{{.*}}, %c100
// CHECK:       nvgpu.device_async_copy %[[AQ]][%[[BATCH]], %[[QH]], %[[QI]], {{.*}}], %[[TQ]][{{.*}}], 8 {bypassL1}
// CHECK-COUNT-3: nvgpu.device_async_copy %[[AQ]][%[[BATCH]], {{.*}}], %[[TQ]][{{.*}}], 8 {bypassL1}
// CHECK:       nvvm.cp.async.commit.group
// CHECK:       scf.if
// CHECK-COUNT-4: nvgpu.device_async_copy %[[AK]][%[[BATCH]], %[[KVH]], {{.*}}], %[[TK]][{{.*}}], 8 {bypassL1}
// CHECK:       nvvm.cp.async.commit.group
// CHECK:       scf.if
// CHECK-COUNT-4: nvgpu.device_async_copy %[[AV]][%[[BATCH]], %[[KVH]], {{.*}}], %[[TV]][{{.*}}], 8 {bypassL1}
// CHECK:       nvvm.cp.async.commit.group
// CHECK-NEXT:  nvvm.cp.async.wait.group 2
// CHECK-NEXT:  gpu.barrier
// CHECK-COUNT-4: nvgpu.ldmatrix %[[TQ]][{{.*}}] {numTiles = 4 : i32, transpose = false}
// The loop over the key blocks carries O (8 fragments), the running maxes
// and sums of the lane's two rows.
// CHECK:       scf.for %[[BLOCK:.*]] = %[[BEGIN]] to %[[END]] step %{{.*}} iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, f32, f32, f32, f32)
// CHECK:       nvvm.cp.async.wait.group 1
// CHECK-NEXT:  gpu.barrier
// CHECK:       nvgpu.device_async_copy %[[AK]]
// CHECK:       nvvm.cp.async.commit.group
// S = Q K^T: 4 k-steps x 8 fragments, K read without transpose.
// CHECK:       nvgpu.ldmatrix %[[TK]][{{.*}}] {numTiles = 4 : i32, transpose = false}
// CHECK:       nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK-COUNT-31: nvvm.mma.sync
// Blocks that cut the key range, the diagonal or the window are masked.
// CHECK:       arith.ori
// CHECK:       %[[CUT:.*]] = arith.ori
// CHECK-NEXT:  scf.if %[[CUT]] -> (vector<4xf32>
// CHECK:       arith.select %{{.*}}, %{{.*}}, %cst
// CHECK:       } else {
// Online softmax: row maxes over the 4 lanes of a row, exp2 of scores
// times scale * log2(e) (0.125 * 1.4427 = 0.180337) minus the max.
// CHECK:       gpu.shuffle xor %{{.*}}, %c1_i32
// CHECK:       gpu.shuffle xor %{{.*}}, %c2_i32
// CHECK:       arith.mulf %{{.*}}, %[[SCALE:cst_[0-9]+]] : f32
// CHECK:       llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK:       math.fma %{{.*}}, %[[SCALE]], %{{.*}} : f32
// P rounded to bf16 pairs: the A registers of P.V.
// CHECK:       arith.truncf %{{.*}} : vector<2xf32> to vector<2xbf16>
// CHECK:       nvvm.cp.async.wait.group 1
// CHECK-NEXT:  gpu.barrier
// CHECK:       nvgpu.device_async_copy %[[AV]]
// CHECK:       nvvm.cp.async.commit.group
// CHECK:       nvgpu.ldmatrix %[[TV]][{{.*}}] {numTiles = 4 : i32, transpose = true}
// CHECK-COUNT-32: nvvm.mma.sync
// CHECK-NOT:   nvvm.mma.sync
// CHECK:       scf.yield
// CHECK:       nvvm.cp.async.wait.group 0
// Epilogue: sums over the 4 lanes, O / l, lse = (m + log2 l) ln 2.
// CHECK:       gpu.shuffle xor
// CHECK:       arith.divf
// CHECK:       vector.store %{{.*}}, %[[AO]][%[[BATCH]], {{.*}}] : memref<2x8x100x64xbf16>, vector<2xbf16>
// CHECK:       llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"
// CHECK:       memref.store %{{.*}}, %[[ALSE]][%[[BATCH]], {{.*}}] : memref<2x8x100xf32>
// CHECK:       gpu.return
// By default, 4 warps of 32 rows per block of 128 rows: every K and V
// fragment read from shared memory feeds both row fragments of the warp,
// Q's fragments are read from shared memory at each step, the loop carries
// two row fragments' O, maxes and sums.
// DEFAULT-LABEL: func.func @gqa
// DEFAULT:       blocks in (%c4{{.*}}, %c4{{.*}}, %c1{{.*}}) threads in (%c128{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c55296_i32
// DEFAULT:       %[[TQ:.*]] = memref.view {{.*}} to memref<128x72xbf16, #gpu.address_space<workgroup>>
// DEFAULT:       %[[TK:.*]] = memref.view {{.*}} to memref<2x64x72xbf16, #gpu.address_space<workgroup>>
// DEFAULT:       nvvm.cp.async.wait.group 2
// DEFAULT-NEXT:  gpu.barrier
// DEFAULT-NOT:   nvgpu.ldmatrix
// DEFAULT:       scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, f32, f32, f32, f32, f32, f32, f32, f32)
// DEFAULT:       nvgpu.ldmatrix %[[TQ]]
// DEFAULT-NEXT:  vector.extract
// DEFAULT:       nvgpu.ldmatrix %[[TQ]]
// DEFAULT:       nvgpu.ldmatrix %[[TK]]
// Two mma per row fragment per K fragment pair.
// DEFAULT-COUNT-4: nvvm.mma.sync
// DEFAULT-NOT:   nvgpu.ldmatrix %[[TQ]]
// DEFAULT:       nvgpu.ldmatrix %[[TK]]
// 2 row fragments x 8 fragments x 4 k-steps.
// DEFAULT-COUNT-60: nvvm.mma.sync
// DEFAULT:       scf.if
// DEFAULT:       nvvm.cp.async.wait.group 1
// 2 row fragments x 8 fragments x 4 k-steps of P.V.
// DEFAULT-COUNT-64: nvvm.mma.sync
// DEFAULT-NOT:   nvvm.mma.sync
// DEFAULT:       scf.yield
// Eight warps of 16 rows per block of 128 rows.
// WIDE-LABEL:  func.func @gqa
// WIDE:        blocks in (%c4{{.*}}, %c4{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c55296_i32
// attention-wgmma on sm_90a: 8 warps of 16 rows, each 64 rows of the
// block a warpgroup. Q [1 block of 64 columns, 128 rows, 64] and two
// stages of K [1, 64 keys, 64], unpadded and 128-byte swizzled (16384 +
// 16384 bytes), V padded as before (2 x 64x(64+8): 18432 bytes). Q stays
// in shared memory; the copies are fenced for the async proxy before the
// barrier; warpgroup g's Q descriptor starts 64 g rows (8192 g bytes) into
// the tile, and its scores are 4 wgmma m64n64k16 (D 64), waited for before
// the softmax; P.V is 8 fragments x 4 k-steps of mma.sync from ldmatrix of
// the padded V tile.
// AWGMMA-LABEL: func.func @gqa
// AWGMMA:       blocks in (%c4{{.*}}, %c4{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c51200_i32
// AWGMMA:       %[[TQ:.*]] = memref.view %{{.*}}[%c0{{.*}}][] : {{.*}} to memref<1x128x64xbf16, #gpu.address_space<workgroup>>
// AWGMMA:       %[[TK:.*]] = memref.view %{{.*}}[%c16384{{.*}}][] : {{.*}} to memref<2x1x64x64xbf16, #gpu.address_space<workgroup>>
// AWGMMA:       %[[TV:.*]] = memref.view %{{.*}}[%c32768{{.*}}][] : {{.*}} to memref<2x64x72xbf16, #gpu.address_space<workgroup>>
// AWGMMA:       memref.extract_aligned_pointer_as_index %[[TQ]]
// AWGMMA:       memref.extract_aligned_pointer_as_index %[[TK]]
// AWGMMA:       %[[TID:.*]] = gpu.thread_id x
// AWGMMA:       %[[WARP:.*]] = arith.divui %[[TID]], %c32
// AWGMMA:       %[[ROWWARP:.*]] = arith.remui %[[WARP]], %c8
// AWGMMA:       nvgpu.device_async_copy %{{.*}}, %[[TQ]][
// AWGMMA:       nvvm.cp.async.wait.group 2
// AWGMMA-NEXT:  gpu.barrier
// AWGMMA-NOT:   nvgpu.ldmatrix
// AWGMMA:       scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, f32, f32, f32, f32)
// AWGMMA:       nvvm.cp.async.wait.group 1
// AWGMMA-NEXT:  nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// AWGMMA-NEXT:  gpu.barrier
// AWGMMA:       nvgpu.device_async_copy %{{.*}}, %[[TK]][
// AWGMMA:       nvvm.cp.async.commit.group
// AWGMMA-NOT:   nvgpu.ldmatrix
// AWGMMA:       %[[WG:.*]] = arith.divui %[[ROWWARP]], %c4
// AWGMMA:       %[[WG64:.*]] = arith.index_castui %[[WG]] : index to i64
// AWGMMA:       %[[OFFQ:.*]] = arith.muli %[[WG64]], %c8192_i64
// AWGMMA:       nvvm.wgmma.fence.aligned
// AWGMMA:       arith.addi %[[OFFQ]]
// AWGMMA-COUNT-4: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// AWGMMA-NOT:   nvvm.wgmma.mma_async
// AWGMMA:       nvvm.wgmma.commit.group.sync.aligned
// AWGMMA-NEXT:  nvvm.wgmma.wait.group.sync.aligned 0
// AWGMMA-NOT:   nvvm.mma.sync
// AWGMMA:       llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// AWGMMA:       nvgpu.ldmatrix %[[TV]][{{.*}}] {numTiles = 4 : i32, transpose = true} : memref<2x64x72xbf16, #gpu.address_space<workgroup>>
// AWGMMA-COUNT-32: nvvm.mma.sync
// AWGMMA-NOT:   nvvm.mma.sync
// AWGMMA:       scf.yield
// The latent attention keeps mma.sync scores (latent-wgmma is its option).
// AWGMMA-LABEL: func.func @mla
// AWGMMA-NOT:   nvvm.wgmma
// AWGMMA-LABEL: func.func @bias_softcap
// wgmma-values: P.V by wgmma too. V is swizzled like K (2 x 1 x 64x64)
// and a P tile [2 warpgroups, 64 rows, 64 keys] follows (16384 + 16384 +
// 16384 + 16384 bytes). After the scores and the softmax each thread
// stores its 16 probability pairs (8 fragments x 2 rows) to its
// warpgroup's P tile, fences, and after a barrier the warpgroup runs 4
// wgmma m64n64k16 (64 keys, Dv 64) with B MN-major ("row"): no ldmatrix,
// no mma.sync.
// VWGMMA-LABEL: func.func @gqa
// VWGMMA:       threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c65536_i32
// VWGMMA:       memref.view %{{.*}}[%c0{{.*}}][] : {{.*}} to memref<1x128x64xbf16, #gpu.address_space<workgroup>>
// VWGMMA:       memref.view %{{.*}}[%c16384{{.*}}][] : {{.*}} to memref<2x1x64x64xbf16, #gpu.address_space<workgroup>>
// VWGMMA:       %[[TV:.*]] = memref.view %{{.*}}[%c32768{{.*}}][] : {{.*}} to memref<2x1x64x64xbf16, #gpu.address_space<workgroup>>
// VWGMMA:       %[[TP:.*]] = memref.view %{{.*}}[%c49152{{.*}}][] : {{.*}} to memref<2x64x64xbf16, #gpu.address_space<workgroup>>
// VWGMMA:       memref.extract_aligned_pointer_as_index %[[TV]]
// VWGMMA:       memref.extract_aligned_pointer_as_index %[[TP]]
// VWGMMA:       scf.for
// VWGMMA-NOT:   nvgpu.ldmatrix
// VWGMMA-NOT:   nvvm.mma.sync
// VWGMMA-COUNT-4: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// VWGMMA-NOT:   nvgpu.ldmatrix
// VWGMMA-NOT:   nvvm.mma.sync
// VWGMMA:       nvvm.cp.async.wait.group 1
// VWGMMA-NEXT:  nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// VWGMMA-NEXT:  gpu.barrier
// VWGMMA:       nvgpu.device_async_copy %{{.*}}, %[[TV]][
// VWGMMA-NOT:   nvgpu.ldmatrix
// VWGMMA-NOT:   nvvm.mma.sync
// VWGMMA-COUNT-16: vector.store %{{.*}}, %[[TP]][%{{.*}}, %{{.*}}, %{{.*}}] : memref<2x64x64xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// VWGMMA-NEXT:  nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// VWGMMA-NEXT:  gpu.barrier
// VWGMMA:       nvvm.wgmma.fence.aligned
// VWGMMA-COUNT-4: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// VWGMMA-NEXT:  nvvm.wgmma.commit.group.sync.aligned
// VWGMMA-NEXT:  nvvm.wgmma.wait.group.sync.aligned 0
// VWGMMA-NOT:   nvgpu.ldmatrix
// VWGMMA-NOT:   nvvm.mma.sync
// VWGMMA:       scf.yield
// VWGMMA-LABEL: func.func @f16
// Only latent-wgmma: the attention keeps mma.sync scores.
// WGMMA-LABEL:  func.func @gqa
// WGMMA-NOT:    nvvm.wgmma
// OLD-LABEL:   func.func @gqa
// OLD:         tessera.attention
// OLD-NOT:     gpu.module
// On the CDNA chips the MFMA kernel: 4 wavefronts of 64 lanes, 32 rows
// each; K (64 x 64) and V transposed (64 x 64) in one LDS stage (2 x
// 64x(64+8) bf16: 18432 bytes).
// MFMA-LABEL: func.func @gqa
// MFMA:       gpu.launch_func @tessera_kernels::@gqa_flash0 blocks in (%c4{{.*}}, %c4{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c18432_i32
// MFMA:       gpu.func @gqa_flash0(%[[AQ:.*]]: memref<2x8x100x64xbf16>, %[[AK:.*]]: memref<2x2x150x64xbf16>, %[[AV:.*]]: memref<2x2x150x64xbf16>, %[[AL:.*]]: memref<2xi32>, %[[AO:.*]]: memref<2x8x100x64xbf16>, %[[ALSE:.*]]: memref<2x8x100xf32>)
// MFMA-SAME:    known_block_size = array<i32: 256, 1, 1>
// MFMA:       %[[TK:.*]] = memref.view %{{.*}}[%c0{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64x72xbf16, #gpu.address_space<workgroup>>
// MFMA:       %[[TVT:.*]] = memref.view %{{.*}}[%c9216{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64x72xbf16, #gpu.address_space<workgroup>>
// The lane's row in a fragment (lane % 16) and first k (4 (lane / 16)).
// MFMA:       %[[TID:.*]] = gpu.thread_id x
// MFMA:       %[[WAVE:.*]] = arith.divui %[[TID]], %c64
// MFMA:       %[[LANE:.*]] = arith.remui %[[TID]], %c64
// MFMA:       %[[LROW:.*]] = arith.remui %[[LANE]], %c16
// MFMA:       %[[LGRP:.*]] = arith.divui %[[LANE]], %c16
// MFMA:       %[[LK:.*]] = arith.muli %[[LGRP]], %c4
// The same band as on NVIDIA.
// MFMA:       %[[BEGIN:.*]] = arith.divsi %{{.*}}, %c64
// MFMA:       %[[END:.*]] = arith.maxsi %{{.*}}, %[[BEGIN]]
// Q's B fragments in registers: 2 row fragments x 4 k-steps of 4 elements
// of the lane's row.
// MFMA:       arith.muli %[[WAVE]], %c32
// MFMA:       %[[QK:.*]] = arith.addi %c0{{.*}}, %[[LK]]
// MFMA:       %[[Q0:.*]] = vector.load %[[AQ]][{{.*}}, %[[QK]]] : memref<2x8x100x64xbf16>, vector<4xbf16>
// MFMA-COUNT-7: vector.load %[[AQ]]
// The first block's K and V chunks (2 each of 8 elements a thread) into
// registers.
// MFMA-COUNT-2: vector.load %[[AK]]{{.*}} : memref<2x2x150x64xbf16>, vector<8xbf16>
// MFMA-COUNT-2: vector.load %[[AV]]{{.*}} : memref<2x2x150x64xbf16>, vector<8xbf16>
// The loop carries 2 x 4 O fragments, 2 maxes, 2 sums and the chunks.
// MFMA:       scf.for %{{.*}} = %[[BEGIN]] to %[[END]] {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, f32, f32, f32, f32, vector<8xbf16>, vector<8xbf16>, vector<8xbf16>, vector<8xbf16>)
// MFMA-NEXT:  gpu.barrier
// MFMA-COUNT-2: vector.store %{{.*}}, %[[TK]]{{.*}} : memref<64x72xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// V transposed: element e of a chunk (key r, columns c..) goes to [c + e, r].
// MFMA:       %[[VC:.*]] = arith.muli %{{.*}}, %c8
// MFMA:       %[[V0:.*]] = vector.extract %{{.*}}[0] : bf16 from vector<8xbf16>
// MFMA:       %[[C0:.*]] = arith.addi %[[VC]], %c0
// MFMA:       memref.store %[[V0]], %[[TVT]][%[[C0]], %{{.*}}] : memref<64x72xbf16
// MFMA-COUNT-15: memref.store %{{.*}}, %[[TVT]]
// MFMA:       gpu.barrier
// The next block's chunks load during the products.
// MFMA-COUNT-2: vector.load %[[AK]]
// MFMA-COUNT-2: vector.load %[[AV]]
// S^T = K Q^T: per k-step, 4 K fragments (A: the lane's key at 4 of its
// elements) times both row fragments' Q (B).
// MFMA:       %[[KA:.*]] = vector.load %[[TK]][%{{.*}}, %{{.*}}] : memref<64x72xbf16, #gpu.address_space<workgroup>>, vector<4xbf16>
// MFMA-COUNT-3: vector.load %[[TK]]
// MFMA:       amdgpu.mfma 16x16x16 %[[KA]] * %[[Q0]] + %{{.*}} blgp = none : vector<4xbf16>, vector<4xbf16>, vector<4xf32>
// MFMA-COUNT-31: amdgpu.mfma 16x16x16
// MFMA:       scf.if {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// MFMA:       arith.select %{{.*}}, %{{.*}}, %cst
// MFMA:       } else {
// A row's max over the 4 lanes that hold it (xor 16, xor 32 of 64), then
// exp2 through the math dialect (ocml).
// MFMA:       gpu.shuffle xor %{{.*}}, %c16_i32{{.*}}, %c64_i32
// MFMA:       gpu.shuffle xor %{{.*}}, %c32_i32{{.*}}, %c64_i32
// MFMA:       math.exp2
// MFMA-NOT:   nvvm
// MFMA:       arith.truncf %{{.*}} : vector<4xf32> to vector<4xbf16>
// O^T = V^T P^T: A from the transposed V tile, B the probabilities.
// MFMA:       %[[VA:.*]] = vector.load %[[TVT]][%{{.*}}, %{{.*}}] : memref<64x72xbf16, #gpu.address_space<workgroup>>, vector<4xbf16>
// MFMA:       amdgpu.mfma 16x16x16 %[[VA]] * %{{.*}} + %{{.*}}
// MFMA-COUNT-31: amdgpu.mfma 16x16x16
// MFMA-NOT:   amdgpu.mfma
// MFMA:       scf.yield
// Epilogue: the sum over the row's lanes, O / l as 4 contiguous columns,
// the lse from the lanes of the first group.
// MFMA:       gpu.shuffle xor %{{.*}}, %c16_i32
// MFMA:       gpu.shuffle xor %{{.*}}, %c32_i32
// MFMA:       arith.divf
// MFMA:       vector.store %{{.*}}, %[[AO]][{{.*}}] : memref<2x8x100x64xbf16>, vector<4xbf16>
// MFMA:       arith.cmpi eq, %[[LK]], %c0
// MFMA:       math.log2
// MFMA:       memref.store %{{.*}}, %[[ALSE]][{{.*}}] : memref<2x8x100xf32>
// MFMA:       gpu.return
func.func @gqa(%q: tensor<2x8x100x64xbf16>, %k: tensor<2x2x150x64xbf16>,
               %v: tensor<2x2x150x64xbf16>, %lens: tensor<2xi32>)
    -> (tensor<2x8x100x64xbf16>, tensor<2x8x100xf32>) {
  %o, %lse = tessera.attention %q, %k, %v kv_lens %lens
      {causal = true, window = 70 : i64}
      : (tensor<2x8x100x64xbf16>, tensor<2x2x150x64xbf16>,
         tensor<2x2x150x64xbf16>, tensor<2xi32>)
      -> (tensor<2x8x100x64xbf16>, tensor<2x8x100xf32>)
  return %o, %lse : tensor<2x8x100x64xbf16>, tensor<2x8x100xf32>
}

// -----

// f16 operands are passed to mma.sync as vector<2xf16> registers. Without
// causal, window or kv_lens, only the block past the last key is masked;
// without lse, nothing but O is stored. D = 16: one k-step of Q K^T.
// CHECK-LABEL: func.func @f16
// CHECK:       gpu.launch_func @tessera_kernels::@f16_flash0 blocks in (%c1{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c128
// CHECK:       gpu.func @f16_flash0
// CHECK-NOT:   memref.load
// CHECK:       %[[SKV:.*]] = arith.minsi %c40, %c40
// CHECK:       %[[LIMIT:.*]] = arith.maxsi %[[SKV]], %c0
// CHECK:       scf.for
// CHECK-COUNT-8: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {{.*}} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK:       %[[CUT:.*]] = arith.cmpi sgt, %{{.*}}, %[[LIMIT]]
// CHECK-NEXT:  scf.if %[[CUT]] -> (vector<4xf32>
// CHECK:       arith.truncf %{{.*}} : vector<2xf32> to vector<2xf16>
// CHECK:       vector.store %{{.*}} : memref<1x1x10x16xf16>, vector<2xf16>
// CHECK-NOT:   memref.store
// CHECK:       gpu.return
// By default too, a KV head of at most 64 rows (here 10) takes a block of
// 64 rows and warps of 16 (Q in registers, one row fragment a warp):
// 64x(16+8) + 2 x 2 x 64x(16+8) f16 = 15360 bytes.
// DEFAULT-LABEL: func.func @f16
// DEFAULT:       gpu.launch_func @tessera_kernels::@f16_flash0 blocks in (%c1{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c128{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c15360_i32
// DEFAULT:       scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, f32, f32, f32, f32)
// On the MFMA chips, 64-row blocks of 16-row wavefronts too; f16
// products; K 64x(16+8) and V^T 16x(64+8) f16 = 5376 bytes; the threads
// past the 128 chunks of a block repeat the last one.
// MFMA-LABEL: func.func @f16
// MFMA:       gpu.launch_func @tessera_kernels::@f16_flash0 blocks in (%c1{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c5376_i32
// MFMA:       gpu.func @f16_flash0
// MFMA:       arith.minui %{{.*}}, %c127
// MFMA:       scf.for {{.*}} -> (vector<4xf32>, f32, f32, vector<8xf16>, vector<8xf16>)
// MFMA:       amdgpu.mfma 16x16x16 %{{.*}} * %{{.*}} + %{{.*}} blgp = none : vector<4xf16>, vector<4xf16>, vector<4xf32>
// MFMA-COUNT-7: amdgpu.mfma
// MFMA-NOT:   amdgpu.mfma
// MFMA:       vector.store %{{.*}} : memref<1x1x10x16xf16>, vector<4xf16>
func.func @f16(%q: tensor<1x1x10x16xf16>, %k: tensor<1x1x40x16xf16>,
               %v: tensor<1x1x40x16xf16>) -> tensor<1x1x10x16xf16> {
  %o = tessera.attention %q, %k, %v
      : (tensor<1x1x10x16xf16>, tensor<1x1x40x16xf16>, tensor<1x1x40x16xf16>)
      -> tensor<1x1x10x16xf16>
  return %o : tensor<1x1x10x16xf16>
}

// -----

// Split KV. A decode step of 8 query heads over 2 KV heads is 2 blocks of
// (row block, batch, KV head), too few for the 132 multiprocessors of
// sm_90 (the default chip): 16 blocks share each one's keys (one a key
// block of 64, the most 1000 keys give), writing normalized f32 rows and
// their natural lse to a workspace; a second kernel, a block per (batch,
// head, query) row and a thread per column, combines them into out and
// lse.
// SPLIT-LABEL: func.func @split
// SPLIT:       %[[O:.*]] = memref.alloc() : memref<1x8x1x64xbf16>
// SPLIT:       %[[LSE:.*]] = memref.alloc() : memref<1x8x1xf32>
// SPLIT:       %[[PO:.*]] = memref.alloc() : memref<16x1x8x1x64xf32>
// SPLIT:       %[[PL:.*]] = memref.alloc() : memref<16x1x8x1xf32>
// SPLIT:       gpu.launch_func @tessera_kernels::@split_flash0 blocks in (%c1{{.*}}, %c2{{.*}}, %c16{{.*}}) threads in (%c128{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c46080_i32 args({{.*}}, %[[PO]] : memref<16x1x8x1x64xf32>, %[[PL]] : memref<16x1x8x1xf32>)
// SPLIT:       gpu.launch_func @tessera_kernels::@split_flash0_combine blocks in (%c8{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c128{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c0_i32 args(%[[PO]] : memref<16x1x8x1x64xf32>, %[[PL]] : memref<16x1x8x1xf32>, %[[O]] : memref<1x8x1x64xbf16>, %[[LSE]] : memref<1x8x1xf32>)
// SPLIT:       bufferization.to_tensor %[[O]]
// SPLIT:       bufferization.to_tensor %[[LSE]]
// SPLIT:       gpu.func @split_flash0({{.*}}, %[[APO:.*]]: memref<16x1x8x1x64xf32>, %[[APL:.*]]: memref<16x1x8x1xf32>)
// SPLIT-SAME:    known_grid_size = array<i32: 1, 2, 16>
// Split z walks the z-th run of ceil(n / 16) of the block's n key blocks.
// SPLIT:       %[[Z:.*]] = gpu.block_id z
// SPLIT:       %[[N:.*]] = arith.subi %[[END:.*]], %[[BEGIN:.*]] : index
// SPLIT:       %[[PER:.*]] = arith.ceildivsi %[[N]], %c16
// SPLIT:       %[[SKIP:.*]] = arith.muli %[[Z]], %[[PER]]
// SPLIT:       %[[FIRST:.*]] = arith.addi %[[BEGIN]], %[[SKIP]]
// SPLIT:       %[[NEXT:.*]] = arith.addi %[[FIRST]], %[[PER]]
// SPLIT:       %[[CUT:.*]] = arith.minsi %[[END]], %[[NEXT]]
// SPLIT:       %[[LAST:.*]] = arith.maxsi %[[CUT]], %[[FIRST]]
// SPLIT:       scf.for %{{.*}} = %[[FIRST]] to %[[LAST]]
// SPLIT:       vector.store %{{.*}}, %[[APO]][%[[Z]], {{.*}}] : memref<16x1x8x1x64xf32>, vector<2xf32>
// SPLIT:       memref.store %{{.*}}, %[[APL]][%[[Z]], {{.*}}] : memref<16x1x8x1xf32>
// SPLIT:       gpu.return
// The largest partial lse m (0 if all are -inf), the sum of the weights
// 2^((lse - m) log2 e), then for each of the 64 columns (threads 64-127
// idle) the weighted sum of the partial rows over the weights' sum, and
// lse = m + ln(sum).
// SPLIT:       gpu.func @split_flash0_combine(%[[CPO:.*]]: memref<16x1x8x1x64xf32>, %[[CPL:.*]]: memref<16x1x8x1xf32>, %[[CO:.*]]: memref<1x8x1x64xbf16>, %[[CL:.*]]: memref<1x8x1xf32>)
// SPLIT-SAME:    known_block_size = array<i32: 128, 1, 1>, known_grid_size = array<i32: 8, 1, 1>
// SPLIT:       %[[MAX:.*]] = scf.for %{{.*}} = %c0{{.*}} to %c16{{.*}} step
// SPLIT:         memref.load %[[CPL]]
// SPLIT:         arith.maximumf
// SPLIT:       %[[NONE:.*]] = arith.cmpf oeq, %[[MAX]], %cst
// SPLIT:       %[[BASE:.*]] = arith.select %[[NONE]], %{{.*}}, %[[MAX]]
// SPLIT:       %[[SUM:.*]] = scf.for
// SPLIT:         arith.subf %{{.*}}, %[[BASE]]
// SPLIT:         llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// SPLIT:         arith.addf
// SPLIT:       %[[COL:.*]] = arith.addi %thread_id_x, %c0
// SPLIT:       %[[IN:.*]] = arith.cmpi ult, %[[COL]], %c64
// SPLIT:       scf.if %[[IN]]
// SPLIT:         scf.for
// SPLIT:           memref.load %[[CPO]][{{.*}}, %[[COL]]]
// SPLIT:           math.fma
// SPLIT:         arith.truncf %{{.*}} : f32 to bf16
// SPLIT:         memref.store %{{.*}}, %[[CO]][{{.*}}, %[[COL]]]
// SPLIT:       llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"(%[[SUM]])
// SPLIT:       memref.store %{{.*}}, %[[CL]]
// SPLIT:       gpu.return
// MFMA chips split as many ways as fill their compute units (110 on
// gfx90a): 16 here, one per key block; partial rows as 4 f32 columns a
// lane; the combine takes exp2 and log2 from the math dialect.
// MFMASPLIT-LABEL: func.func @split
// MFMASPLIT:       gpu.launch_func @tessera_kernels::@split_flash0 blocks in (%c1{{.*}}, %c2{{.*}}, %c16{{.*}}) threads in (%c256
// MFMASPLIT:       gpu.launch_func @tessera_kernels::@split_flash0_combine blocks in (%c8
// MFMASPLIT:       gpu.func @split_flash0(
// MFMASPLIT:       %[[Z:.*]] = gpu.block_id z
// MFMASPLIT:       vector.store %{{.*}}, %{{.*}}[%[[Z]], {{.*}}] : memref<16x1x8x1x64xf32>, vector<4xf32>
// MFMASPLIT:       memref.store %{{.*}}, %{{.*}}[%[[Z]], {{.*}}] : memref<16x1x8x1xf32>
// MFMASPLIT:       gpu.func @split_flash0_combine(
// MFMASPLIT-NOT:   nvvm
// MFMASPLIT:       math.exp2
// MFMASPLIT:       math.log2
// MFMASPLIT:       gpu.return
func.func @split(%q: tensor<1x8x1x64xbf16>, %k: tensor<1x2x1000x64xbf16>,
                 %v: tensor<1x2x1000x64xbf16>)
    -> (tensor<1x8x1x64xbf16>, tensor<1x8x1xf32>) {
  %o, %lse = tessera.attention %q, %k, %v
      : (tensor<1x8x1x64xbf16>, tensor<1x2x1000x64xbf16>,
         tensor<1x2x1000x64xbf16>)
      -> (tensor<1x8x1x64xbf16>, tensor<1x8x1xf32>)
  return %o, %lse : tensor<1x8x1x64xbf16>, tensor<1x8x1xf32>
}

// -----

// DeepSeek-V3's latent attention (128 heads, L = 512, R = 64) in a decode
// step. The 128 (head, query) rows of a batch take 2 blocks of 64 rows; a
// block has 4 row warps x 2 column groups (256 output columns each) = 256
// threads; the 4 blocks of (row block, batch) split the keys 33 ways
// (132 / 4). Shared memory: Q (64 x (576 + 8)) and 2 stages of 32 keys
// (2 x 32 x (576 + 8)), one tile per key block for K and V (V is K's first
// 512 columns): 149504 bytes.
// MLA-LABEL: func.func @mla
// MLA:       %[[Q:.*]] = bufferization.to_buffer %arg0
// MLA:       %[[KV:.*]] = bufferization.to_buffer %arg1
// MLA:       %[[L:.*]] = bufferization.to_buffer %arg2
// MLA:       %[[O:.*]] = memref.alloc() : memref<2x128x1x512xbf16>
// MLA:       %[[PO:.*]] = memref.alloc() : memref<33x2x128x1x512xf32>
// MLA:       %[[PL:.*]] = memref.alloc() : memref<33x2x128x1xf32>
// MLA:       gpu.launch_func @tessera_kernels::@mla_mla0 blocks in (%c2{{.*}}, %c2{{.*}}, %c33{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c149504_i32 args(%[[Q]] : memref<2x128x1x576xbf16>, %[[KV]] : memref<2x4096x576xbf16>, %[[L]] : memref<2xi32>, %[[PO]] : memref<33x2x128x1x512xf32>, %[[PL]] : memref<33x2x128x1xf32>)
// MLA:       gpu.launch_func @tessera_kernels::@mla_mla0_combine blocks in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c128{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c0_i32 args(%[[PO]] : memref<33x2x128x1x512xf32>, %[[PL]] : memref<33x2x128x1xf32>, %[[O]] : memref<2x128x1x512xbf16>)
// MLA-NOT:   tessera.latent_attention
// MLA:       gpu.func @mla_mla0(%[[AQ:.*]]: memref<2x128x1x576xbf16>, %[[AKV:.*]]: memref<2x4096x576xbf16>, %[[AL:.*]]: memref<2xi32>, %[[APO:.*]]: memref<33x2x128x1x512xf32>, %[[APL:.*]]: memref<33x2x128x1xf32>)
// MLA-SAME:    known_block_size = array<i32: 256, 1, 1>, known_grid_size = array<i32: 2, 2, 33>
// MLA:       %[[TQ:.*]] = memref.view %{{.*}}[%c0{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64x584xbf16, #gpu.address_space<workgroup>>
// MLA:       %[[TKV:.*]] = memref.view %{{.*}}[%c74752{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<2x32x584xbf16, #gpu.address_space<workgroup>>
// MLA-NOT:   memref.view
// The warp's row warp (warp % 4) and first output column ((warp / 4) 256).
// MLA:       %[[WARP:.*]] = arith.divui %thread_id_x, %c32
// MLA:       arith.remui %[[WARP]], %c4
// MLA:       %[[GROUP:.*]] = arith.divui %[[WARP]], %c4
// MLA:       %[[COL0:.*]] = arith.muli %[[GROUP]], %c256
// MLA:       %[[BATCH:.*]] = arith.divui %block_id_y, %c1
// Prologue: Q (18 chunks of 16 bytes a thread), the first key block (9
// chunks a thread), a group each.
// MLA-COUNT-18: nvgpu.device_async_copy %[[AQ]][%[[BATCH]], {{.*}}], %[[TQ]]
// MLA-NEXT:  nvvm.cp.async.commit.group
// MLA-COUNT-9: nvgpu.device_async_copy %[[AKV]][%[[BATCH]], {{.*}}], %[[TKV]][%c0
// MLA:       nvvm.cp.async.commit.group
// MLA-NOT:   nvgpu.ldmatrix
// The loop carries 32 O fragments (16 rows x 256 columns), 2 maxes and 2
// sums; it waits for the key block (and Q), then loads the next one into
// the stage the previous one freed.
// MLA:       scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, f32, f32, f32, f32)
// MLA:       nvvm.cp.async.wait.group 0
// MLA-NEXT:  gpu.barrier
// MLA-COUNT-9: nvgpu.device_async_copy %[[AKV]]
// MLA:       nvvm.cp.async.commit.group
// S = Q K^T over 576 columns: 36 k-steps x 4 fragments of 8 keys, Q and K
// read from shared memory.
// MLA:       nvgpu.ldmatrix %[[TQ]][{{.*}}] {numTiles = 4 : i32, transpose = false}
// MLA:       nvgpu.ldmatrix %[[TKV]][{{.*}}] {numTiles = 4 : i32, transpose = false}
// MLA-COUNT-144: nvvm.mma.sync
// MLA:       scf.if
// MLA:       llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// P.V: V is the same tile, read transposed: 2 k-steps x 32 fragments.
// MLA-NOT:   nvvm.cp.async.wait.group
// MLA:       nvgpu.ldmatrix %[[TKV]][{{.*}}] {numTiles = 4 : i32, transpose = true}
// MLA-COUNT-64: nvvm.mma.sync
// MLA-NOT:   nvvm.mma.sync
// MLA:       scf.yield
// MLA:       vector.store %{{.*}}, %[[APO]][%block_id_z, %[[BATCH]], {{.*}}] : memref<33x2x128x1x512xf32>, vector<2xf32>
// The lse by the lane of the first column.
// MLA:       %[[FIRST:.*]] = arith.addi %{{.*}}, %[[COL0]]
// MLA:       arith.cmpi eq, %[[FIRST]], %c0
// MLA:       memref.store %{{.*}}, %[[APL]][%block_id_z, %[[BATCH]], {{.*}}] : memref<33x2x128x1xf32>
// MLA:       gpu.func @mla_mla0_combine
// A100 (sm_80, 163 KiB of shared memory, 108 multiprocessors): 27 splits.
// MLA80-LABEL: func.func @mla
// MLA80:       gpu.launch_func @tessera_kernels::@mla_mla0 blocks in (%c2{{.*}}, %c2{{.*}}, %c27{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c149504_i32
// sm_86 (99 KiB): the tiles do not fit; the generic lowering stays.
// MLA86-LABEL: func.func @mla
// MLA86:       tessera.latent_attention
// MLA86-NEXT:  return
// The MFMA kernel (gfx942): 4 row wavefronts x 2 column groups = 512
// threads. K [32, 576] and V^T [512, 32] would exceed the 64 KiB of LDS, so
// key blocks of 16: K (16 x (576 + 8)) and V^T (512 x (16 + 8)), 43264
// bytes. Each key block's chunks (1152 of 8 keys' values, 3 a thread) come
// from the one latent cache [B, Skv, D]; those of the first 512 columns are
// stored to V^T too.
// AMDMLA-LABEL: func.func @mla
// AMDMLA:       gpu.launch_func @tessera_kernels::@mla_mla0 blocks in (%c2{{.*}}, %c2{{.*}}, %c1{{.*}}) threads in (%c512{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c43264_i32
// AMDMLA-NOT:   tessera.latent_attention
// AMDMLA:       gpu.func @mla_mla0(%{{.*}}: memref<2x128x1x576xbf16>, %[[AKV:.*]]: memref<2x4096x576xbf16>, %{{.*}}: memref<2xi32>, %[[AO:.*]]: memref<2x128x1x512xbf16>)
// AMDMLA:       %[[TK:.*]] = memref.view {{.*}} to memref<16x584xbf16, #gpu.address_space<workgroup>>
// AMDMLA:       %[[TVT:.*]] = memref.view %{{.*}}[%c18688{{.*}}][] : {{.*}} to memref<512x24xbf16, #gpu.address_space<workgroup>>
// The wavefront's row wavefront (wave % 4) and first column ((wave / 4) 256).
// AMDMLA:       %[[WAVE:.*]] = arith.divui %{{.*}}, %c64
// AMDMLA:       arith.remui %[[WAVE]], %c4
// AMDMLA:       %[[GROUP:.*]] = arith.divui %[[WAVE]], %c4
// AMDMLA:       %[[COL0:.*]] = arith.muli %[[GROUP]], %c256
// AMDMLA-COUNT-3: vector.load %[[AKV]][%{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}] : memref<2x4096x576xbf16>, vector<8xbf16>
// AMDMLA-NOT:   vector.load %[[AKV]]
// AMDMLA:       scf.for
// AMDMLA-NEXT:  gpu.barrier
// AMDMLA:       vector.store %{{.*}}, %[[TK]]
// AMDMLA:       %[[ISV:.*]] = arith.cmpi ult, %[[C:.*]], %c512
// AMDMLA-NEXT:  scf.if %[[ISV]] {
// AMDMLA-COUNT-8: memref.store %{{.*}}, %[[TVT]]
// AMDMLA:       gpu.barrier
// AMDMLA-COUNT-3: vector.load %[[AKV]]
// Scores: 36 k-steps of one 16-key fragment; P.V: 16 column fragments of
// the group's 256 columns, V^T's rows offset by the group's first column.
// AMDMLA-COUNT-36: amdgpu.mfma 16x16x16
// AMDMLA-NOT:   amdgpu.mfma
// AMDMLA:       %[[VROW:.*]] = arith.addi %[[COL0]], %{{.*}}
// AMDMLA:       %[[VT:.*]] = vector.load %[[TVT]][%[[VROW]], %{{.*}}] : memref<512x24xbf16, #gpu.address_space<workgroup>>, vector<4xbf16>
// AMDMLA-NEXT:  amdgpu.mfma 16x16x16 %[[VT]]
// AMDMLA-COUNT-15: amdgpu.mfma 16x16x16
// AMDMLA-NOT:   amdgpu.mfma
// AMDMLA:       scf.yield
// AMDMLA:       %[[OCOL:.*]] = arith.addi %[[COL0]], %{{.*}}
// AMDMLA-NEXT:  vector.store %{{.*}}, %[[AO]][%{{.*}}, %{{.*}}, %{{.*}}, %[[OCOL]]] : memref<2x128x1x512xbf16>, vector<4xbf16>
// Without split KV: the kernel writes bf16 rows straight into out.
// MLA1-LABEL: func.func @mla
// MLA1:       %[[O:.*]] = memref.alloc() : memref<2x128x1x512xbf16>
// MLA1:       gpu.launch_func @tessera_kernels::@mla_mla0 blocks in (%c2{{.*}}, %c2{{.*}}, %c1{{.*}}) {{.*}} args({{.*}}, %[[O]] : memref<2x128x1x512xbf16>)
// MLA1-NOT:   gpu.launch_func
// MLA1:       vector.store %{{.*}} : memref<2x128x1x512xbf16>, vector<2xbf16>
// latent-wgmma on sm_90a (only there: sm_90 has no wgmma, and the option
// is off by default): Q [9 blocks of 64 columns, 64 rows, 64] and two
// stages of K [9, 32 keys, 64], unpadded and 128-byte swizzled (chunk c of
// row r at c ^ (r % 8)): 73728 + 73728 bytes. The copies are fenced for
// the async proxy before the barrier; each column group (a warpgroup)
// computes its 64 rows' scores with 36 wgmma m64n32k16 from the two
// tiles' descriptors, waits for them, and runs P.V with mma.sync on
// swizzled ldmatrix addresses of the same K tile.
// WGMMA-LABEL: func.func @mla
// WGMMA:       gpu.launch_func @tessera_kernels::@mla_mla0 blocks in (%c2{{.*}}, %c2{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c147456_i32
// WGMMA:       %[[TQ:.*]] = memref.view %{{.*}}[%c0{{.*}}][] : {{.*}} to memref<9x64x64xbf16, #gpu.address_space<workgroup>>
// WGMMA:       %[[TKV:.*]] = memref.view %{{.*}}[%c73728{{.*}}][] : {{.*}} to memref<2x9x32x64xbf16, #gpu.address_space<workgroup>>
// WGMMA:       memref.extract_aligned_pointer_as_index %[[TQ]]
// WGMMA:       memref.extract_aligned_pointer_as_index %[[TKV]]
// WGMMA:       %[[SLOT:.*]] = arith.xori
// WGMMA:       %[[AT:.*]] = arith.muli %[[SLOT]], %c8
// WGMMA:       nvgpu.device_async_copy %{{.*}}, %[[TQ]][%{{.*}}, %{{.*}}, %[[AT]]]
// WGMMA:       scf.for
// WGMMA:       nvvm.cp.async.wait.group 0
// WGMMA-NEXT:  nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// WGMMA-NEXT:  gpu.barrier
// WGMMA:       nvvm.cp.async.commit.group
// WGMMA-NOT:   nvgpu.ldmatrix
// WGMMA:       nvvm.wgmma.fence.aligned
// WGMMA-COUNT-36: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 32, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// WGMMA-NOT:   nvvm.wgmma.mma_async
// WGMMA:       nvvm.wgmma.commit.group.sync.aligned
// WGMMA-NEXT:  nvvm.wgmma.wait.group.sync.aligned 0
// WGMMA-NOT:   nvvm.mma.sync
// WGMMA:       llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// WGMMA:       nvgpu.ldmatrix %[[TKV]][{{.*}}] {numTiles = 4 : i32, transpose = true} : memref<2x9x32x64xbf16, #gpu.address_space<workgroup>>
// WGMMA-COUNT-64: nvvm.mma.sync
// WGMMA-NOT:   nvvm.mma.sync
// WGMMA:       scf.yield
// With wgmma-values, P.V by wgmma too: each column group stores its P to
// its own tile of [64 rows, 64] (32 keys: the first half of each row) and
// runs 2 wgmma m64n256k16 (its 256 columns) with B MN-major from the K
// tile's first 512 columns.
// VWGMMA-LABEL: func.func @mla
// VWGMMA:       dynamic_shared_memory_size %c163840_i32
// VWGMMA:       %[[MP:.*]] = memref.view %{{.*}}[%c147456{{.*}}][] : {{.*}} to memref<2x64x64xbf16, #gpu.address_space<workgroup>>
// VWGMMA-COUNT-36: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 32, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// VWGMMA:       vector.store %{{.*}}, %[[MP]]
// VWGMMA:       nvvm.wgmma.fence.aligned
// VWGMMA-COUNT-2: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 256, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// VWGMMA-NOT:   nvvm.mma.sync
// VWGMMA:       scf.yield
// NOWGMMA-NOT: nvvm.wgmma
// NOWGMMA-NOT: nvvm.fence.proxy
func.func @mla(%q: tensor<2x128x1x576xbf16>, %kv: tensor<2x4096x576xbf16>,
               %lens: tensor<2xi32>) -> tensor<2x128x1x512xbf16> {
  %o = tessera.latent_attention %q, %kv kv_lens %lens
      {latent_dim = 512 : i64, scale = 0.1352 : f32}
      : (tensor<2x128x1x576xbf16>, tensor<2x4096x576xbf16>, tensor<2xi32>)
      -> tensor<2x128x1x512xbf16>
  return %o : tensor<2x128x1x512xbf16>
}

// -----

// A bias (broadcast over batch and head), a softcap and Dv != D: the
// scores become softcap(scale s + bias) log2(e) before the mask (the
// softmax then takes them as they are, in base 2); a bias element is read
// per score, the packed row (31 at most) and the key (39) clamped; V and
// the output have 32 columns (4 fragments a warp).
// CHECK-LABEL: func.func @bias_softcap
// CHECK:       gpu.launch_func @tessera_kernels::@bias_softcap_flash0 {{.*}} args(%{{.*}} : memref<1x2x16x16xbf16>, %{{.*}} : memref<1x1x40x16xbf16>, %{{.*}} : memref<1x1x40x32xbf16>, %{{.*}} : memref<1x1x16x40xbf16>, %{{.*}} : memref<1x2x16x32xbf16>)
// CHECK:       gpu.func @bias_softcap_flash0({{.*}}, %[[AV:.*]]: memref<1x1x40x32xbf16>, %[[AB:.*]]: memref<1x1x16x40xbf16>, %[[AO:.*]]: memref<1x2x16x32xbf16>)
// CHECK:       memref.view {{.*}} to memref<2x64x40xbf16, #gpu.address_space<workgroup>>
// CHECK:       scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, f32, f32, f32, f32)
// CHECK-COUNT-8: nvvm.mma.sync
// CHECK:       %[[S:.*]] = vector.extract %{{.*}}[0] : f32 from vector<4xf32>
// CHECK:       %[[SCALED:.*]] = arith.mulf %[[S]], %[[SCALE:.*]] : f32
// CHECK:       %[[ROW:.*]] = arith.minsi %{{.*}}, %c31
// CHECK:       %[[QI:.*]] = arith.remui %[[ROW]], %c16
// CHECK:       %[[KEY:.*]] = arith.minsi %{{.*}}, %c39
// CHECK:       %[[B:.*]] = memref.load %[[AB]][%c0{{.*}}, %c0{{.*}}, %[[QI]], %[[KEY]]] : memref<1x1x16x40xbf16>
// CHECK-NEXT:  %[[BF:.*]] = arith.extf %[[B]] : bf16 to f32
// CHECK-NEXT:  %[[SUM:.*]] = arith.addf %[[SCALED]], %[[BF]] : f32
// CHECK:       %[[DIV:.*]] = arith.mulf %[[SUM]], %{{.*}} : f32
// CHECK-NEXT:  %[[T:.*]] = math.tanh %[[DIV]] : f32
// CHECK:       %[[CAP:.*]] = arith.mulf %[[T]], %{{.*}} : f32
// CHECK-NEXT:  %[[LOG2E:.*]] = arith.constant 1.44269502 : f32
// CHECK-NEXT:  arith.mulf %[[CAP]], %[[LOG2E]] : f32
// 32 scores a lane (8 fragments of 4).
// CHECK-COUNT-31: math.tanh
// CHECK-NOT:   math.tanh
// CHECK:       scf.if
// CHECK:       nvgpu.ldmatrix %{{.*}} {numTiles = 4 : i32, transpose = true} : memref<2x64x40xbf16
// CHECK:       vector.store %{{.*}}, %[[AO]]{{.*}} : memref<1x2x16x32xbf16>, vector<2xbf16>
func.func @bias_softcap(%q: tensor<1x2x16x16xbf16>, %k: tensor<1x1x40x16xbf16>,
                        %v: tensor<1x1x40x32xbf16>, %bias: tensor<1x1x16x40xbf16>)
    -> tensor<1x2x16x32xbf16> {
  %o = tessera.attention %q, %k, %v bias %bias {softcap = 30.0 : f32}
      : (tensor<1x2x16x16xbf16>, tensor<1x1x40x16xbf16>, tensor<1x1x40x32xbf16>,
         tensor<1x1x16x40xbf16>) -> tensor<1x2x16x32xbf16>
  return %o : tensor<1x2x16x32xbf16>
}

// -----

// What the kernel does not take yet keeps the generic lowering: f32, D
// not a multiple of 16, D over 128, dynamic shapes, a negative scale, more (batch, KV head) pairs than a grid's y
// dimension holds; latent attentions in f32, with a rope dimension that is
// not a multiple of 16 (40 = 32 + 8) or with dynamic shapes.
// CHECK-LABEL: func.func @not_eligible
// CHECK-NOT:   gpu.launch_func
// CHECK-COUNT-6: tessera.attention
// CHECK-COUNT-3: tessera.latent_attention
// CHECK-NOT:   gpu.module
func.func @not_eligible(%qf: tensor<1x1x8x16xf32>, %kf: tensor<1x1x8x16xf32>,
                        %q: tensor<1x1x8x16xbf16>, %k: tensor<1x1x8x16xbf16>,
                        %q8: tensor<1x1x8x8xbf16>, %q256: tensor<1x1x8x256xbf16>,
                        %qd: tensor<1x1x?x16xbf16>,
                        %qw: tensor<65536x1x1x16xbf16>,
                        %lq32: tensor<1x4x1x48xf32>, %lkv32: tensor<1x8x48xf32>,
                        %lq: tensor<1x4x1x40xbf16>, %lkv: tensor<1x8x40xbf16>,
                        %lqd: tensor<1x4x1x48xbf16>, %lkvd: tensor<1x?x48xbf16>) {
  %0 = tessera.attention %qf, %kf, %kf
      : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  %1 = tessera.attention %q8, %q8, %q8
      : (tensor<1x1x8x8xbf16>, tensor<1x1x8x8xbf16>, tensor<1x1x8x8xbf16>) -> tensor<1x1x8x8xbf16>
  %2 = tessera.attention %q256, %q256, %q256
      : (tensor<1x1x8x256xbf16>, tensor<1x1x8x256xbf16>, tensor<1x1x8x256xbf16>) -> tensor<1x1x8x256xbf16>
  %3 = tessera.attention %qd, %k, %k
      : (tensor<1x1x?x16xbf16>, tensor<1x1x8x16xbf16>, tensor<1x1x8x16xbf16>) -> tensor<1x1x?x16xbf16>
  %4 = tessera.attention %q, %k, %k {scale = -0.5 : f32}
      : (tensor<1x1x8x16xbf16>, tensor<1x1x8x16xbf16>, tensor<1x1x8x16xbf16>) -> tensor<1x1x8x16xbf16>
  %5 = tessera.attention %qw, %qw, %qw
      : (tensor<65536x1x1x16xbf16>, tensor<65536x1x1x16xbf16>, tensor<65536x1x1x16xbf16>) -> tensor<65536x1x1x16xbf16>
  %6 = tessera.latent_attention %lq32, %lkv32 {latent_dim = 32 : i64}
      : (tensor<1x4x1x48xf32>, tensor<1x8x48xf32>) -> tensor<1x4x1x32xf32>
  %7 = tessera.latent_attention %lq, %lkv {latent_dim = 32 : i64}
      : (tensor<1x4x1x40xbf16>, tensor<1x8x40xbf16>) -> tensor<1x4x1x32xbf16>
  %8 = tessera.latent_attention %lqd, %lkvd {latent_dim = 32 : i64}
      : (tensor<1x4x1x48xbf16>, tensor<1x?x48xbf16>) -> tensor<1x4x1x32xbf16>
  return
}
