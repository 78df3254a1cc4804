// RUN: tessera-opt %s --convert-tessera-to-linalg --split-input-file | FileCheck %s

// Softmax routing: a max-subtracted softmax, the O(E^2) rank reduction
// ("e' beats e": greater, or equal with a lower index) and one reduction
// over experts that picks the expert of rank r for slot r.

// CHECK-DAG: #[[$ID2:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$ROW:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[$OTHER:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[$SELF:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @route_softmax(
// CHECK-SAME:      %[[LOGITS:.+]]: tensor<4x8xf32>)
// CHECK-DAG:     %[[NEG_INF:.+]] = arith.constant 0xFF800000 : f32
// CHECK:         %[[MAX_INIT:.+]] = linalg.fill ins(%[[NEG_INF]] : f32) {{.*}} -> tensor<4xf32>
// CHECK:         %[[MAX:.+]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ROW]]], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME:        ins(%[[LOGITS]] : tensor<4x8xf32>) outs(%[[MAX_INIT]] : tensor<4xf32>)
// CHECK:           arith.maximumf
// CHECK:         %[[EXP:.+]] = linalg.generic {{.*}} ins(%[[LOGITS]], %[[MAX]] : tensor<4x8xf32>, tensor<4xf32>)
// CHECK:           arith.subf
// CHECK:           math.exp
// CHECK:         %[[SUM:.+]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[EXP]] : tensor<4x8xf32>)
// CHECK:           arith.addf
// CHECK:         %[[S:.+]] = linalg.generic {{.*}} ins(%[[EXP]], %[[SUM]] : tensor<4x8xf32>, tensor<4xf32>)
// CHECK:           arith.divf
// CHECK:         %[[RANK:.+]] = linalg.generic {indexing_maps = [#[[$OTHER]], #[[$SELF]], #[[$SELF]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[S]], %[[S]] : tensor<4x8xf32>, tensor<4x8xf32>) outs(%{{.+}} : tensor<4x8xi32>)
// CHECK:           %[[E:.+]] = linalg.index 1 : index
// CHECK:           %[[OTHER_E:.+]] = linalg.index 2 : index
// Ranks in a strict total order whatever the scores hold: greater, NaN
// below every number, equal scores (NaNs among them) by the lower index.
// CHECK:           %[[OTHER_NUM:.+]] = arith.cmpf ord, %[[OTHER:.+]], %[[OTHER]] : f32
// CHECK:           %[[EQ_OR_NAN:.+]] = arith.cmpf ueq, %[[OTHER]], %[[SELF:.+]] : f32
// CHECK:           %[[SELF_NUM:.+]] = arith.cmpf ord, %[[SELF]], %[[SELF]] : f32
// CHECK:           %[[SAME_KIND:.+]] = arith.cmpi eq, %[[OTHER_NUM]], %[[SELF_NUM]] : i1
// CHECK:           %[[EQ:.+]] = arith.andi %[[EQ_OR_NAN]], %[[SAME_KIND]]
// CHECK:           %[[LOWER:.+]] = arith.cmpi slt, %[[OTHER_E]], %[[E]] : index
// CHECK:           %[[GT_OR_NAN:.+]] = arith.cmpf ugt, %[[OTHER]], %[[SELF]] : f32
// CHECK:           %[[GT:.+]] = arith.andi %[[GT_OR_NAN]], %[[OTHER_NUM]]
// CHECK:           %[[TIE:.+]] = arith.andi %[[EQ]], %[[LOWER]]
// CHECK:           arith.ori %[[GT]], %[[TIE]]
// CHECK:         %[[PICK:.+]]:2 = linalg.generic {indexing_maps = [#[[$OTHER]], #[[$OTHER]], #[[$SELF]], #[[$SELF]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[RANK]], %[[S]] : tensor<4x8xi32>, tensor<4x8xf32>)
// CHECK-SAME:        outs(%{{.+}}, %{{.+}} : tensor<4x2xi32>, tensor<4x2xf32>)
// CHECK:           arith.cmpi eq
// CHECK:           arith.select
// CHECK:           arith.select
// CHECK:         return %[[PICK]]#1, %[[PICK]]#0
func.func @route_softmax(%logits: tensor<4x8xf32>)
    -> (tensor<4x2xf32>, tensor<4x2xi32>) {
  %w, %ids = tessera.route %logits {top_k = 2 : i64}
      : (tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi32>)
  return %w, %ids : tensor<4x2xf32>, tensor<4x2xi32>
}

// -----

// Sigmoid scores of bf16 logits, a selection bias, group-limited routing
// (rank inside groups of E/n_group, sum of the top two per group, rank the
// groups, mask dropped groups with -inf), normalization and scaling. The
// weights are picked from the unbiased scores.

// CHECK-DAG: #[[$BIAS:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[$OTHER:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[$SELF:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @route_sigmoid_bias_groups(
// CHECK-SAME:      %[[LOGITS:[^:]+]]: tensor<4x8xbf16>, %[[BIAS:.+]]: tensor<8xf32>)
// CHECK-DAG:     %[[NEG_INF:.+]] = arith.constant 0xFF800000 : f32
// CHECK-DAG:     %[[SCALE:.+]] = arith.constant 2.500000e+00 : f32
// CHECK-DAG:     %[[TWO:.+]] = arith.constant 2 : i32
// CHECK:         %[[S:.+]] = linalg.generic {{.*}} ins(%[[LOGITS]] : tensor<4x8xbf16>)
// CHECK:           arith.extf {{.*}} : bf16 to f32
// CHECK:           arith.negf
// CHECK:           math.exp
// CHECK:           arith.divf
// CHECK:         %[[SEL:.+]] = linalg.generic {indexing_maps = [#{{.+}}, #[[$BIAS]], #{{.+}}]
// CHECK-SAME:        ins(%[[S]], %[[BIAS]] : tensor<4x8xf32>, tensor<8xf32>)
// CHECK:         %[[GROUP_SIZE:.+]] = arith.divui
// CHECK:         %[[IN_GROUP_RANK:.+]] = linalg.generic {{.*}} ins(%[[SEL]], %[[SEL]] : {{.*}}) outs(%{{.+}} : tensor<4x8xi32>)
// CHECK:           arith.divui %{{.+}}, %[[GROUP_SIZE]]
// CHECK:           arith.divui %{{.+}}, %[[GROUP_SIZE]]
// CHECK:         %[[GROUP_SCORE:.+]] = linalg.generic {indexing_maps = [#[[$OTHER]], #[[$OTHER]], #[[$SELF]]]
// CHECK-SAME:        ins(%[[SEL]], %[[IN_GROUP_RANK]] : tensor<4x8xf32>, tensor<4x8xi32>) outs(%{{.+}} : tensor<4x4xf32>)
// CHECK:           arith.cmpi slt, %{{.+}}, %[[TWO]] : i32
// CHECK:         %[[GROUP_RANK:.+]] = linalg.generic {{.*}} ins(%[[GROUP_SCORE]], %[[GROUP_SCORE]] : {{.*}}) outs(%{{.+}} : tensor<4x4xi32>)
// CHECK:         %[[MASK_INIT:.+]] = linalg.fill ins(%[[NEG_INF]] : f32) {{.*}} -> tensor<4x8xf32>
// CHECK:         %[[MASKED:.+]] = linalg.generic {indexing_maps = [#[[$SELF]], #[[$OTHER]], #[[$SELF]]]
// CHECK-SAME:        ins(%[[SEL]], %[[GROUP_RANK]] : tensor<4x8xf32>, tensor<4x4xi32>) outs(%[[MASK_INIT]] : tensor<4x8xf32>)
// CHECK:         %[[RANK:.+]] = linalg.generic {{.*}} ins(%[[MASKED]], %[[MASKED]] : {{.*}}) outs(%{{.+}} : tensor<4x8xi32>)
// CHECK:         %[[PICK:.+]]:2 = linalg.generic {{.*}} ins(%[[RANK]], %[[S]] : tensor<4x8xi32>, tensor<4x8xf32>)
// CHECK:         %[[TOTAL:.+]] = linalg.generic {{.*}} ins(%[[PICK]]#1 : tensor<4x2xf32>) outs(%{{.+}} : tensor<4xf32>)
// CHECK:         %[[NORM:.+]] = linalg.generic {{.*}} ins(%[[PICK]]#1, %[[TOTAL]] : tensor<4x2xf32>, tensor<4xf32>)
// CHECK:           arith.divf
// CHECK:         %[[SCALED:.+]] = linalg.generic {{.*}} ins(%[[NORM]] : tensor<4x2xf32>)
// CHECK:           arith.mulf %{{.+}}, %[[SCALE]] : f32
// CHECK:         return %[[SCALED]], %[[PICK]]#0
func.func @route_sigmoid_bias_groups(%logits: tensor<4x8xbf16>,
                                     %bias: tensor<8xf32>)
    -> (tensor<4x2xf32>, tensor<4x2xi32>) {
  %w, %ids = tessera.route %logits bias %bias
      {top_k = 2 : i64, scoring = #tessera.scoring<sigmoid>, n_group = 4 : i64,
       topk_group = 2 : i64, normalize = true, scale = 2.5 : f32}
      : (tensor<4x8xbf16>, tensor<8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi32>)
  return %w, %ids : tensor<4x2xf32>, tensor<4x2xi32>
}

// -----

// Dispatch without padding: per-expert counts, their exclusive prefix sum,
// a sequential scatter of the pairs into `perm` and a gather of the rows.

// CHECK-DAG: #[[$PAIRS:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$EXPERT:.+]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-DAG: #[[$COUNT:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[$OFFSET:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @dispatch(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<8x32xf32>, %[[IDS:.+]]: tensor<8x2xi32>)
// CHECK-DAG:     %[[MINUS_ONE:.+]] = arith.constant -1 : i32
// CHECK-DAG:     %[[NUM_EXPERTS:.+]] = arith.constant 4 : i32
// CHECK-DAG:     %[[NUM_PAIRS:.+]] = arith.constant 16 : index
// CHECK:         %[[COUNTS:.+]] = linalg.generic {indexing_maps = [#[[$PAIRS]], #[[$EXPERT]]], iterator_types = ["reduction", "reduction", "parallel"]}
// CHECK-SAME:        ins(%[[IDS]] : tensor<8x2xi32>) outs(%{{.+}} : tensor<4xi32>)
// CHECK:         %[[OFFSETS:.+]] = linalg.generic {indexing_maps = [#[[$COUNT]], #[[$OFFSET]]], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME:        ins(%[[COUNTS]] : tensor<4xi32>) outs(%{{.+}} : tensor<5xi32>)
// CHECK-NOT:       arith.divui
// CHECK:           arith.cmpi ult
// CHECK:           arith.select
// CHECK:         %[[PERM_INIT:.+]] = linalg.fill ins(%[[MINUS_ONE]] : i32) {{.*}} -> tensor<16xi32>
// CHECK:         %[[CURSOR:.+]] = tensor.extract_slice %[[OFFSETS]][0] [4] [1] : tensor<5xi32> to tensor<4xi32>
// CHECK:         %[[LOOP:.+]]:2 = scf.for %[[PAIR:.+]] = %{{.+}} to %[[NUM_PAIRS]] step %{{.+}} iter_args(%[[PERM_IT:.+]] = %[[PERM_INIT]], %[[CURSOR_IT:.+]] = %[[CURSOR]])
// CHECK:           %[[ID:.+]] = tensor.extract %[[IDS]]
// CHECK:           %[[VALID:.+]] = arith.cmpi ult, %[[ID]], %[[NUM_EXPERTS]] : i32
// CHECK:           scf.if %[[VALID]] -> (tensor<16xi32>, tensor<4xi32>)
// CHECK:             %[[ROW:.+]] = tensor.extract %[[CURSOR_IT]]
// CHECK:             tensor.insert %{{.+}} into %[[PERM_IT]]
// CHECK:             tensor.insert %{{.+}} into %[[CURSOR_IT]]
// CHECK:           } else {
// CHECK:             scf.yield %[[PERM_IT]], %[[CURSOR_IT]]
// CHECK:         %[[ROWS:.+]] = linalg.generic {indexing_maps = [#[[$OFFSET]], #{{.+}}], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:        ins(%[[LOOP]]#0 : tensor<16xi32>) outs(%{{.+}} : tensor<16x32xf32>)
// CHECK:           scf.if
// CHECK:             tensor.extract %[[X]]
// CHECK:         return %[[ROWS]], %[[OFFSETS]], %[[LOOP]]#0
func.func @dispatch(%x: tensor<8x32xf32>, %ids: tensor<8x2xi32>)
    -> (tensor<16x32xf32>, tensor<5xi32>, tensor<16xi32>) {
  %rows, %offsets, %perm = tessera.dispatch %x, %ids {num_experts = 4 : i64}
      : (tensor<8x32xf32>, tensor<8x2xi32>)
      -> (tensor<16x32xf32>, tensor<5xi32>, tensor<16xi32>)
  return %rows, %offsets, %perm : tensor<16x32xf32>, tensor<5xi32>, tensor<16xi32>
}

// -----

// Dispatch with block = 4: segment lengths round up to a multiple of 4 in the
// prefix sum; the 28 = 8*2 + 4*3 rows start as padding (perm = -1).

// CHECK-LABEL: func.func @dispatch_block4(
// CHECK-DAG:     %[[MINUS_ONE:.+]] = arith.constant -1 : i32
// CHECK-DAG:     %[[BLOCK:.+]] = arith.constant 4 : i32
// CHECK-DAG:     %[[BLOCK_M1:.+]] = arith.constant 3 : i32
// CHECK:         %[[COUNTS:.+]] = linalg.generic {{.*}} outs(%{{.+}} : tensor<4xi32>)
// CHECK:         %[[OFFSETS:.+]] = linalg.generic {{.*}} ins(%[[COUNTS]] : tensor<4xi32>) outs(%{{.+}} : tensor<5xi32>)
// CHECK:           %[[BUMPED:.+]] = arith.addi %{{.+}}, %[[BLOCK_M1]] : i32
// CHECK:           %[[BLOCKS:.+]] = arith.divui %[[BUMPED]], %[[BLOCK]] : i32
// CHECK:           arith.muli %[[BLOCKS]], %[[BLOCK]] : i32
// CHECK:         linalg.fill ins(%[[MINUS_ONE]] : i32) {{.*}} -> tensor<28xi32>
// CHECK:         scf.for
// CHECK:         linalg.generic {{.*}} outs(%{{.+}} : tensor<28x32xf32>)
func.func @dispatch_block4(%x: tensor<8x32xf32>, %ids: tensor<8x2xi32>)
    -> (tensor<28x32xf32>, tensor<5xi32>, tensor<28xi32>) {
  %rows, %offsets, %perm = tessera.dispatch %x, %ids
      {num_experts = 4 : i64, block = 4 : i64}
      : (tensor<8x32xf32>, tensor<8x2xi32>)
      -> (tensor<28x32xf32>, tensor<5xi32>, tensor<28xi32>)
  return %rows, %offsets, %perm : tensor<28x32xf32>, tensor<5xi32>, tensor<28xi32>
}

// -----

// One linalg.matmul per expert over its clamped row segment, written into a
// zero f32 accumulator. f32 needs no epilogue.

// CHECK-LABEL: func.func @grouped_matmul(
// CHECK-SAME:      %[[ROWS:[^:]+]]: tensor<28x32xf32>, %[[W:[^:]+]]: tensor<4x32x16xf32>, %[[OFFSETS:.+]]: tensor<5xi32>)
// CHECK-DAG:     %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG:     %[[NUM_ROWS:.+]] = arith.constant 28 : index
// CHECK-DAG:     %[[NUM_EXPERTS:.+]] = arith.constant 4 : index
// CHECK:         %[[ACC:.+]] = linalg.fill ins(%[[ZERO]] : f32) {{.*}} -> tensor<28x16xf32>
// CHECK:         %[[LOOP:.+]] = scf.for %[[E:.+]] = %[[C0]] to %[[NUM_EXPERTS]] {{.*}} iter_args(%[[ACC_IT:.+]] = %[[ACC]])
// CHECK:           %[[BEGIN_RAW:.+]] = tensor.extract %[[OFFSETS]][%[[E]]]
// CHECK:           %[[BEGIN_IDX:.+]] = arith.index_cast %[[BEGIN_RAW]]
// CHECK:           %[[BEGIN_LO:.+]] = arith.maxsi %[[BEGIN_IDX]], %[[C0]]
// CHECK:           %[[BEGIN:.+]] = arith.minsi %[[BEGIN_LO]], %[[NUM_ROWS]]
// CHECK:           %[[END_RAW:.+]] = tensor.extract %[[OFFSETS]]
// CHECK:           %[[END_IDX:.+]] = arith.index_cast %[[END_RAW]]
// CHECK:           %[[END_LO:.+]] = arith.maxsi %[[END_IDX]], %[[BEGIN]]
// CHECK:           %[[END:.+]] = arith.minsi %[[END_LO]], %[[NUM_ROWS]]
// CHECK:           %[[LEN:.+]] = arith.subi %[[END]], %[[BEGIN]]
// CHECK:           %[[SEGMENT:.+]] = tensor.extract_slice %[[ROWS]][%[[BEGIN]], 0] [%[[LEN]], 32] [1, 1] : tensor<28x32xf32> to tensor<?x32xf32>
// CHECK:           %[[EXPERT_W:.+]] = tensor.extract_slice %[[W]][%[[E]], 0, 0] [1, 32, 16] [1, 1, 1] : tensor<4x32x16xf32> to tensor<32x16xf32>
// CHECK:           %[[PRODUCT:.+]] = linalg.matmul ins(%[[SEGMENT]], %[[EXPERT_W]] : tensor<?x32xf32>, tensor<32x16xf32>) {{.*}} -> tensor<?x16xf32>
// CHECK:           %[[UPDATED:.+]] = tensor.insert_slice %[[PRODUCT]] into %[[ACC_IT]][%[[BEGIN]], 0] [%[[LEN]], 16] [1, 1]
// CHECK:           scf.yield %[[UPDATED]]
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[LOOP]] : tensor<28x16xf32>
func.func @grouped_matmul(%rows: tensor<28x32xf32>, %w: tensor<4x32x16xf32>,
                          %offsets: tensor<5xi32>) -> tensor<28x16xf32> {
  %out = tessera.grouped_matmul %rows, %w, %offsets
      : (tensor<28x32xf32>, tensor<4x32x16xf32>, tensor<5xi32>)
      -> tensor<28x16xf32>
  return %out : tensor<28x16xf32>
}

// -----

// f16 with the SwiGLU epilogue: mixed-precision matmuls into f32, then
// silu(gate half) * up half, truncated to f16.

// CHECK-LABEL: func.func @grouped_matmul_swiglu_f16(
// CHECK:         %[[ACC:.+]] = scf.for
// CHECK:           linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<?x32xf16>, tensor<32x64xf16>) {{.*}} -> tensor<?x64xf32>
// CHECK:         %[[GATE:.+]] = tensor.extract_slice %[[ACC]][0, 0] [28, 32] [1, 1] : tensor<28x64xf32> to tensor<28x32xf32>
// CHECK:         %[[UP:.+]] = tensor.extract_slice %[[ACC]][0, 32] [28, 32] [1, 1] : tensor<28x64xf32> to tensor<28x32xf32>
// CHECK:         %[[OUT:.+]] = linalg.generic {{.*}} ins(%[[GATE]], %[[UP]] : tensor<28x32xf32>, tensor<28x32xf32>) outs(%{{.+}} : tensor<28x32xf16>)
// CHECK:         ^bb0(%[[G:.+]]: f32, %[[U:.+]]: f32, %{{.+}}: f16):
// CHECK:           %[[NEG:.+]] = arith.negf %[[G]]
// CHECK:           %[[EXP:.+]] = math.exp %[[NEG]]
// CHECK:           %[[DENOM:.+]] = arith.addf %{{.+}}, %[[EXP]]
// CHECK:           %[[SILU:.+]] = arith.divf %[[G]], %[[DENOM]]
// CHECK:           %[[PROD:.+]] = arith.mulf %[[SILU]], %[[U]]
// CHECK:           %[[TRUNC:.+]] = arith.truncf %[[PROD]] : f32 to f16
// CHECK:           linalg.yield %[[TRUNC]]
// CHECK:         return %[[OUT]]
func.func @grouped_matmul_swiglu_f16(%rows: tensor<28x32xf16>,
                                     %w: tensor<4x32x64xf16>,
                                     %offsets: tensor<5xi32>)
    -> tensor<28x32xf16> {
  %out = tessera.grouped_matmul %rows, %w, %offsets
      {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<28x32xf16>, tensor<4x32x64xf16>, tensor<5xi32>)
      -> tensor<28x32xf16>
  return %out : tensor<28x32xf16>
}

// -----

// Combine: invert perm with a sequential loop (padding rows skipped), then
// reduce over the slots, gathering each pair's row when it is held.

// CHECK-DAG: #[[$WEIGHTS:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[$OUT:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @combine(
// CHECK-SAME:      %[[Y:[^:]+]]: tensor<28x32xf32>, %[[PERM:[^:]+]]: tensor<28xi32>, %[[W:.+]]: tensor<8x2xf32>)
// CHECK-DAG:     %[[MINUS_ONE:.+]] = arith.constant -1 : i32
// CHECK-DAG:     %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[INV_INIT:.+]] = linalg.fill ins(%[[MINUS_ONE]] : i32) {{.*}} -> tensor<16xi32>
// CHECK:         %[[INV:.+]] = scf.for %[[R:.+]] = {{.*}} iter_args(%[[INV_IT:.+]] = %[[INV_INIT]]) -> (tensor<16xi32>)
// CHECK:           tensor.extract %[[PERM]][%[[R]]]
// CHECK:           scf.if
// CHECK:             tensor.insert %{{.+}} into %[[INV_IT]]
// CHECK:         %[[ACC:.+]] = linalg.fill ins(%[[ZERO]] : f32) {{.*}} -> tensor<8x32xf32>
// CHECK:         %[[OUT:.+]] = linalg.generic {indexing_maps = [#[[$WEIGHTS]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[W]] : tensor<8x2xf32>) outs(%[[ACC]] : tensor<8x32xf32>)
// CHECK:           %[[ROW:.+]] = tensor.extract %[[INV]]
// CHECK:           %[[HELD:.+]] = arith.cmpi sge, %[[ROW]]
// CHECK:           %[[TERM:.+]] = scf.if %[[HELD]] -> (f32)
// CHECK:             tensor.extract %[[Y]]
// CHECK:             arith.mulf
// CHECK:           } else {
// CHECK:             scf.yield %[[ZERO]]
// CHECK:           arith.addf %{{.+}}, %[[TERM]]
// CHECK:         return %[[OUT]]
func.func @combine(%y: tensor<28x32xf32>, %perm: tensor<28xi32>,
                   %w: tensor<8x2xf32>) -> tensor<8x32xf32> {
  %out = tessera.combine %y, %perm, %w
      : (tensor<28x32xf32>, tensor<28xi32>, tensor<8x2xf32>) -> tensor<8x32xf32>
  return %out : tensor<8x32xf32>
}

// -----

// The operands of tessera-fuse-moe: gathered rows (an index outside the 8
// rows of x reads zeros), the scale applied in f32 before the rounding to
// bf16; a prescaled combine only adds; a dispatch whose rows have no user
// does not copy them.

// CHECK-LABEL: func.func @gather_scale_bf16(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<8x32xbf16>, %[[W:[^:]+]]: tensor<4x32x16xbf16>, %[[OFF:[^:]+]]: tensor<5xi32>, %[[INDEX:[^:]+]]: tensor<28xi32>, %[[S:[^:]+]]: tensor<28xf32>)
// CHECK-DAG:     %[[C8:.+]] = arith.constant 8 : index
// CHECK-DAG:     %[[ZERO:.+]] = arith.constant 0.000000e+00 : bf16
// CHECK:         %[[LHS:.+]] = linalg.generic {{.*}} ins(%[[INDEX]] : tensor<28xi32>) outs(%{{.+}} : tensor<28x32xbf16>)
// CHECK:           %[[COL:.+]] = linalg.index 1 : index
// CHECK:           %[[ROW:.+]] = arith.index_cast %{{.+}} : i32 to index
// CHECK:           %[[VALID:.+]] = arith.cmpi ult, %[[ROW]], %[[C8]] : index
// CHECK:           scf.if %[[VALID]] -> (bf16)
// CHECK:             tensor.extract %[[X]][%[[ROW]], %[[COL]]]
// CHECK:             scf.yield %[[ZERO]]
// CHECK:         %[[PROD:.+]] = scf.for
// CHECK:           tensor.extract_slice %[[LHS]]
// CHECK:           linalg.matmul
// CHECK:         %[[OUT:.+]] = linalg.generic {{.*}} ins(%[[PROD]], %[[S]] : tensor<28x16xf32>, tensor<28xf32>) outs(%{{.+}} : tensor<28x16xbf16>)
// CHECK:           %[[SCALED:.+]] = arith.mulf
// CHECK:           arith.truncf %[[SCALED]] : f32 to bf16
// CHECK:         return %[[OUT]]
func.func @gather_scale_bf16(%x: tensor<8x32xbf16>, %w: tensor<4x32x16xbf16>, %off: tensor<5xi32>,
                             %index: tensor<28xi32>, %s: tensor<28xf32>) -> tensor<28x16xbf16> {
  %y = tessera.grouped_matmul %x, %w, %off gather %index scale %s
      : (tensor<8x32xbf16>, tensor<4x32x16xbf16>, tensor<5xi32>, tensor<28xi32>, tensor<28xf32>) -> tensor<28x16xbf16>
  return %y : tensor<28x16xbf16>
}

// CHECK-LABEL: func.func @swiglu_scale(
// CHECK:         linalg.generic {{.*}} ins(%{{.+}}, %{{.+}}, %{{.+}} : tensor<28x8xf32>, tensor<28x8xf32>, tensor<28xf32>)
// CHECK:           math.exp
// CHECK:           %[[H:.+]] = arith.mulf
// CHECK:           %[[SCALED:.+]] = arith.mulf %[[H]], %{{.+}} : f32
// CHECK:           linalg.yield %[[SCALED]] : f32
func.func @swiglu_scale(%rows: tensor<28x32xf32>, %w: tensor<4x32x16xf32>, %off: tensor<5xi32>,
                        %s: tensor<28xf32>) -> tensor<28x8xf32> {
  %y = tessera.grouped_matmul %rows, %w, %off scale %s {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<28x32xf32>, tensor<4x32x16xf32>, tensor<5xi32>, tensor<28xf32>) -> tensor<28x8xf32>
  return %y : tensor<28x8xf32>
}

// CHECK-LABEL: func.func @combine_prescaled(
// CHECK-SAME:      %[[Y:[^:]+]]: tensor<28x32xf32>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:           %[[TERM:.+]] = scf.if %{{.+}} -> (f32)
// CHECK:             %[[V:.+]] = tensor.extract %[[Y]]
// CHECK-NEXT:        scf.yield %[[V]] : f32
// CHECK:           arith.addf %{{.+}}, %[[TERM]]
func.func @combine_prescaled(%y: tensor<28x32xf32>, %perm: tensor<28xi32>,
                             %w: tensor<8x2xf32>) -> tensor<8x32xf32> {
  %out = tessera.combine %y, %perm, %w {prescaled}
      : (tensor<28x32xf32>, tensor<28xi32>, tensor<8x2xf32>) -> tensor<8x32xf32>
  return %out : tensor<8x32xf32>
}

// CHECK-LABEL: func.func @dispatch_rows_unused(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<8x32xf32>
// CHECK-NOT:     tensor.extract %[[X]]
// CHECK:         return
func.func @dispatch_rows_unused(%x: tensor<8x32xf32>, %ids: tensor<8x2xi32>)
    -> (tensor<5xi32>, tensor<16xi32>) {
  %rows, %off, %perm = tessera.dispatch %x, %ids {num_experts = 4 : i64}
      : (tensor<8x32xf32>, tensor<8x2xi32>) -> (tensor<16x32xf32>, tensor<5xi32>, tensor<16xi32>)
  return %off, %perm : tensor<5xi32>, tensor<16xi32>
}

// -----

// Dynamic token counts: sizes come from tensor.dim, the dispatch row count
// is T * k, and the results keep their dynamic types.

// CHECK-LABEL: func.func @dynamic_tokens(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<?x16xf16>, %[[LOGITS:.+]]: tensor<?x8xf32>)
// CHECK-DAG:     %[[C0:.+]] = arith.constant 0 : index
// CHECK:         %[[T:.+]] = tensor.dim %[[LOGITS]], %[[C0]] : tensor<?x8xf32>
// CHECK:         tensor.empty(%[[T]]) : tensor<?x8xf32>
// CHECK:         %[[ROUTE:.+]]:2 = linalg.generic {{.*}} outs(%{{.+}}, %{{.+}} : tensor<?x2xi32>, tensor<?x2xf32>)
// CHECK:         %[[TOKENS:.+]] = tensor.dim %[[ROUTE]]#0, %[[C0]] : tensor<?x2xi32>
// CHECK:         %[[PAIRS:.+]] = arith.muli %[[TOKENS]], %{{.+}} : index
// CHECK:         %[[NUM_ROWS:.+]] = arith.addi %[[PAIRS]], %{{.+}} : index
// CHECK:         tensor.empty(%[[NUM_ROWS]]) : tensor<?xi32>
// CHECK:         %[[PERM:.+]]:2 = scf.for {{.*}} -> (tensor<?xi32>, tensor<8xi32>)
// CHECK:         %[[ROWS:.+]] = linalg.generic {{.*}} ins(%[[PERM]]#0 : tensor<?xi32>) outs(%{{.+}} : tensor<?x16xf16>)
// CHECK:         %[[INV:.+]] = scf.for {{.*}} -> (tensor<?xi32>)
// CHECK:         %[[ACC:.+]] = linalg.generic {{.*}} ins(%[[ROUTE]]#1 : tensor<?x2xf32>) outs(%{{.+}} : tensor<?x16xf32>)
// CHECK:         %[[OUT:.+]] = linalg.generic {{.*}} ins(%[[ACC]] : tensor<?x16xf32>) outs(%{{.+}} : tensor<?x16xf16>)
// CHECK:           arith.truncf
// CHECK:         return %[[OUT]] : tensor<?x16xf16>
func.func @dynamic_tokens(%x: tensor<?x16xf16>, %logits: tensor<?x8xf32>)
    -> tensor<?x16xf16> {
  %w, %ids = tessera.route %logits {top_k = 2 : i64}
      : (tensor<?x8xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  %rows, %offsets, %perm = tessera.dispatch %x, %ids {num_experts = 8 : i64}
      : (tensor<?x16xf16>, tensor<?x2xi32>)
      -> (tensor<?x16xf16>, tensor<9xi32>, tensor<?xi32>)
  %out = tessera.combine %rows, %perm, %w
      : (tensor<?x16xf16>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x16xf16>
  return %out : tensor<?x16xf16>
}
