// RUN: tessera-opt %s --convert-tessera-to-linalg --split-input-file | FileCheck %s

// Plain multi-head attention: q·kᵀ contracted over d, scaled by 1/sqrt(16),
// max-subtracted softmax over keys, then p·v normalized by the row sum.

// CHECK-DAG: #[[$MHA_Q:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-DAG: #[[$MHA_KV:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>
// CHECK-DAG: #[[$MHA_S:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$MHA_ID:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$MHA_ROW:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @mha(
// CHECK-SAME: %[[Q:[a-zA-Z0-9_]+]]: tensor<2x4x8x16xf32>, %[[K:[a-zA-Z0-9_]+]]: tensor<2x4x8x16xf32>, %[[V:[a-zA-Z0-9_]+]]: tensor<2x4x8x16xf32>)
// CHECK-DAG: %[[NEG_INF:.+]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[SCALE:.+]] = arith.constant 2.500000e-01 : f32
// CHECK-DAG: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[S_INIT:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.+}} : tensor<2x4x8x8xf32>)
// CHECK: %[[QK:.+]] = linalg.generic {indexing_maps = [#[[$MHA_Q]], #[[$MHA_KV]], #[[$MHA_S]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[Q]], %[[K]] : {{.+}}) outs(%[[S_INIT]] : tensor<2x4x8x8xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[S:.+]] = linalg.generic {{.+}} ins(%[[QK]] : tensor<2x4x8x8xf32>)
// CHECK: arith.mulf %{{.+}}, %[[SCALE]] : f32
// CHECK-NOT: arith.select
// CHECK: linalg.yield
// CHECK: %[[M_INIT:.+]] = linalg.fill ins(%[[NEG_INF]] : f32) outs(%{{.+}} : tensor<2x4x8xf32>)
// CHECK: %[[M:.+]] = linalg.generic {indexing_maps = [#[[$MHA_ID]], #[[$MHA_ROW]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[S]] : tensor<2x4x8x8xf32>) outs(%[[M_INIT]] : tensor<2x4x8xf32>)
// CHECK: arith.maximumf
// CHECK: %[[P:.+]] = linalg.generic {{.+}} ins(%[[S]], %[[M]] :
// CHECK: %[[DIFF:.+]] = arith.subf
// CHECK: %[[EXP:.+]] = math.exp %[[DIFF]] : f32
// CHECK: %[[ROW_MASKED:.+]] = arith.cmpf oeq, %{{.+}}, %[[NEG_INF]] : f32
// CHECK: arith.select %[[ROW_MASKED]], %[[ZERO]], %[[EXP]] : f32
// CHECK: %[[L:.+]] = linalg.generic {indexing_maps = [#[[$MHA_ID]], #[[$MHA_ROW]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[P]] : tensor<2x4x8x8xf32>)
// CHECK: arith.addf
// CHECK: %[[PV:.+]] = linalg.generic {indexing_maps = [#[[$MHA_S]], #[[$MHA_KV]], #[[$MHA_Q]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[P]], %[[V]] : {{.+}}) outs(%{{.+}} : tensor<2x4x8x16xf32>)
// CHECK: %[[OUT:.+]] = linalg.generic {{.+}} ins(%[[PV]], %[[L]] :
// CHECK: ^bb0(%[[O:.+]]: f32, %[[SUM:.+]]: f32, %{{.+}}: f32):
// CHECK: %[[NO_KEY:.+]] = arith.cmpf oeq, %[[SUM]], %[[ZERO]] : f32
// CHECK: %[[DIV:.+]] = arith.divf %[[O]], %[[SUM]] : f32
// CHECK: arith.select %[[NO_KEY]], %[[ZERO]], %[[DIV]] : f32
// CHECK: return %[[OUT]] : tensor<2x4x8x16xf32>
func.func @mha(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>,
               %v: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  %0 = tessera.attention %q, %k, %v
      : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>)
      -> tensor<2x4x8x16xf32>
  return %0 : tensor<2x4x8x16xf32>
}

// -----

// Grouped-query attention, 8 query heads over 2 KV heads: K and V are read
// through the index map h floordiv 4, never copied.

// CHECK-DAG: #[[$GQA_KV:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 4, d3, d4)>
// CHECK-LABEL: func.func @gqa(
// CHECK-SAME: %[[Q:[a-zA-Z0-9_]+]]: tensor<1x8x4x16xf32>, %[[K:[a-zA-Z0-9_]+]]: tensor<1x2x6x16xf32>, %[[V:[a-zA-Z0-9_]+]]: tensor<1x2x6x32xf32>)
// CHECK-NOT: tensor.extract
// CHECK: linalg.generic {indexing_maps = [#{{[^,]+}}, #[[$GQA_KV]], #{{[^,]+}}]
// CHECK-SAME: ins(%[[Q]], %[[K]] : tensor<1x8x4x16xf32>, tensor<1x2x6x16xf32>) outs(%{{.+}} : tensor<1x8x4x6xf32>)
// CHECK: linalg.generic {indexing_maps = [#{{[^,]+}}, #[[$GQA_KV]], #{{[^,]+}}]
// CHECK-SAME: ins(%{{.+}}, %[[V]] : tensor<1x8x4x6xf32>, tensor<1x2x6x32xf32>) outs(%{{.+}} : tensor<1x8x4x32xf32>)
// CHECK-NOT: tensor.extract
// CHECK: return
func.func @gqa(%q: tensor<1x8x4x16xf32>, %k: tensor<1x2x6x16xf32>,
               %v: tensor<1x2x6x32xf32>) -> tensor<1x8x4x32xf32> {
  %0 = tessera.attention %q, %k, %v
      : (tensor<1x8x4x16xf32>, tensor<1x2x6x16xf32>, tensor<1x2x6x32xf32>)
      -> tensor<1x8x4x32xf32>
  return %0 : tensor<1x8x4x32xf32>
}

// -----

// Causal, sliding window and per-batch KV lengths, bottom-right aligned:
// with Skv_eff = kv_lens[b] and diag = i + Skv_eff - Sq, key j is visible iff
// j < Skv_eff, j <= diag and j > diag - window; masked scores become -inf.

// CHECK-DAG: #[[$MASK_ID:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$MASK_LENS:.+]] = affine_map<(d0, d1, d2, d3) -> (d0)>
// CHECK-LABEL: func.func @masks(
// CHECK-SAME: %[[LENS:[a-zA-Z0-9_]+]]: tensor<2xi32>)
// CHECK-DAG: %[[NEG_INF:.+]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[WINDOW:.+]] = arith.constant 3 : index
// CHECK-DAG: %[[SQ:.+]] = arith.constant 4 : index
// CHECK: linalg.generic {indexing_maps = [#[[$MASK_ID]], #[[$MASK_LENS]], #[[$MASK_ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%{{.+}}, %[[LENS]] : tensor<2x2x4x6xf32>, tensor<2xi32>)
// CHECK-NEXT: ^bb0(%[[RAW:.+]]: f32, %[[LEN:.+]]: i32, %{{.+}}: f32):
// CHECK: %[[SCALED:.+]] = arith.mulf %[[RAW]]
// CHECK: %[[EFF:.+]] = arith.index_cast %[[LEN]] : i32 to index
// CHECK: %[[I:.+]] = linalg.index 2 : index
// CHECK: %[[J:.+]] = linalg.index 3 : index
// CHECK: %[[IN_LEN:.+]] = arith.cmpi slt, %[[J]], %[[EFF]] : index
// CHECK: %[[SHIFTED:.+]] = arith.addi %[[I]], %[[EFF]] : index
// CHECK: %[[DIAG:.+]] = arith.subi %[[SHIFTED]], %[[SQ]] : index
// CHECK: %[[CAUSAL:.+]] = arith.cmpi sle, %[[J]], %[[DIAG]] : index
// CHECK: %[[START:.+]] = arith.subi %[[DIAG]], %[[WINDOW]] : index
// CHECK: %[[IN_WINDOW:.+]] = arith.cmpi sgt, %[[J]], %[[START]] : index
// CHECK: %[[BOTH:.+]] = arith.andi %[[IN_LEN]], %[[CAUSAL]] : i1
// CHECK: %[[VISIBLE:.+]] = arith.andi %[[BOTH]], %[[IN_WINDOW]] : i1
// CHECK: %[[MASKED:.+]] = arith.select %[[VISIBLE]], %[[SCALED]], %[[NEG_INF]] : f32
// CHECK: linalg.yield %[[MASKED]] : f32
// CHECK: arith.maximumf
func.func @masks(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x6x8xf32>,
                 %v: tensor<2x2x6x8xf32>, %lens: tensor<2xi32>)
    -> tensor<2x2x4x8xf32> {
  %0 = tessera.attention %q, %k, %v kv_lens %lens
      {causal = true, window = 3 : i64}
      : (tensor<2x2x4x8xf32>, tensor<2x2x6x8xf32>, tensor<2x2x6x8xf32>,
         tensor<2xi32>) -> tensor<2x2x4x8xf32>
  return %0 : tensor<2x2x4x8xf32>
}

// -----

// An f16 bias of batch size 1 broadcasts over the batch (constant 0 in its
// indexing map) and is added, in f32, to the scaled scores.

// CHECK-DAG: #[[$BIAS_ID:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$BIAS_MAP:.+]] = affine_map<(d0, d1, d2, d3) -> (0, d1, d2, d3)>
// CHECK-LABEL: func.func @bias(
// CHECK-SAME: %[[BIAS:[a-zA-Z0-9_]+]]: tensor<1x4x8x8xf16>)
// CHECK-DAG: %[[SCALE:.+]] = arith.constant 1.250000e-01 : f32
// CHECK: linalg.generic {indexing_maps = [#[[$BIAS_ID]], #[[$BIAS_MAP]], #[[$BIAS_ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%{{.+}}, %[[BIAS]] : tensor<2x4x8x8xf32>, tensor<1x4x8x8xf16>)
// CHECK-NEXT: ^bb0(%[[RAW:.+]]: f32, %[[B:.+]]: f16, %{{.+}}: f32):
// CHECK-NEXT: %[[SCALED:.+]] = arith.mulf %[[RAW]], %[[SCALE]] : f32
// CHECK-NEXT: %[[B32:.+]] = arith.extf %[[B]] : f16 to f32
// CHECK-NEXT: %[[SUM:.+]] = arith.addf %[[SCALED]], %[[B32]] : f32
// CHECK-NEXT: linalg.yield %[[SUM]] : f32
func.func @bias(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>,
                %v: tensor<2x4x8x16xf32>, %bias: tensor<1x4x8x8xf16>)
    -> tensor<2x4x8x16xf32> {
  %0 = tessera.attention %q, %k, %v bias %bias {scale = 0.125 : f32}
      : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>,
         tensor<1x4x8x8xf16>) -> tensor<2x4x8x16xf32>
  return %0 : tensor<2x4x8x16xf32>
}

// -----

// Softcap after scaling: s = c * tanh(s / c).

// CHECK-LABEL: func.func @softcap(
// CHECK-DAG: %[[CAP:.+]] = arith.constant 3.000000e+01 : f32
// CHECK-DAG: %[[SCALE:.+]] = arith.constant 0.353553385 : f32
// CHECK: %[[SCALED:.+]] = arith.mulf %{{.+}}, %[[SCALE]] : f32
// CHECK-NEXT: %[[DIV:.+]] = arith.divf %[[SCALED]], %[[CAP]] : f32
// CHECK-NEXT: %[[TANH:.+]] = math.tanh %[[DIV]] : f32
// CHECK-NEXT: %[[CAPPED:.+]] = arith.mulf %[[CAP]], %[[TANH]] : f32
// CHECK-NEXT: linalg.yield %[[CAPPED]] : f32
// CHECK: arith.maximumf
func.func @softcap(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>,
                   %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %0 = tessera.attention %q, %k, %v {softcap = 30.0 : f32}
      : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
      -> tensor<1x2x4x8xf32>
  return %0 : tensor<1x2x4x8xf32>
}

// -----

// The log-sum-exp result: lse = m + log(l), -inf for a row with no key.

// CHECK-DAG: #[[$LSE_ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @lse(
// CHECK-DAG: %[[NEG_INF:.+]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[M:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: %[[L:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK: arith.addf
// CHECK: %[[OUT:.+]] = linalg.generic {{.+}} ins(%{{.+}}, %[[L]] : tensor<1x2x4x8xf32>, tensor<1x2x4xf32>)
// CHECK: arith.divf
// CHECK: %[[LSE:.+]] = linalg.generic {indexing_maps = [#[[$LSE_ID]], #[[$LSE_ID]], #[[$LSE_ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[M]], %[[L]] : tensor<1x2x4xf32>, tensor<1x2x4xf32>)
// CHECK-NEXT: ^bb0(%[[MAX:.+]]: f32, %[[SUM:.+]]: f32, %{{.+}}: f32):
// CHECK-NEXT: %[[NO_KEY:.+]] = arith.cmpf oeq, %[[SUM]], %[[ZERO]] : f32
// CHECK-NEXT: %[[LOG:.+]] = math.log %[[SUM]] : f32
// CHECK-NEXT: %[[ADD:.+]] = arith.addf %[[MAX]], %[[LOG]] : f32
// CHECK-NEXT: %[[RES:.+]] = arith.select %[[NO_KEY]], %[[NEG_INF]], %[[ADD]] : f32
// CHECK-NEXT: linalg.yield %[[RES]] : f32
// CHECK: return %[[OUT]], %[[LSE]] : tensor<1x2x4x8xf32>, tensor<1x2x4xf32>
func.func @lse(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>,
               %v: tensor<1x2x4x8xf32>)
    -> (tensor<1x2x4x8xf32>, tensor<1x2x4xf32>) {
  %0, %1 = tessera.attention %q, %k, %v
      : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>)
      -> (tensor<1x2x4x8xf32>, tensor<1x2x4xf32>)
  return %0, %1 : tensor<1x2x4x8xf32>, tensor<1x2x4xf32>
}

// -----

// f16 inputs are extended to f32 inside the contractions; only the final
// output is truncated back to f16.

// CHECK-LABEL: func.func @f16(
// CHECK: linalg.generic {{.+}} ins(%{{.+}}, %{{.+}} : tensor<1x2x4x8xf16>, tensor<1x2x4x8xf16>) outs(%{{.+}} : tensor<1x2x4x4xf32>)
// CHECK-NEXT: ^bb0(%[[QE:.+]]: f16, %[[KE:.+]]: f16, %[[ACC:.+]]: f32):
// CHECK-NEXT: %[[Q32:.+]] = arith.extf %[[QE]] : f16 to f32
// CHECK-NEXT: %[[K32:.+]] = arith.extf %[[KE]] : f16 to f32
// CHECK-NEXT: %[[PROD:.+]] = arith.mulf %[[Q32]], %[[K32]] : f32
// CHECK-NEXT: arith.addf %[[ACC]], %[[PROD]] : f32
// CHECK: linalg.generic {{.+}} ins(%{{.+}}, %{{.+}} : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf16>) outs(%{{.+}} : tensor<1x2x4x8xf32>)
// CHECK-NEXT: ^bb0(%[[PE:.+]]: f32, %[[VE:.+]]: f16, %{{.+}}: f32):
// CHECK-NEXT: %[[V32:.+]] = arith.extf %[[VE]] : f16 to f32
// CHECK-NEXT: arith.mulf %[[PE]], %[[V32]] : f32
// CHECK: %[[OUT_INIT:.+]] = tensor.empty() : tensor<1x2x4x8xf16>
// CHECK: %[[OUT:.+]] = linalg.generic {{.+}} outs(%[[OUT_INIT]] : tensor<1x2x4x8xf16>)
// CHECK: %[[NORM:.+]] = arith.select
// CHECK-NEXT: %[[TRUNC:.+]] = arith.truncf %[[NORM]] : f32 to f16
// CHECK-NEXT: linalg.yield %[[TRUNC]] : f16
// CHECK: return %[[OUT]] : tensor<1x2x4x8xf16>
func.func @f16(%q: tensor<1x2x4x8xf16>, %k: tensor<1x2x4x8xf16>,
               %v: tensor<1x2x4x8xf16>) -> tensor<1x2x4x8xf16> {
  %0 = tessera.attention %q, %k, %v
      : (tensor<1x2x4x8xf16>, tensor<1x2x4x8xf16>, tensor<1x2x4x8xf16>)
      -> tensor<1x2x4x8xf16>
  return %0 : tensor<1x2x4x8xf16>
}

// -----

// Dynamic shapes: sizes come from tensor.dim, the scale is 1/sqrt(D)
// computed at run time, and with G = Hq / Hkv unknown statically K and V are
// read with tensor.extract at head h / G.

// CHECK-LABEL: func.func @dynamic(
// CHECK-SAME: %[[Q:[a-zA-Z0-9_]+]]: tensor<?x?x?x?xf32>, %[[K:[a-zA-Z0-9_]+]]: tensor<?x?x?x?xf32>, %[[V:[a-zA-Z0-9_]+]]: tensor<?x?x?x?xf32>)
// CHECK-DAG: %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.+]] = arith.constant 1 : index
// CHECK-DAG: %[[C2:.+]] = arith.constant 2 : index
// CHECK-DAG: %[[C3:.+]] = arith.constant 3 : index
// CHECK-DAG: %[[B:.+]] = tensor.dim %[[Q]], %[[C0]]
// CHECK-DAG: %[[HQ:.+]] = tensor.dim %[[Q]], %[[C1]]
// CHECK-DAG: %[[SQ:.+]] = tensor.dim %[[Q]], %[[C2]]
// CHECK-DAG: %[[D:.+]] = tensor.dim %[[Q]], %[[C3]]
// CHECK-DAG: %[[HKV:.+]] = tensor.dim %[[K]], %[[C1]]
// CHECK-DAG: %[[SKV:.+]] = tensor.dim %[[K]], %[[C2]]
// CHECK-DAG: %[[DV:.+]] = tensor.dim %[[V]], %[[C3]]
// CHECK: %[[G:.+]] = arith.divui %[[HQ]], %[[HKV]] : index
// CHECK: tensor.empty(%[[B]], %[[HQ]], %[[SQ]], %[[SKV]]) : tensor<?x?x?x?xf32>
// CHECK: linalg.generic {{.+}} ins(%[[Q]] : tensor<?x?x?x?xf32>)
// CHECK: %[[H:.+]] = linalg.index 1 : index
// CHECK: %[[KV_HEAD:.+]] = arith.divui %[[H]], %[[G]] : index
// CHECK: tensor.extract %[[K]][%{{.+}}, %[[KV_HEAD]], %{{.+}}, %{{.+}}]
// CHECK: %[[D_I64:.+]] = arith.index_cast %[[D]] : index to i64
// CHECK: %[[D_F32:.+]] = arith.uitofp %[[D_I64]] : i64 to f32
// CHECK: %[[SQRT:.+]] = math.sqrt %[[D_F32]] : f32
// CHECK: %[[SCALE:.+]] = arith.divf %[[ONE]], %[[SQRT]] : f32
// CHECK: arith.mulf %{{.+}}, %[[SCALE]] : f32
// CHECK: %[[I:.+]] = linalg.index 2 : index
// CHECK: %[[SHIFTED:.+]] = arith.addi %[[I]], %[[SKV]] : index
// CHECK: arith.subi %[[SHIFTED]], %[[SQ]] : index
// CHECK: tensor.empty(%[[B]], %[[HQ]], %[[SQ]]) : tensor<?x?x?xf32>
// CHECK: tensor.empty(%[[B]], %[[HQ]], %[[SQ]], %[[DV]]) : tensor<?x?x?x?xf32>
// CHECK: tensor.extract %[[V]]
func.func @dynamic(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>,
                   %v: tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32> {
  %0 = tessera.attention %q, %k, %v {causal = true}
      : (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>)
      -> tensor<?x?x?x?xf32>
  return %0 : tensor<?x?x?x?xf32>
}

// -----

// Latent attention becomes attention over one KV head: k is the cache viewed
// as [B, 1, Skv, L+R], v its first L columns; every query head reads KV head
// 0. The default scale is 1/sqrt(L+R) = 1/sqrt(24).

// CHECK-DAG: #[[$LAT_KV:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, 0, d3, d4)>
// CHECK-LABEL: func.func @latent(
// CHECK-SAME: %[[Q:[a-zA-Z0-9_]+]]: tensor<1x4x2x24xbf16>, %[[KV:[a-zA-Z0-9_]+]]: tensor<1x8x24xbf16>)
// CHECK-NOT: tessera.
// CHECK-DAG: %[[SCALE:.+]] = arith.constant 0.204124153 : f32
// CHECK-DAG: %[[K:.+]] = tensor.expand_shape %[[KV]] {{\[}}[0, 1], [2], [3]] output_shape [1, 1, 8, 24] : tensor<1x8x24xbf16> into tensor<1x1x8x24xbf16>
// CHECK-DAG: %[[V:.+]] = tensor.extract_slice %[[K]][0, 0, 0, 0] [1, 1, 8, 16] [1, 1, 1, 1] : tensor<1x1x8x24xbf16> to tensor<1x1x8x16xbf16>
// CHECK: linalg.generic {indexing_maps = [#{{[^,]+}}, #[[$LAT_KV]], #{{[^,]+}}]
// CHECK-SAME: ins(%[[Q]], %[[K]] : tensor<1x4x2x24xbf16>, tensor<1x1x8x24xbf16>)
// CHECK: arith.mulf %{{.+}}, %[[SCALE]] : f32
// CHECK: arith.cmpi sle
// CHECK: linalg.generic {indexing_maps = [#{{[^,]+}}, #[[$LAT_KV]], #{{[^,]+}}]
// CHECK-SAME: ins(%{{.+}}, %[[V]] : tensor<1x4x2x8xf32>, tensor<1x1x8x16xbf16>)
// CHECK: arith.truncf %{{.+}} : f32 to bf16
// CHECK-NOT: tessera.
func.func @latent(%q: tensor<1x4x2x24xbf16>, %kv: tensor<1x8x24xbf16>)
    -> tensor<1x4x2x16xbf16> {
  %0 = tessera.latent_attention %q, %kv {latent_dim = 16 : i64, causal = true}
      : (tensor<1x4x2x24xbf16>, tensor<1x8x24xbf16>) -> tensor<1x4x2x16xbf16>
  return %0 : tensor<1x4x2x16xbf16>
}
