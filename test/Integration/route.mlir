// Execution of tessera.route on the CPU (ties, groups, bias, normalize),
// compared with the independent numpy reference (reference.py) or with
// hand-computed values (each case is documented in check.py).
//
// RUN: %check %s %t route_softmax
// RUN: %check %s %t route_normalize_scale
// RUN: %check %s %t route_sigmoid_groups_ties
// RUN: %check %s %t route_ties_no_bias
// RUN: %check %s %t route_deepseek_like

func.func @route_softmax(%l: tensor<16x8xf32>) -> (tensor<16x2xf32>, tensor<16x2xi32>) {
  %w, %ids = tessera.route %l {top_k = 2 : i64}
      : (tensor<16x8xf32>) -> (tensor<16x2xf32>, tensor<16x2xi32>)
  return %w, %ids : tensor<16x2xf32>, tensor<16x2xi32>
}

func.func @route_normalize_scale(%l: tensor<9x60xf32>) -> (tensor<9x4xf32>, tensor<9x4xi32>) {
  %w, %ids = tessera.route %l {top_k = 4 : i64, normalize = true, scale = 1.5 : f32}
      : (tensor<9x60xf32>) -> (tensor<9x4xf32>, tensor<9x4xi32>)
  return %w, %ids : tensor<9x4xf32>, tensor<9x4xi32>
}

func.func @route_sigmoid_groups_ties(%l: tensor<2x8xf32>, %b: tensor<8xf32>)
    -> (tensor<2x3xf32>, tensor<2x3xi32>) {
  %w, %ids = tessera.route %l bias %b
      {top_k = 3 : i64, scoring = #tessera.scoring<sigmoid>, n_group = 4 : i64,
       topk_group = 2 : i64, normalize = true, scale = 3.0 : f32}
      : (tensor<2x8xf32>, tensor<8xf32>) -> (tensor<2x3xf32>, tensor<2x3xi32>)
  return %w, %ids : tensor<2x3xf32>, tensor<2x3xi32>
}

func.func @route_ties_no_bias(%l: tensor<2x6xf32>) -> (tensor<2x3xf32>, tensor<2x3xi32>) {
  %w, %ids = tessera.route %l {top_k = 3 : i64}
      : (tensor<2x6xf32>) -> (tensor<2x3xf32>, tensor<2x3xi32>)
  return %w, %ids : tensor<2x3xf32>, tensor<2x3xi32>
}

func.func @route_deepseek_like(%l: tensor<12x64xf32>, %b: tensor<64xf32>)
    -> (tensor<12x6xf32>, tensor<12x6xi32>) {
  %w, %ids = tessera.route %l bias %b
      {top_k = 6 : i64, scoring = #tessera.scoring<sigmoid>, n_group = 8 : i64,
       topk_group = 3 : i64, normalize = true, scale = 2.5 : f32}
      : (tensor<12x64xf32>, tensor<64xf32>) -> (tensor<12x6xf32>, tensor<12x6xi32>)
  return %w, %ids : tensor<12x6xf32>, tensor<12x6xi32>
}
