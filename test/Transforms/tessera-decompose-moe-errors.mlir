// RUN: tessera-opt %s --tessera-decompose-moe --split-input-file -verify-diagnostics

func.func @dynamic_experts(%x: tensor<16x64xf32>, %gate: tensor<?x64xf32>,
                           %up: tensor<?x64x64xf32>, %down: tensor<?x32x64xf32>)
    -> tensor<16x64xf32> {
  // expected-error @+1 {{cannot be decomposed: the number of experts E must be static in 'gate_w', 'w_up' or 'w_down'}}
  %y = tessera.moe %x, %gate, %up, %down {top_k = 2 : i64}
      : (tensor<16x64xf32>, tensor<?x64xf32>, tensor<?x64x64xf32>,
         tensor<?x32x64xf32>) -> tensor<16x64xf32>
  return %y : tensor<16x64xf32>
}
