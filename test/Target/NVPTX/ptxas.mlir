// REQUIRES: ptxas
// Every chip's PTX assembles, math (libdevice) included, tensor-core
// kernels too; cubin and the default artifact are ELF.
// RUN: tessera-compile %s --target=nvptx --chip=sm_80 --emit=ptx -o %t.sm80.ptx
// RUN: %ptxas -arch=sm_80 %t.sm80.ptx -o %t.sm80.cubin
// RUN: tessera-compile %s --target=nvptx --chip=sm_90 --emit=ptx -o %t.sm90.ptx
// RUN: %ptxas -arch=sm_90 %t.sm90.ptx -o %t.sm90.cubin
// RUN: tessera-compile %s --target=nvptx --chip=sm_90a --emit=ptx -o %t.sm90a.ptx
// RUN: %ptxas -arch=sm_90a %t.sm90a.ptx -o %t.sm90a.cubin
// RUN: FileCheck %s --check-prefix=PTX < %t.sm90a.ptx
// The tensor-core kernels (cp.async, ldmatrix, mma.sync, wgmma) assemble
// too, and ptxas keeps the wgmma asynchronous (it warns when it has to
// serialize them, e.g. for accumulators touched while in flight).
// RUN: tessera-compile %S/tensor-cores.mlir --target=nvptx --chip=sm_80 --emit=ptx -o %t.tc80.ptx
// RUN: %ptxas -arch=sm_80 %t.tc80.ptx -o %t.tc80.cubin
// RUN: tessera-compile %S/tensor-cores.mlir --target=nvptx --chip=sm_90a --emit=ptx -o %t.tc90a.ptx
// RUN: %ptxas -arch=sm_90a %t.tc90a.ptx -o %t.tc90a.cubin 2>&1 | FileCheck %s --allow-empty --check-prefix=ASYNC
// RUN: tessera-compile %S/tensor-cores.mlir --target=nvptx --chip=sm_90a --pipeline-options=tensor-core-wgmma-tile-m=192 --emit=ptx -o %t.tc90a192.ptx
// RUN: %ptxas -arch=sm_90a %t.tc90a192.ptx -o %t.tc90a192.cubin 2>&1 | FileCheck %s --allow-empty --check-prefix=ASYNC
// RUN: tessera-compile %S/latent-wgmma.mlir --target=nvptx --chip=sm_90a --pipeline-options=tensor-core-latent-wgmma=true --emit=ptx -o %t.mla90a.ptx
// RUN: %ptxas -arch=sm_90a %t.mla90a.ptx -o %t.mla90a.cubin 2>&1 | FileCheck %s --allow-empty --check-prefix=ASYNC
// RUN: tessera-compile %S/attention-wgmma.mlir --target=nvptx --chip=sm_90a --pipeline-options=tensor-core-attention-wgmma=true --emit=ptx -o %t.attn90a.ptx
// RUN: %ptxas -arch=sm_90a %t.attn90a.ptx -o %t.attn90a.cubin 2>&1 | FileCheck %s --allow-empty --check-prefix=ASYNC
// RUN: tessera-compile %S/attention-wgmma.mlir --target=nvptx --chip=sm_90a --pipeline-options="tensor-core-attention-wgmma=true tensor-core-wgmma-values=true" --emit=ptx -o %t.attnv90a.ptx
// RUN: %ptxas -arch=sm_90a %t.attnv90a.ptx -o %t.attnv90a.cubin 2>&1 | FileCheck %s --allow-empty --check-prefix=ASYNC
// RUN: tessera-compile %S/latent-wgmma.mlir --target=nvptx --chip=sm_90a --pipeline-options="tensor-core-latent-wgmma=true tensor-core-wgmma-values=true" --emit=ptx -o %t.mlav90a.ptx
// RUN: %ptxas -arch=sm_90a %t.mlav90a.ptx -o %t.mlav90a.cubin 2>&1 | FileCheck %s --allow-empty --check-prefix=ASYNC
// RUN: tessera-compile %s --target=nvptx --emit=cubin -o %t.cubin
// RUN: llvm-readelf -h %t.cubin | FileCheck %s --check-prefix=CUBIN
// RUN: tessera-compile %s --target=nvptx --emit=artifact -o %t.tgpu
// RUN: FileCheck %s --check-prefix=ARTIFACT < %t.tgpu

// PTX: .target sm_90a
// PTX-NOT: .extern .func __nv_
// PTX: ex2.approx
// ASYNC-NOT: wgmma
// CUBIN: Machine: {{.*}}CUDA
// ARTIFACT: image cubin
func.func @attention(%q: tensor<1x4x16x8xbf16>, %k: tensor<1x2x16x8xbf16>, %v: tensor<1x2x16x8xbf16>)
    -> tensor<1x4x16x8xbf16> {
  %o = tessera.attention %q, %k, %v {causal = true}
      : (tensor<1x4x16x8xbf16>, tensor<1x2x16x8xbf16>, tensor<1x2x16x8xbf16>) -> tensor<1x4x16x8xbf16>
  return %o : tensor<1x4x16x8xbf16>
}
