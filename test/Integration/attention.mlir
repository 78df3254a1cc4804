// Execution of tessera.attention on the CPU (GQA, causal with Sq != Skv,
// windows, kv_lens, softcap, bias, fully masked rows, f16/bf16, dynamic),
// compared with the independent numpy reference (reference.py) or with
// hand-computed values (each case is documented in check.py).
//
// RUN: %check %s %t attention_mha
// RUN: %check %s %t attention_gqa_causal
// RUN: %check %s %t attention_causal_more_queries
// RUN: %check %s %t attention_window
// RUN: %check %s %t attention_kv_lens
// RUN: %check %s %t attention_bias_softcap
// RUN: %check %s %t attention_mqa_decode_f16
// RUN: %check %s %t attention_bf16
// RUN: %check %s %t attention_dynamic
// RUN: %check %s %t attention_hand

func.func @attention_mha(%q: tensor<2x2x5x8xf32>, %k: tensor<2x2x7x8xf32>, %v: tensor<2x2x7x6xf32>)
    -> (tensor<2x2x5x6xf32>, tensor<2x2x5xf32>) {
  %o, %lse = tessera.attention %q, %k, %v
      : (tensor<2x2x5x8xf32>, tensor<2x2x7x8xf32>, tensor<2x2x7x6xf32>)
      -> (tensor<2x2x5x6xf32>, tensor<2x2x5xf32>)
  return %o, %lse : tensor<2x2x5x6xf32>, tensor<2x2x5xf32>
}

func.func @attention_gqa_causal(%q: tensor<1x8x5x16xf32>, %k: tensor<1x2x9x16xf32>, %v: tensor<1x2x9x16xf32>)
    -> (tensor<1x8x5x16xf32>, tensor<1x8x5xf32>) {
  %o, %lse = tessera.attention %q, %k, %v {causal = true}
      : (tensor<1x8x5x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>)
      -> (tensor<1x8x5x16xf32>, tensor<1x8x5xf32>)
  return %o, %lse : tensor<1x8x5x16xf32>, tensor<1x8x5xf32>
}

func.func @attention_causal_more_queries(%q: tensor<1x2x6x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>)
    -> (tensor<1x2x6x8xf32>, tensor<1x2x6xf32>) {
  %o, %lse = tessera.attention %q, %k, %v {causal = true}
      : (tensor<1x2x6x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
      -> (tensor<1x2x6x8xf32>, tensor<1x2x6xf32>)
  return %o, %lse : tensor<1x2x6x8xf32>, tensor<1x2x6xf32>
}

func.func @attention_window(%q: tensor<1x4x7x8xf32>, %k: tensor<1x1x10x8xf32>, %v: tensor<1x1x10x8xf32>)
    -> (tensor<1x4x7x8xf32>, tensor<1x4x7xf32>) {
  %o, %lse = tessera.attention %q, %k, %v {causal = true, window = 3 : i64}
      : (tensor<1x4x7x8xf32>, tensor<1x1x10x8xf32>, tensor<1x1x10x8xf32>)
      -> (tensor<1x4x7x8xf32>, tensor<1x4x7xf32>)
  return %o, %lse : tensor<1x4x7x8xf32>, tensor<1x4x7xf32>
}

func.func @attention_kv_lens(%q: tensor<3x4x4x8xf32>, %k: tensor<3x2x8x8xf32>, %v: tensor<3x2x8x8xf32>,
                             %lens: tensor<3xi32>) -> (tensor<3x4x4x8xf32>, tensor<3x4x4xf32>) {
  %o, %lse = tessera.attention %q, %k, %v kv_lens %lens {causal = true}
      : (tensor<3x4x4x8xf32>, tensor<3x2x8x8xf32>, tensor<3x2x8x8xf32>, tensor<3xi32>)
      -> (tensor<3x4x4x8xf32>, tensor<3x4x4xf32>)
  return %o, %lse : tensor<3x4x4x8xf32>, tensor<3x4x4xf32>
}

func.func @attention_bias_softcap(%q: tensor<2x4x5x8xf32>, %k: tensor<2x2x6x8xf32>, %v: tensor<2x2x6x8xf32>,
                                  %bias: tensor<1x4x5x6xf32>) -> (tensor<2x4x5x8xf32>, tensor<2x4x5xf32>) {
  %o, %lse = tessera.attention %q, %k, %v bias %bias {scale = 0.5 : f32, softcap = 2.0 : f32}
      : (tensor<2x4x5x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>, tensor<1x4x5x6xf32>)
      -> (tensor<2x4x5x8xf32>, tensor<2x4x5xf32>)
  return %o, %lse : tensor<2x4x5x8xf32>, tensor<2x4x5xf32>
}

func.func @attention_mqa_decode_f16(%q: tensor<2x8x1x16xf16>, %k: tensor<2x1x33x16xf16>, %v: tensor<2x1x33x16xf16>,
                                    %lens: tensor<2xi32>) -> tensor<2x8x1x16xf16> {
  %o = tessera.attention %q, %k, %v kv_lens %lens
      : (tensor<2x8x1x16xf16>, tensor<2x1x33x16xf16>, tensor<2x1x33x16xf16>, tensor<2xi32>)
      -> tensor<2x8x1x16xf16>
  return %o : tensor<2x8x1x16xf16>
}

func.func @attention_bf16(%q: tensor<1x4x6x16xbf16>, %k: tensor<1x2x6x16xbf16>, %v: tensor<1x2x6x16xbf16>)
    -> tensor<1x4x6x16xbf16> {
  %o = tessera.attention %q, %k, %v {causal = true}
      : (tensor<1x4x6x16xbf16>, tensor<1x2x6x16xbf16>, tensor<1x2x6x16xbf16>) -> tensor<1x4x6x16xbf16>
  return %o : tensor<1x4x6x16xbf16>
}

func.func @attention_dynamic(%q: tensor<?x4x?x8xf32>, %k: tensor<?x2x?x8xf32>, %v: tensor<?x2x?x8xf32>)
    -> tensor<?x4x?x8xf32> {
  %o = tessera.attention %q, %k, %v {causal = true, window = 5 : i64}
      : (tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> tensor<?x4x?x8xf32>
  return %o : tensor<?x4x?x8xf32>
}

func.func @attention_hand(%q: tensor<1x1x1x2xf32>, %k: tensor<1x1x2x2xf32>, %v: tensor<1x1x2x1xf32>)
    -> (tensor<1x1x1x1xf32>, tensor<1x1x1xf32>) {
  %o, %lse = tessera.attention %q, %k, %v {scale = 1.0 : f32}
      : (tensor<1x1x1x2xf32>, tensor<1x1x2x2xf32>, tensor<1x1x2x1xf32>)
      -> (tensor<1x1x1x1xf32>, tensor<1x1x1xf32>)
  return %o, %lse : tensor<1x1x1x1xf32>, tensor<1x1x1xf32>
}
