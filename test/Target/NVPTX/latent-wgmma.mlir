// Latent attention on sm_90a with tensor-core-latent-wgmma=true: the
// scores are 36 wgmma m64n32k16 (576 columns, 32 keys) from descriptors of
// swizzled shared memory, behind the async-proxy fence of the copies, and
// waited for before the softmax; P.V stays mma.sync. Without the option,
// and on sm_90 (no wgmma), the kernel uses ldmatrix and mma.sync only.
// RUN: tessera-compile %s --target=nvptx --chip=sm_90a --pipeline-options=tensor-core-latent-wgmma=true --emit=ptx -o %t.ptx
// RUN: FileCheck %s < %t.ptx
// RUN: FileCheck %s --check-prefix=PV < %t.ptx
// RUN: tessera-compile %s --target=nvptx --chip=sm_90a --emit=ptx -o - | FileCheck %s --check-prefix=MMA
// RUN: tessera-compile %s --target=nvptx --chip=sm_90 --pipeline-options=tensor-core-latent-wgmma=true --emit=ptx -o - | FileCheck %s --check-prefix=MMA

// CHECK: .target sm_90a
// CHECK: .entry mla_mla0(
// CHECK: cp.async.wait_group 0;
// CHECK-NEXT: fence.proxy.async.shared::cta;
// CHECK-NEXT: bar.sync 0;
// CHECK: wgmma.fence.sync.aligned;
// CHECK-COUNT-36: wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16
// CHECK-NOT: wgmma.mma_async
// CHECK: wgmma.commit_group.sync.aligned;
// CHECK-NEXT: wgmma.wait_group.sync.aligned 0;
// The softmax and P.V, wherever LLVM lays out their blocks:
// PV-DAG: ex2.approx.ftz.f32
// PV-DAG: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// PV-DAG: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// MMA-NOT: wgmma
// MMA-NOT: fence.proxy.async
// MMA: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// MMA-NOT: wgmma
func.func @mla(%q: tensor<2x64x1x576xbf16>, %kv: tensor<2x100x576xbf16>,
               %lens: tensor<2xi32>) -> tensor<2x64x1x512xbf16> {
  %o = tessera.latent_attention %q, %kv kv_lens %lens {latent_dim = 512 : i64}
      : (tensor<2x64x1x576xbf16>, tensor<2x100x576xbf16>, tensor<2xi32>)
      -> tensor<2x64x1x512xbf16>
  return %o : tensor<2x64x1x512xbf16>
}
