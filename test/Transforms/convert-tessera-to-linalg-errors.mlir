// RUN: tessera-opt %s --convert-tessera-to-linalg --split-input-file -verify-diagnostics

// The MoE layer must be decomposed first, which needs a static E.
func.func @dynamic_experts(%x: tensor<4x16xf32>, %gate: tensor<?x16xf32>,
                           %up: tensor<?x16x32xf32>, %down: tensor<?x16x16xf32>)
    -> tensor<4x16xf32> {
  // expected-error @+1 {{cannot be decomposed: the number of experts E must be static in 'gate_w', 'w_up' or 'w_down'}}
  %y = tessera.moe %x, %gate, %up, %down {top_k = 1 : i64}
      : (tensor<4x16xf32>, tensor<?x16xf32>, tensor<?x16x32xf32>,
         tensor<?x16x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
