// Grouped GEMMs and attention of f16/bf16 operands run on the tensor cores
// from sm_80 on:
// cp.async copies into shared memory, ldmatrix (transposed for the K-major
// weights or V), mma.sync m16n8k16 with f32 accumulators; on sm_90a grouped
// GEMMs with K a multiple of 64 use wgmma from swizzled shared memory.
// Older chips and `tensor-cores=false` keep the scalar kernels.
// RUN: tessera-compile %s --target=nvptx --chip=sm_80 --emit=ptx -o - | FileCheck %s --check-prefixes=PTX,MMA,SM80
// RUN: tessera-compile %s --target=nvptx --chip=sm_90 --emit=ptx -o - | FileCheck %s --check-prefixes=PTX,MMA,SM90
// RUN: tessera-compile %s --target=nvptx --chip=sm_90a --emit=ptx -o - | FileCheck %s --check-prefixes=PTX,WGMMA,SM90A
// RUN: tessera-compile %s --target=nvptx --chip=sm_75 --emit=ptx -o - | FileCheck %s --check-prefix=SCALAR
// RUN: tessera-compile %s --target=nvptx --pipeline-options=tensor-cores=false --emit=ptx -o - | FileCheck %s --check-prefix=SCALAR

// SM80: .target sm_80
// SM90: .target sm_90
// SM90A: .target sm_90a
// Dynamic shared memory is an extern array (not demoted into the kernel),
// aligned for the 1024-byte pattern of the 128-byte swizzle.
// PTX: .extern .shared .align 1024 .b8 __dynamic_shmem__0[];
// PTX-LABEL: .entry bf16_mma0(
// PTX: .maxntid 256, 1, 1
// PTX: .minnctapersm 1
// PTX: cp.async.cg.shared.global [{{.*}}], [{{.*}}], 16;
// PTX: cp.async.commit_group;
// PTX: cp.async.wait_group 2;
// MMA-NEXT: bar.sync 0;
// MMA: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// MMA: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// MMA: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// wgmma: 128 accumulators a thread, the descriptors (64-bit registers),
// scale-d from a predicate, no transpose of the rows (K-major), transposed
// weights (N-major).
// WGMMA-NEXT: fence.proxy.async.shared::cta;
// WGMMA-NEXT: bar.sync 0;
// WGMMA: wgmma.fence.sync.aligned;
// WGMMA: wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 {[[ACC:(%r[0-9]+, ){127}%r[0-9]+]]}, %rd{{[0-9]+}}, %rd{{[0-9]+}}, p, 1, 1, 0, 1;
// WGMMA-COUNT-3: wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 {[[ACC]]}
// WGMMA: wgmma.commit_group.sync.aligned;
// WGMMA: cp.async.commit_group;
// WGMMA: wgmma.wait_group.sync.aligned 0;
// WGMMA-NOT: ldmatrix
// WGMMA-NOT: mma.sync
// PTX-LABEL: .entry f16_mma0(
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// A gathered left operand: each copy of a row chunk reads 16 bytes, or 0
// (cp.async fills zeros) for an index outside the table.
// PTX-LABEL: .entry gathered_mma0(
// PTX: selp.b32 [[READ:%r[0-9]+]], 16, 0, %p{{[0-9]+}};
// PTX: cp.async.cg.shared.global [{{.*}}], [{{.*}}], 16, [[READ]];
// Flash attention: Q, K and V tiles by cp.async, the scores' row maxes over
// 4 lanes, ex2.approx, ldmatrix without (K) and with (V) transpose.
// PTX-LABEL: .entry attention_flash0(
// PTX: .maxntid 128, 1, 1
// (The blocks' order is the back end's.)
// PTX-DAG: cp.async.cg.shared.global [{{.*}}], [{{.*}}], 16;
// PTX-DAG: cp.async.wait_group 1;
// PTX-DAG: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX-DAG: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX-DAG: shfl.sync.bfly.b32
// PTX-DAG: ex2.approx.ftz.f32
// PTX-DAG: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// PTX-DAG: lg2.approx.f32

// SCALAR-NOT: mma.sync
// SCALAR-NOT: ldmatrix
// SCALAR-NOT: cp.async
func.func @bf16(%x: tensor<256x64xbf16>, %w: tensor<4x64x136xbf16>, %o: tensor<5xi32>)
    -> tensor<256x136xbf16> {
  %y = tessera.grouped_matmul %x, %w, %o
      : (tensor<256x64xbf16>, tensor<4x64x136xbf16>, tensor<5xi32>) -> tensor<256x136xbf16>
  return %y : tensor<256x136xbf16>
}

func.func @f16(%x: tensor<40x32xf16>, %w: tensor<3x32x16xf16>, %o: tensor<4xi32>)
    -> tensor<40x16xf16> {
  %y = tessera.grouped_matmul %x, %w, %o
      : (tensor<40x32xf16>, tensor<3x32x16xf16>, tensor<4xi32>) -> tensor<40x16xf16>
  return %y : tensor<40x16xf16>
}

func.func @attention(%q: tensor<1x2x80x64xbf16>, %k: tensor<1x1x96x64xbf16>,
                     %v: tensor<1x1x96x64xbf16>)
    -> (tensor<1x2x80x64xbf16>, tensor<1x2x80xf32>) {
  %o, %lse = tessera.attention %q, %k, %v {causal = true}
      : (tensor<1x2x80x64xbf16>, tensor<1x1x96x64xbf16>, tensor<1x1x96x64xbf16>)
      -> (tensor<1x2x80x64xbf16>, tensor<1x2x80xf32>)
  return %o, %lse : tensor<1x2x80x64xbf16>, tensor<1x2x80xf32>
}

func.func @gathered(%x: tensor<20x64xbf16>, %w: tensor<3x64x32xbf16>, %o: tensor<4xi32>,
                    %g: tensor<40xi32>) -> tensor<40x32xbf16> {
  %y = tessera.grouped_matmul %x, %w, %o gather %g
      : (tensor<20x64xbf16>, tensor<3x64x32xbf16>, tensor<4xi32>, tensor<40xi32>) -> tensor<40x32xbf16>
  return %y : tensor<40x32xbf16>
}
