// The CPU pipeline takes every tessera op to the LLVM dialect: no op of
// tessera, linalg, tensor, memref, scf or cf is left. (Names of tessera ops
// remain in the messages of the run-time shape checks.)
// RUN: tessera-opt %s --tessera-cpu-pipeline \
// RUN:   | FileCheck %s --implicit-check-not=" tessera." --implicit-check-not=linalg. \
// RUN:       --implicit-check-not=tensor. --implicit-check-not=memref. \
// RUN:       --implicit-check-not=scf. --implicit-check-not=" cf." \
// RUN:       --implicit-check-not=arith. --implicit-check-not=math.
// RUN: tessera-opt %s --pass-pipeline="builtin.module(tessera-cpu-pipeline)" | FileCheck %s

// CHECK-LABEL: llvm.func @attention
// CHECK: llvm.call @malloc
// CHECK: llvm.intr.fma
// CHECK: llvm.return
func.func @attention(%q: tensor<1x4x8x16xbf16>, %k: tensor<1x2x8x16xbf16>,
                     %v: tensor<1x2x8x16xbf16>, %lens: tensor<1xi32>)
    -> (tensor<1x4x8x16xbf16>, tensor<1x4x8xf32>) {
  %o, %lse = tessera.attention %q, %k, %v kv_lens %lens {causal = true, window = 4 : i64, softcap = 30.0 : f32}
      : (tensor<1x4x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1xi32>)
      -> (tensor<1x4x8x16xbf16>, tensor<1x4x8xf32>)
  return %o, %lse : tensor<1x4x8x16xbf16>, tensor<1x4x8xf32>
}

// The batch and the key count are dynamic: a check comes with the function.
// CHECK-LABEL: llvm.func @latent
// CHECK-LABEL: llvm.func @latent_shape_check(
// CHECK-SAME:    -> !llvm.ptr
// CHECK:         llvm.mlir.addressof @__tessera_shape_check_message_
// CHECK:         llvm.return
func.func @latent(%q: tensor<?x4x1x40xf16>, %kv: tensor<?x?x40xf16>) -> tensor<?x4x1x32xf16> {
  %o = tessera.latent_attention %q, %kv {latent_dim = 32 : i64}
      : (tensor<?x4x1x40xf16>, tensor<?x?x40xf16>) -> tensor<?x4x1x32xf16>
  return %o : tensor<?x4x1x32xf16>
}

// CHECK-LABEL: llvm.func @moe
// CHECK: llvm.return
func.func @moe(%x: tensor<?x16xf32>, %g: tensor<4x16xf32>, %u: tensor<4x16x16xf32>,
               %d: tensor<4x8x16xf32>, %b: tensor<4xf32>, %su: tensor<16x16xf32>,
               %sd: tensor<8x16xf32>) -> tensor<?x16xf32> {
  %y = tessera.moe %x, %g, %u, %d bias %b shared %su, %sd
      {top_k = 2 : i64, scoring = #tessera.scoring<sigmoid>, n_group = 2 : i64,
       topk_group = 1 : i64, normalize = true, block = 4 : i64}
      : (tensor<?x16xf32>, tensor<4x16xf32>, tensor<4x16x16xf32>, tensor<4x8x16xf32>,
         tensor<4xf32>, tensor<16x16xf32>, tensor<8x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
