// RUN: tessera-opt %s --tessera-tile-attention="q-block=16 kv-block=32" --split-input-file | FileCheck %s
// RUN: tessera-opt %s --tessera-tile-attention="q-block=4 kv-block=16" --split-input-file | FileCheck %s --check-prefix=BLOCKS
// RUN: tessera-opt %s --tessera-tile-attention="q-block=16 kv-block=16 prefetch=true" --split-input-file | FileCheck %s --check-prefix=PREFETCH

// GQA (8 query heads over 2 KV heads), causal with Sq < Skv, with the lse.
// CHECK-LABEL: func.func @gqa_causal_lse
// CHECK-SAME:    %[[Q:[^:]+]]: tensor<1x8x40x16xf32>, %[[K:[^:]+]]: tensor<1x2x70x16xf32>, %[[V:[^:]+]]: tensor<1x2x70x8xf32>
// CHECK-NOT:     tensor<40x70xf32>
// CHECK-NOT:     tensor<1x8x40x70xf32>
// CHECK-DAG:     %[[C4:.+]] = arith.constant 4 : index
// CHECK-DAG:     %[[C16:.+]] = arith.constant 16 : index
// CHECK-DAG:     %[[C32:.+]] = arith.constant 32 : index
// CHECK-DAG:     %[[C40:.+]] = arith.constant 40 : index
// CHECK-DAG:     %[[C70:.+]] = arith.constant 70 : index
// CHECK-DAG:     %[[NEG_INF:.+]] = arith.constant 0xFF800000 : f32
// CHECK-DAG:     %[[OUT_INIT:.+]] = tensor.empty() : tensor<1x8x40x8xf32>
// CHECK-DAG:     %[[LSE_INIT:.+]] = tensor.empty() : tensor<1x8x40xf32>
// CHECK:         %[[RES:.+]]:2 = scf.forall (%[[B:[a-z0-9_]+]], %[[H:[a-z0-9_]+]], %[[QB:[a-z0-9_]+]]) in (1, 8, 3)
// CHECK-SAME:        shared_outs(%[[OUT:.+]] = %[[OUT_INIT]], %[[LSE:.+]] = %[[LSE_INIT]])
// CHECK:           %[[KVH:.+]] = arith.divui %[[H]], %[[C4]] : index
// CHECK:           %[[R0:.+]] = arith.muli %[[QB]], %[[C16]] : index
// CHECK:           %[[LEFT:.+]] = arith.subi %[[C40]], %[[R0]] : index
// CHECK:           %[[ROWS:.+]] = arith.minsi %[[LEFT]], %[[C16]] : index
// CHECK:           %[[DIAG_SHIFT:.+]] = arith.addi %[[R0]], %[[C70]] : index
// CHECK:           %[[DIAG0:.+]] = arith.subi %[[DIAG_SHIFT]], %[[C40]] : index
// CHECK:           %[[Q_TILE:.+]] = tensor.extract_slice %[[Q]][%[[B]], %[[H]], %[[R0]], 0] [1, 1, %[[ROWS]], 16] [1, 1, 1, 1]
// CHECK-SAME:          to tensor<?x16xf32>
// Causal: the KV loop stops after the diagonal of the tile's last row.
// CHECK:           %[[DIAG_END:.+]] = arith.addi %[[DIAG0]], %[[ROWS]] : index
// CHECK:           %[[HI:.+]] = arith.minsi %[[DIAG_END]], %[[C70]] : index
// CHECK:           %[[M0:.+]] = linalg.fill ins(%[[NEG_INF]] : f32) {{.*}} -> tensor<?xf32>
// CHECK:           %[[L0:.+]] = linalg.fill {{.*}} -> tensor<?xf32>
// CHECK:           %[[ACC0:.+]] = linalg.fill {{.*}} -> tensor<?x8xf32>
// CHECK:           %[[LOOP:.+]]:3 = scf.for %[[KB:[a-z0-9_]+]] = %{{.+}} to %[[HI]] step %[[C32]]
// CHECK-SAME:          iter_args(%[[M:.+]] = %[[M0]], %[[L:.+]] = %[[L0]], %[[ACC:.+]] = %[[ACC0]])
// CHECK:             %[[COLS:.+]] = arith.minsi %{{.+}}, %[[C32]] : index
// CHECK:             %[[K_TILE:.+]] = tensor.extract_slice %[[K]][%[[B]], %[[KVH]], %[[KB]], 0] [1, 1, %[[COLS]], 16]
// CHECK-SAME:            to tensor<?x16xf32>
// CHECK:             %[[V_TILE:.+]] = tensor.extract_slice %[[V]][%[[B]], %[[KVH]], %[[KB]], 0] [1, 1, %[[COLS]], 8]
// CHECK-SAME:            to tensor<?x8xf32>
// K is transposed once per block so that the score matmul reads rows.
// CHECK:             %[[K_T:.+]] = linalg.generic
// CHECK-SAME:            ins(%[[K_TILE]] : tensor<?x16xf32>) outs(%{{.+}} : tensor<16x?xf32>)
// CHECK:             %[[QK:.+]] = linalg.matmul
// CHECK-SAME:            ins(%[[Q_TILE]], %[[K_T]] : tensor<?x16xf32>, tensor<16x?xf32>)
// CHECK-SAME:            -> tensor<?x?xf32>
// Blocks below the diagonal skip the mask.
// CHECK:             %[[S:.+]] = scf.if %{{.+}} -> (tensor<?x?xf32>) {
// CHECK-NOT:           arith.select
// CHECK:             } else {
// CHECK:               linalg.index
// CHECK:               arith.cmpi sle
// CHECK:               arith.select
// CHECK:             }
// CHECK:             %[[BLOCK_MAX:.+]] = linalg.reduce ins(%[[S]] : tensor<?x?xf32>)
// CHECK:               arith.maxnumf
// CHECK:             %[[UPD:.+]]:2 = linalg.generic
// CHECK-SAME:            ins(%[[BLOCK_MAX]] : tensor<?xf32>) outs(%[[M]], %{{.+}} : tensor<?xf32>, tensor<?xf32>)
// CHECK:               math.exp2
// CHECK:             %[[P:.+]] = linalg.generic
// CHECK-SAME:            ins(%[[S]], %[[UPD]]#0 : tensor<?x?xf32>, tensor<?xf32>)
// CHECK:               math.exp2
// CHECK:             %[[L_SCALED:.+]] = linalg.generic {{.*}} ins(%[[UPD]]#1 : tensor<?xf32>) outs(%[[L]] : tensor<?xf32>)
// CHECK:             %[[L_NEW:.+]] = linalg.reduce ins(%[[P]] : tensor<?x?xf32>) outs(%[[L_SCALED]] : tensor<?xf32>)
// CHECK:             %[[ACC_SCALED:.+]] = linalg.generic {{.*}} ins(%[[UPD]]#1 : tensor<?xf32>) outs(%[[ACC]] : tensor<?x8xf32>)
// CHECK:             %[[ACC_NEW:.+]] = linalg.matmul ins(%[[P]], %[[V_TILE]] : tensor<?x?xf32>, tensor<?x8xf32>) outs(%[[ACC_SCALED]] : tensor<?x8xf32>)
// CHECK:             scf.yield %[[UPD]]#0, %[[L_NEW]], %[[ACC_NEW]]
// CHECK:           %[[O_TILE:.+]] = linalg.generic {{.*}} ins(%[[LOOP]]#2, %[[LOOP]]#1 : tensor<?x8xf32>, tensor<?xf32>)
// CHECK:             arith.divf
// CHECK:           %[[LSE_TILE:.+]] = linalg.generic {{.*}} ins(%[[LOOP]]#0, %[[LOOP]]#1 : tensor<?xf32>, tensor<?xf32>)
// CHECK:             math.log2
// CHECK:           scf.forall.in_parallel
// CHECK:             tensor.parallel_insert_slice %[[O_TILE]] into %[[OUT]][%[[B]], %[[H]], %[[R0]], 0] [1, 1, %[[ROWS]], 8]
// CHECK:             tensor.parallel_insert_slice %[[LSE_TILE]] into %[[LSE]][%[[B]], %[[H]], %[[R0]]] [1, 1, %[[ROWS]]]
// CHECK:         return %[[RES]]#0, %[[RES]]#1
func.func @gqa_causal_lse(%q: tensor<1x8x40x16xf32>, %k: tensor<1x2x70x16xf32>, %v: tensor<1x2x70x8xf32>)
    -> (tensor<1x8x40x8xf32>, tensor<1x8x40xf32>) {
  %o, %lse = tessera.attention %q, %k, %v {causal = true}
      : (tensor<1x8x40x16xf32>, tensor<1x2x70x16xf32>, tensor<1x2x70x8xf32>)
      -> (tensor<1x8x40x8xf32>, tensor<1x8x40xf32>)
  return %o, %lse : tensor<1x8x40x8xf32>, tensor<1x8x40xf32>
}

// -----

// Sq and Skv multiples of the blocks, no mask: static tiles, no scf.if, and
// bf16 inputs feed the f32-accumulating matmuls directly.
// CHECK-LABEL: func.func @static_tiles_bf16
// CHECK-NOT:     tensor<32x64xf32>
// CHECK-DAG:     %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG:     %[[C32:.+]] = arith.constant 32 : index
// CHECK-DAG:     %[[C64:.+]] = arith.constant 64 : index
// CHECK:         scf.forall (%{{.+}}, %{{.+}}, %{{.+}}) in (2, 4, 2)
// The bf16 tiles are widened to f32 once (q per query tile, K transposed
// and V per block) so that both matmuls have equal f32 operands.
// CHECK:           tensor.extract_slice {{.*}} to tensor<16x16xbf16>
// CHECK:           linalg.generic {{.*}} ins(%{{.+}} : tensor<16x16xbf16>) outs(%{{.+}} : tensor<16x16xf32>)
// CHECK:           scf.for %{{.+}} = %[[C0]] to %[[C64]] step %[[C32]]
// CHECK-SAME:          -> (tensor<16xf32>, tensor<16xf32>, tensor<16x8xf32>)
// CHECK-NOT:         scf.if
// CHECK:             linalg.generic {{.*}} ins(%{{.+}} : tensor<32x8xbf16>) outs(%{{.+}} : tensor<32x8xf32>)
// CHECK:             linalg.generic {{.*}} ins(%{{.+}} : tensor<32x16xbf16>) outs(%{{.+}} : tensor<16x32xf32>)
// CHECK:             linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<16x16xf32>, tensor<16x32xf32>) outs(%{{.+}} : tensor<16x32xf32>)
// CHECK:             linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<16x32xf32>, tensor<32x8xf32>) outs(%{{.+}} : tensor<16x8xf32>)
// CHECK:           arith.truncf %{{.+}} : f32 to bf16
// CHECK:           tensor.parallel_insert_slice {{.*}} : tensor<16x8xbf16> into tensor<2x4x32x8xbf16>
func.func @static_tiles_bf16(%q: tensor<2x4x32x16xbf16>, %k: tensor<2x4x64x16xbf16>, %v: tensor<2x4x64x8xbf16>)
    -> tensor<2x4x32x8xbf16> {
  %o = tessera.attention %q, %k, %v
      : (tensor<2x4x32x16xbf16>, tensor<2x4x64x16xbf16>, tensor<2x4x64x8xbf16>) -> tensor<2x4x32x8xbf16>
  return %o : tensor<2x4x32x8xbf16>
}

// -----

// kv_lens bound the loop (clamped to [0, Skv]); the window raises its start
// from the diagonal of the unclamped length (a length past Skv moves it).
// CHECK-LABEL: func.func @kv_lens_window
// CHECK-SAME:    %[[LENS:[^:]+]]: tensor<2xi32>
// CHECK-DAG:     %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG:     %[[C5:.+]] = arith.constant 5 : index
// CHECK-DAG:     %[[C20:.+]] = arith.constant 20 : index
// CHECK-DAG:     %[[C50:.+]] = arith.constant 50 : index
// CHECK:         scf.forall (%[[B:[a-z0-9_]+]], %{{.+}}, %{{.+}}) in (2, 4, 2)
// CHECK:           %[[ROW0:.+]] = arith.muli
// CHECK:           %[[LEN:.+]] = tensor.extract %[[LENS]][%[[B]]] : tensor<2xi32>
// CHECK:           %[[LEN_INDEX:.+]] = arith.index_cast %[[LEN]] : i32 to index
// CHECK:           %[[LEN_POS:.+]] = arith.maxsi %[[LEN_INDEX]], %[[C0]] : index
// CHECK:           %[[KV_LIMIT:.+]] = arith.minsi %[[LEN_POS]], %[[C50]] : index
// CHECK:           %[[DIAG_SUM:.+]] = arith.addi %[[ROW0]], %[[LEN_INDEX]] : index
// CHECK:           %[[DIAG:.+]] = arith.subi %[[DIAG_SUM]], %[[C20]] : index
// CHECK:           %[[START:.+]] = arith.subi %[[DIAG]], %[[C5]] : index
// CHECK:           %[[LO:.+]] = arith.maxsi %[[START]], %[[C0]] : index
// CHECK:           scf.for %{{.+}} = %[[LO]] to %[[KV_LIMIT]] step
// CHECK:             scf.if
// CHECK:             } else {
// CHECK:               arith.cmpi sgt
// CHECK:               arith.select
func.func @kv_lens_window(%q: tensor<2x4x20x8xf32>, %k: tensor<2x4x50x8xf32>, %v: tensor<2x4x50x8xf32>,
                          %lens: tensor<2xi32>) -> tensor<2x4x20x8xf32> {
  %o = tessera.attention %q, %k, %v kv_lens %lens {window = 6 : i64}
      : (tensor<2x4x20x8xf32>, tensor<2x4x50x8xf32>, tensor<2x4x50x8xf32>, tensor<2xi32>) -> tensor<2x4x20x8xf32>
  return %o : tensor<2x4x20x8xf32>
}

// -----

// Bias and softcap: tanh on the natural-scale score, then log2(e).
// CHECK-LABEL: func.func @bias_softcap
// CHECK-SAME:    %[[BIAS:[^:]+]]: tensor<1x4x24x40xf32>
// CHECK-DAG:     %[[SCALE:.+]] = arith.constant 2.500000e-01 : f32
// CHECK-DAG:     %[[CAP:.+]] = arith.constant 2.000000e+00 : f32
// CHECK-DAG:     %[[CAP_LOG2E:.+]] = arith.constant 2.885390e+00 : f32
// CHECK:         scf.forall (%{{.+}}, %[[H:[a-z0-9_]+]], %{{.+}}) in (2, 4, 2)
// CHECK:           scf.for %[[KB:[a-z0-9_]+]] = {{.+}} iter_args
// CHECK:             %[[BIAS_TILE:.+]] = tensor.extract_slice %[[BIAS]][0, %[[H]], %{{.+}}, %[[KB]]]
// CHECK:             linalg.generic {{.*}} ins(%{{.+}}, %[[BIAS_TILE]] : tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK:               %[[SCALED:.+]] = arith.mulf %{{.+}}, %[[SCALE]] : f32
// CHECK:               %[[BIASED:.+]] = arith.addf %[[SCALED]], %{{.+}} : f32
// CHECK:               %[[DIV:.+]] = arith.divf %[[BIASED]], %[[CAP]] : f32
// CHECK:               %[[TANH:.+]] = math.tanh %[[DIV]] : f32
// CHECK:               arith.mulf %[[TANH]], %[[CAP_LOG2E]] : f32
func.func @bias_softcap(%q: tensor<2x4x24x16xf32>, %k: tensor<2x2x40x16xf32>, %v: tensor<2x2x40x16xf32>,
                        %bias: tensor<1x4x24x40xf32>) -> tensor<2x4x24x16xf32> {
  %o = tessera.attention %q, %k, %v bias %bias {softcap = 2.0 : f32}
      : (tensor<2x4x24x16xf32>, tensor<2x2x40x16xf32>, tensor<2x2x40x16xf32>, tensor<1x4x24x40xf32>)
      -> tensor<2x4x24x16xf32>
  return %o : tensor<2x4x24x16xf32>
}

// -----

// Dynamic shapes: the grid and the tile extents come from tensor.dim.
// CHECK-LABEL: func.func @dynamic
// CHECK-SAME:    %[[Q:[^:]+]]: tensor<?x4x?x16xf32>, %[[K:[^:]+]]: tensor<?x?x?x16xf32>
// CHECK-DAG:     %[[C16:.+]] = arith.constant 16 : index
// CHECK-DAG:     %[[BATCH:.+]] = tensor.dim %[[Q]], %c0
// CHECK-DAG:     %[[SQ:.+]] = tensor.dim %[[Q]], %c2
// CHECK-DAG:     %[[HKV:.+]] = tensor.dim %[[K]], %c1
// CHECK:         %[[GROUP:.+]] = arith.divui %c4, %[[HKV]] : index
// CHECK:         %[[NQB:.+]] = arith.ceildivui %[[SQ]], %[[C16]] : index
// CHECK:         scf.forall (%{{.+}}, %[[H:[a-z0-9_]+]], %{{.+}}) in (%[[BATCH]], 4, %[[NQB]])
// CHECK:           arith.divui %[[H]], %[[GROUP]] : index
// CHECK:           scf.for
// CHECK:             math.exp2
func.func @dynamic(%q: tensor<?x4x?x16xf32>, %k: tensor<?x?x?x16xf32>, %v: tensor<?x?x?x16xf32>)
    -> tensor<?x4x?x16xf32> {
  %o = tessera.attention %q, %k, %v {causal = true}
      : (tensor<?x4x?x16xf32>, tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32>) -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}

// -----

// Latent attention: one shared KV head (head index 0), values are the first
// latent_dim columns of the same cache, read through slices. Decode: the 4
// query heads of the KV head are the rows of one tile, so each K/V block is
// read once for all of them. A tile of few rows takes its scores as dot
// products along D with the K rows as stored: no transposed copy of the
// block, the reduction runs over the last dimension of both inputs.
// CHECK-LABEL: func.func @latent_decode
// CHECK-SAME:    %[[Q:[^:]+]]: tensor<1x4x1x40xf32>, %[[KV:[^:]+]]: tensor<1x100x40xf32>
// CHECK-NOT:     tessera.latent_attention
// CHECK-NOT:     tessera.attention
// CHECK:         %[[K4:.+]] = tensor.expand_shape %[[KV]] {{\[\[}}0, 1], [2], [3]] output_shape [1, 1, 100, 40]
// CHECK:         %[[V4:.+]] = tensor.extract_slice %[[K4]][0, 0, 0, 0] [1, 1, 100, 32] [1, 1, 1, 1]
// CHECK:         scf.forall (%[[B:[a-z0-9_]+]], %[[KVH:[a-z0-9_]+]], %{{.+}}) in (1, 1, 1)
// CHECK:           tensor.extract_slice %[[Q]][%[[B]], %[[H:[a-z0-9_]+]], 0, 0] [1, 4, 1, 40] [1, 1, 1, 1] : tensor<1x4x1x40xf32> to tensor<4x40xf32>
// CHECK:           scf.for %[[KB:[a-z0-9_]+]] =
// CHECK:             tensor.extract_slice %[[K4]][%[[B]], %[[KVH]], %[[KB]], 0] [1, 1, %{{.+}}, 40]
// CHECK:             tensor.extract_slice %[[V4]][%[[B]], %[[KVH]], %[[KB]], 0] [1, 1, %{{.+}}, 32]
// CHECK:             %[[S0:.+]] = linalg.fill {{.*}} -> tensor<4x?xf32>
// CHECK-NOT:         linalg.matmul
// CHECK:             linalg.generic {indexing_maps = [#map{{[0-9]*}}, #map{{[0-9]*}}, #map{{[0-9]*}}], iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.+}}, %{{.+}} : tensor<4x40xf32>, tensor<?x40xf32>) outs(%[[S0]] : tensor<4x?xf32>)
// CHECK-NEXT:        ^bb0(%[[QE:.+]]: f32, %[[KE:.+]]: f32, %[[SE:.+]]: f32):
// CHECK-NEXT:          %[[PROD:.+]] = arith.mulf %[[QE]], %[[KE]] : f32
// CHECK-NEXT:          %[[SUM:.+]] = arith.addf %[[SE]], %[[PROD]] : f32
// CHECK-NEXT:          linalg.yield %[[SUM]] : f32
// CHECK:             linalg.matmul {{.*}} -> tensor<4x32xf32>
// CHECK:         tensor.parallel_insert_slice %{{.+}} into %{{.+}}[%[[B]], %[[H]], %{{.+}}, 0] [1, 4, 1, 32] [1, 1, 1, 1] : tensor<4x32xf32> into tensor<1x4x1x32xf32>
func.func @latent_decode(%q: tensor<1x4x1x40xf32>, %kv: tensor<1x100x40xf32>, %lens: tensor<1xi32>)
    -> tensor<1x4x1x32xf32> {
  %o = tessera.latent_attention %q, %kv kv_lens %lens {latent_dim = 32 : i64, causal = true}
      : (tensor<1x4x1x40xf32>, tensor<1x100x40xf32>, tensor<1xi32>) -> tensor<1x4x1x32xf32>
  return %o : tensor<1x4x1x32xf32>
}

// -----

// GQA decode, 8 query heads per KV head in tiles of q-block heads: the
// forall runs over (batch, KV head, head block); a tile's rows are heads
// kvh * 8 + hb * 4 + [0, 4) at the one query position; the lse follows.
// BLOCKS-LABEL: func.func @gqa_decode
// BLOCKS-SAME:    %[[Q:[^:]+]]: tensor<2x16x1x8xbf16>
// BLOCKS:         scf.forall (%[[B:[a-z0-9_]+]], %[[KVH:[a-z0-9_]+]], %[[HB:[a-z0-9_]+]]) in (2, 2, 2)
// BLOCKS-DAG:       %[[OFF:.+]] = arith.muli %[[HB]], %c4
// BLOCKS-DAG:       %[[BASE:.+]] = arith.muli %[[KVH]], %c8
// BLOCKS:           %[[H:[a-z0-9_]+]] = arith.addi %[[BASE]], %[[OFF]]
// BLOCKS:           tensor.extract_slice %[[Q]][%[[B]], %[[H]], 0, 0] [1, 4, 1, 8] [1, 1, 1, 1] : tensor<2x16x1x8xbf16> to tensor<4x8xbf16>
// BLOCKS:           scf.for
// BLOCKS:             linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.+}}, %{{.+}} : tensor<4x8xf32>, tensor<16x8xbf16>) outs(%{{.+}} : tensor<4x16xf32>)
// BLOCKS-NEXT:        ^bb0(%[[QE:.+]]: f32, %[[KE:.+]]: bf16, %[[SE:.+]]: f32):
// BLOCKS-NEXT:          %[[KF:.+]] = arith.extf %[[KE]] : bf16 to f32
// BLOCKS-NEXT:          %[[PROD:.+]] = arith.mulf %[[QE]], %[[KF]] : f32
// BLOCKS-NEXT:          arith.addf %[[SE]], %[[PROD]] : f32
// BLOCKS:             linalg.matmul {{.*}} -> tensor<4x8xf32>
// BLOCKS:         tensor.parallel_insert_slice %{{.+}} into %{{.+}}[%[[B]], %[[H]], %{{.+}}, 0] [1, 4, 1, 8] [1, 1, 1, 1] : tensor<4x8xbf16> into tensor<2x16x1x8xbf16>
// BLOCKS:         tensor.parallel_insert_slice %{{.+}} into %{{.+}}[%[[B]], %[[H]], %{{.+}}] [1, 4, 1] [1, 1, 1] : tensor<4xf32> into tensor<2x16x1xf32>
// With prefetch, each step of a decode tile first prefetches (into L2,
// locality 2) its V rows and the next block's K rows, one 64-byte line (32
// bf16) at a time, clamped to the last key, through read-only buffers of
// the whole K and V; tiles of more rows (prefill, q-block 16) prefetch
// nothing.
// PREFETCH-LABEL: func.func @gqa_decode
// PREFETCH-SAME:    %[[Q:[^:]+]]: tensor<2x16x1x8xbf16>, %[[K:[^:]+]]: tensor<2x2x64x8xbf16>, %[[V:[^:]+]]: tensor<2x2x64x8xbf16>
// PREFETCH-DAG:     %[[C16:.+]] = arith.constant 16 : index
// PREFETCH-DAG:     %[[C32:.+]] = arith.constant 32 : index
// PREFETCH-DAG:     %[[C63:.+]] = arith.constant 63 : index
// PREFETCH:         scf.forall (%[[B:[a-z0-9_]+]], %[[KVH:[a-z0-9_]+]], %{{.+}}) in (2, 2, 1)
// PREFETCH:           scf.for %[[KB:[a-z0-9_]+]] = %{{.+}} to %{{.+}} step %[[C16]] iter_args
// PREFETCH:             %[[VBUF:.+]] = bufferization.to_buffer %[[V]] read_only : tensor<2x2x64x8xbf16> to memref<2x2x64x8xbf16, strided<[?, ?, ?, ?], offset: ?>>
// PREFETCH-NEXT:        scf.for %[[R:[a-z0-9_]+]] = %{{.+}} to %[[C16]] step
// PREFETCH-NEXT:          %[[VROW:.+]] = arith.addi %[[KB]], %[[R]] : index
// PREFETCH-NEXT:          %[[VCLAMP:.+]] = arith.minsi %[[VROW]], %[[C63]] : index
// PREFETCH-NEXT:          scf.for %[[COL:[a-z0-9_]+]] = %{{.+}} to %{{.+}} step %[[C32]] {
// PREFETCH-NEXT:            memref.prefetch %[[VBUF]][%[[B]], %[[KVH]], %[[VCLAMP]], %[[COL]]], read, locality<2>, data
// PREFETCH:             %[[KBUF:.+]] = bufferization.to_buffer %[[K]] read_only
// PREFETCH-NEXT:        %[[NEXT:.+]] = arith.addi %[[KB]], %[[C16]] : index
// PREFETCH-NEXT:        scf.for %[[R2:[a-z0-9_]+]] = %{{.+}} to %[[C16]] step
// PREFETCH-NEXT:          %[[KROW:.+]] = arith.addi %[[NEXT]], %[[R2]] : index
// PREFETCH-NEXT:          %[[KCLAMP:.+]] = arith.minsi %[[KROW]], %[[C63]] : index
// PREFETCH-NEXT:          scf.for %[[COL2:[a-z0-9_]+]] = %{{.+}} to %{{.+}} step %[[C32]] {
// PREFETCH-NEXT:            memref.prefetch %[[KBUF]][%[[B]], %[[KVH]], %[[KCLAMP]], %[[COL2]]], read, locality<2>, data
// PREFETCH:             linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]}
// PREFETCH-LABEL: func.func @prefill_no_prefetch
// PREFETCH-NOT:     memref.prefetch
// BLOCKS-LABEL: func.func @prefill_no_prefetch
// BLOCKS-NOT:       memref.prefetch
func.func @gqa_decode(%q: tensor<2x16x1x8xbf16>, %k: tensor<2x2x64x8xbf16>, %v: tensor<2x2x64x8xbf16>)
    -> (tensor<2x16x1x8xbf16>, tensor<2x16x1xf32>) {
  %o, %lse = tessera.attention %q, %k, %v {causal = true}
      : (tensor<2x16x1x8xbf16>, tensor<2x2x64x8xbf16>, tensor<2x2x64x8xbf16>)
      -> (tensor<2x16x1x8xbf16>, tensor<2x16x1xf32>)
  return %o, %lse : tensor<2x16x1x8xbf16>, tensor<2x16x1xf32>
}

// -----

// Query tiles of several positions transpose K and are not prefetched.
func.func @prefill_no_prefetch(%q: tensor<1x2x12x16xf32>, %k: tensor<1x2x40x16xf32>, %v: tensor<1x2x40x16xf32>)
    -> tensor<1x2x12x16xf32> {
  %o = tessera.attention %q, %k, %v {causal = true}
      : (tensor<1x2x12x16xf32>, tensor<1x2x40x16xf32>, tensor<1x2x40x16xf32>) -> tensor<1x2x12x16xf32>
  return %o : tensor<1x2x12x16xf32>
}
