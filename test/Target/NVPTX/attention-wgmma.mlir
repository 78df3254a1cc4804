// Attention on sm_90a with tensor-core-attention-wgmma=true (D 128, causal
// GQA): 8 warps of 16 rows a block, and each warpgroup's scores are 8
// wgmma m64n64k16 (128 columns, 64 keys) from descriptors of swizzled
// shared memory, behind the async-proxy fence of the copies, waited for
// before the softmax; P.V stays mma.sync on ldmatrix of the padded V tile.
// Without the option, and on sm_90 (no wgmma), the kernel uses ldmatrix
// and mma.sync only.
// RUN: tessera-compile %s --target=nvptx --chip=sm_90a --pipeline-options=tensor-core-attention-wgmma=true --emit=ptx -o %t.ptx
// RUN: FileCheck %s < %t.ptx
// RUN: FileCheck %s --check-prefix=PV < %t.ptx
// With tensor-core-wgmma-values=true P.V is 4 wgmma m64n128k16 too, B
// MN-major, from P stored to shared memory: no ldmatrix at all.
// RUN: tessera-compile %s --target=nvptx --chip=sm_90a --pipeline-options="tensor-core-attention-wgmma=true tensor-core-wgmma-values=true" --emit=ptx -o %t.values.ptx
// RUN: FileCheck %s --check-prefix=VALUES < %t.values.ptx
// RUN: grep -c "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16" %t.values.ptx | FileCheck %s --check-prefix=EIGHT
// RUN: grep -c "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16" %t.values.ptx | FileCheck %s --check-prefix=FOUR
// RUN: not grep -E "ldmatrix|mma.sync.aligned.m16n8k16" %t.values.ptx
// RUN: tessera-compile %s --target=nvptx --chip=sm_90a --emit=ptx -o - | FileCheck %s --check-prefix=MMA
// RUN: tessera-compile %s --target=nvptx --chip=sm_90 --pipeline-options=tensor-core-attention-wgmma=true --emit=ptx -o - | FileCheck %s --check-prefix=MMA

// CHECK: .target sm_90a
// CHECK: .entry attention_flash0(
// CHECK: .maxntid 256, 1, 1
// CHECK: cp.async.wait_group 1;
// CHECK-NEXT: fence.proxy.async.shared::cta;
// CHECK-NEXT: bar.sync 0;
// CHECK: wgmma.fence.sync.aligned;
// CHECK-COUNT-8: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// CHECK-NOT: wgmma.mma_async
// CHECK: wgmma.commit_group.sync.aligned;
// CHECK-NEXT: wgmma.wait_group.sync.aligned 0;
// The softmax and P.V, wherever LLVM lays out their blocks:
// PV-DAG: ex2.approx.ftz.f32
// PV-DAG: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// PV-DAG: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// P's 16 stores a thread, fenced, then the barrier before P.V:
// VALUES: .entry attention_flash0(
// VALUES-COUNT-16: st.shared.b32
// VALUES-NEXT: fence.proxy.async.shared::cta;
// VALUES-NEXT: bar.sync 0;
// VALUES-NEXT: wgmma.fence.sync.aligned;
// EIGHT: {{^8$}}
// FOUR: {{^4$}}
// MMA-NOT: wgmma
// MMA-NOT: fence.proxy.async
// MMA: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// MMA-NOT: wgmma
func.func @attention(%q: tensor<1x8x200x128xbf16>, %k: tensor<1x2x200x128xbf16>,
                     %v: tensor<1x2x200x128xbf16>) -> tensor<1x8x200x128xbf16> {
  %o = tessera.attention %q, %k, %v {causal = true}
      : (tensor<1x8x200x128xbf16>, tensor<1x2x200x128xbf16>,
         tensor<1x2x200x128xbf16>) -> tensor<1x8x200x128xbf16>
  return %o : tensor<1x8x200x128xbf16>
}
