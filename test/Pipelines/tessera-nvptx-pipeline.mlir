// RUN: tessera-opt %s --tessera-nvptx-pipeline | FileCheck %s
// RUN: tessera-opt %s --tessera-nvptx-pipeline="chip=sm_90a block-size=128" | FileCheck %s --check-prefix=SM90A
// RUN: tessera-opt %s --tessera-nvptx-pipeline | FileCheck %s --check-prefix=SCATTER
// RUN: tessera-opt %s --tessera-nvptx-pipeline | FileCheck %s --check-prefix=UNFUSED
// RUN: tessera-opt %s --tessera-nvptx-pipeline="fuse-moe=true" | FileCheck %s --check-prefix=FUSED
// RUN: not tessera-opt %s --tessera-nvptx-pipeline="chip=gfx942" 2>&1 | FileCheck %s --check-prefix=BADCHIP
// RUN: not tessera-opt %s --tessera-nvptx-pipeline="block-size=100" 2>&1 | FileCheck %s --check-prefix=BADBLOCK

// After the pipeline the host function holds allocations and launches only;
// the result is an out-parameter; the kernels are NVVM functions taking bare
// pointers in one module with the NVVM target attached. The grouped GEMM is
// a gathering contraction (no loop over experts on the host).

// CHECK-LABEL: func.func @grouped
// CHECK-SAME:    %{{.+}}: memref<12x5xbf16> {bufferize.result})
// CHECK-NOT:     scf.
// CHECK-NOT:     linalg.
// CHECK:         gpu.launch_func @tessera_kernels::@grouped_k0
// CHECK:         return

// SM90A:       gpu.module @tessera_kernels [#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx80">]
// SM90A:         nvvm.maxntid = array<i32: 128, 1, 1>

// BADCHIP: tessera-nvptx-pipeline: unknown NVIDIA chip 'gfx942'
// BADBLOCK: tessera-nvptx-pipeline: block-size must be a multiple of 32 in [32, 1024], got 100
func.func @grouped(%r: tensor<12x8xbf16>, %w: tensor<3x8x10xbf16>, %o: tensor<4xi32>) -> tensor<12x5xbf16> {
  %y = tessera.grouped_matmul %r, %w, %o {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<12x8xbf16>, tensor<3x8x10xbf16>, tensor<4xi32>) -> tensor<12x5xbf16>
  return %y : tensor<12x5xbf16>
}

// Attention: every stage of the reference lowering is a kernel.
// CHECK-LABEL: func.func @attention
// CHECK-COUNT-3: gpu.launch_func
// CHECK:         return
// CHECK:       gpu.module @tessera_kernels [#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">]
// CHECK:         llvm.func @grouped_k0(%{{.+}}: !llvm.ptr)
// CHECK-SAME:      nvvm.kernel
// CHECK-SAME:      nvvm.maxntid = array<i32: 12, 1, 1>
// CHECK:         nvvm.read.ptx.sreg.ctaid.x
// CHECK:         nvvm.read.ptx.sreg.tid.x
// CHECK:         llvm.call @__nv_expf
func.func @attention(%q: tensor<1x4x16x8xf16>, %k: tensor<1x2x16x8xf16>, %v: tensor<1x2x16x8xf16>)
    -> tensor<1x4x16x8xf16> {
  %o = tessera.attention %q, %k, %v {causal = true}
      : (tensor<1x4x16x8xf16>, tensor<1x2x16x8xf16>, tensor<1x2x16x8xf16>) -> tensor<1x4x16x8xf16>
  return %o : tensor<1x4x16x8xf16>
}

// Dispatch and combine (tessera-parallel-scatter): the 256 pairs in 16
// chunks of 16; `perm` is stored by one thread per pair and combine's
// inverse by one atomic max per row. No kernel runs on one thread.
// SCATTER-LABEL: func.func @dispatch_combine
// SCATTER-NOT:     threads in (%c1, %c1, %c1)
// SCATTER:         gpu.launch_func @tessera_kernels::@{{.+}} blocks in (%c1, %c1, %c1) threads in (%c256, %c1, %c1) args(%{{.+}} : memref<16x16xi32>, %[[PERM:.+]] : memref<256xi32>)
// SCATTER-NOT:     threads in (%c1, %c1, %c1)
// SCATTER:         gpu.launch_func @tessera_kernels::@{{.+}} blocks in (%c1, %c1, %c1) threads in (%c256, %c1, %c1) args(%[[PERM]] : memref<256xi32>, %{{.+}} : memref<256xi32>)
// SCATTER-NOT:     threads in (%c1, %c1, %c1)
// SCATTER:         return
// SCATTER:       gpu.module @tessera_kernels
// SCATTER:         llvm.atomicrmw max %{{.+}}, %{{.+}} acq_rel : !llvm.ptr, i32
func.func @dispatch_combine(%x: tensor<64x16xf32>, %ids: tensor<64x4xi32>, %w: tensor<64x4xf32>) -> tensor<64x16xf32> {
  %rows, %offsets, %perm = tessera.dispatch %x, %ids {num_experts = 8 : i64}
      : (tensor<64x16xf32>, tensor<64x4xi32>) -> (tensor<256x16xf32>, tensor<9xi32>, tensor<256xi32>)
  %out = tessera.combine %rows, %perm, %w
      : (tensor<256x16xf32>, tensor<256xi32>, tensor<64x4xf32>) -> tensor<64x16xf32>
  return %out : tensor<64x16xf32>
}

// A bf16 MoE layer's expert GEMMs on the tensor cores. By default the up
// projection reads dispatch's rows (128 pairs x 64); with fuse-moe=true
// (tessera-fuse-moe) it gathers them from the 64 tokens through an index,
// and the down projection scales its rows by the routing weights.
// UNFUSED-LABEL: func.func @moe
// UNFUSED:         gpu.launch_func @tessera_kernels::@moe_mma0 {{.*}} args(%{{.+}} : memref<128x64xbf16>, %{{.+}} : memref<8x64x64xbf16>, %{{.+}} : memref<9xi32>, %{{.+}} : memref<128x32xbf16>)
// UNFUSED:         gpu.launch_func @tessera_kernels::@moe_mma1 {{.*}} args(%{{.+}} : memref<128x32xbf16>, %{{.+}} : memref<8x32x64xbf16>, %{{.+}} : memref<9xi32>, %{{.+}} : memref<128x64xbf16>)
// FUSED-LABEL:   func.func @moe
// FUSED-SAME:      (%[[X:.+]]: memref<64x64xbf16>,
// FUSED:           gpu.launch_func @tessera_kernels::@moe_mma0 {{.*}} args(%[[X]] : memref<64x64xbf16>, %{{.+}} : memref<8x64x64xbf16>, %{{.+}} : memref<9xi32>, %{{.+}} : memref<128xi32>, %{{.+}} : memref<128x32xbf16>)
// FUSED:           gpu.launch_func @tessera_kernels::@moe_mma1 {{.*}} args(%{{.+}} : memref<128x32xbf16>, %{{.+}} : memref<8x32x64xbf16>, %{{.+}} : memref<9xi32>, %{{.+}} : memref<128xf32>, %{{.+}} : memref<128x64xbf16>)
func.func @moe(%x: tensor<64x64xbf16>, %g: tensor<8x64xbf16>, %up: tensor<8x64x64xbf16>, %down: tensor<8x32x64xbf16>) -> tensor<64x64xbf16> {
  %y = tessera.moe %x, %g, %up, %down {top_k = 2 : i64}
      : (tensor<64x64xbf16>, tensor<8x64xbf16>, tensor<8x64x64xbf16>, tensor<8x32x64xbf16>) -> tensor<64x64xbf16>
  return %y : tensor<64x64xbf16>
}
