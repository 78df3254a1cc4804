// RUN: tessera-opt %s --tessera-tile-grouped-matmul --split-input-file | FileCheck %s
// RUN: tessera-opt %s --tessera-tile-grouped-matmul="column-block=16 k-block=32" --split-input-file | FileCheck %s --check-prefix=SMALL
// RUN: tessera-opt %s --tessera-tile-grouped-matmul="row-block=1" --split-input-file | FileCheck %s --check-prefix=ONEROW
// RUN: tessera-opt %s --tessera-tile-grouped-matmul="bf16-dot=true" --split-input-file | FileCheck %s --check-prefix=DOT
// RUN: tessera-opt %s --tessera-tile-grouped-matmul="prefetch=true" --split-input-file | FileCheck %s --check-prefix=PREFETCH
// RUN: tessera-opt %s --tessera-tile-grouped-matmul="bf16-dot=true prefetch=true" --split-input-file | FileCheck %s --check-prefix=DOTPF

// f32 without epilogue: experts in order, a forall over 64-column blocks of
// the segment, K in blocks of 256 (the last one 300 - 256 rows), each weight
// block packed once into a dense f32 buffer, and the output block itself
// accumulating the products (no separate accumulator, no copy).
// CHECK-LABEL: func.func @plain_f32
// CHECK-SAME: (%[[ROWS:.+]]: tensor<40x300xf32>, %[[W:.+]]: tensor<4x300x192xf32>, %[[OFF:.+]]: tensor<5xi32>)
// Rows before the first segment and after the last one are zero.
// CHECK: %[[FIRST:.+]] = arith.minsi
// CHECK: %[[LAST:.+]] = scf.for {{.+}} -> (index)
// CHECK: linalg.fill
// CHECK: linalg.fill
// CHECK: scf.for %[[E:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%{{.+}}) -> (tensor<40x192xf32>)
// CHECK: %[[BEGIN:.+]] = arith.minsi
// CHECK: %[[LEN:.+]] = arith.subi
// CHECK: scf.forall (%[[NB:.+]]) in (3) shared_outs(%[[OUT:.+]] = %{{.+}}) -> (tensor<40x192xf32>)
// CHECK: %[[N0:.+]] = arith.muli %[[NB]], %{{.+}} : index
// CHECK: %[[DEST:.+]] = tensor.extract_slice %[[OUT]][%[[BEGIN]], %[[N0]]] [%[[LEN]], 64] [1, 1]
// CHECK: %[[ACC:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%[[DEST]] : tensor<?x64xf32>)
// CHECK: %[[PACK:.+]] = tensor.empty() : tensor<256x64xf32>
// CHECK: %[[RES:.+]] = scf.for %[[K0:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[A:.+]] = %[[ACC]]) -> (tensor<?x64xf32>)
// CHECK: %[[KW:.+]] = arith.minsi
// CHECK: %[[LHS:.+]] = tensor.extract_slice %[[ROWS]][%[[BEGIN]], %[[K0]]] [%[[LEN]], %[[KW]]]
// CHECK: %[[B:.+]] = tensor.extract_slice %[[W]][%[[E]], %[[K0]], %[[N0]]] [1, %[[KW]], 64] [1, 1, 1] : tensor<4x300x192xf32> to tensor<?x64xf32>
// CHECK: %[[BUF:.+]] = tensor.extract_slice %[[PACK]][0, 0]
// CHECK: %[[PACKED:.+]] = linalg.copy ins(%[[B]] : tensor<?x64xf32>) outs(%[[BUF]] : tensor<?x64xf32>)
// The rows in a multiple of 8 (the register block), then blocks of 4, 2
// and 1 rows under scf.if, each with a static row extent.
// CHECK: %[[FULL:.+]] = arith.andi %[[LEN]], %{{.+}} : index
// CHECK: %[[A8:.+]] = tensor.extract_slice %[[LHS]][%{{.+}}, 0] [%[[FULL]], %[[KW]]]
// CHECK: %[[C8:.+]] = tensor.extract_slice %[[A]][%{{.+}}, 0] [%[[FULL]], 64]
// CHECK: linalg.matmul ins(%[[A8]], %[[PACKED]] : tensor<?x?xf32>, tensor<?x64xf32>) outs(%[[C8]] : tensor<?x64xf32>)
// CHECK: scf.if
// CHECK: linalg.matmul ins(%{{.+}}, %[[PACKED]] : tensor<4x?xf32>, tensor<?x64xf32>) outs(%{{.+}} : tensor<4x64xf32>)
// CHECK: scf.if
// CHECK: linalg.matmul ins(%{{.+}}, %[[PACKED]] : tensor<2x?xf32>, tensor<?x64xf32>) outs(%{{.+}} : tensor<2x64xf32>)
// CHECK: %[[LAST:.+]] = scf.if
// CHECK: linalg.matmul ins(%{{.+}}, %[[PACKED]] : tensor<1x?xf32>, tensor<?x64xf32>) outs(%{{.+}} : tensor<1x64xf32>)
// CHECK: scf.yield %[[LAST]]
// CHECK-NOT: linalg.generic
// CHECK: tensor.parallel_insert_slice %[[RES]] into %[[OUT]][%[[BEGIN]], %[[N0]]] [%[[LEN]], 64] [1, 1]
// CHECK-NOT: tessera.grouped_matmul
// SMALL-LABEL: func.func @plain_f32
// SMALL: scf.forall (%{{.+}}) in (12)
// SMALL: tensor.empty() : tensor<32x16xf32>
// SMALL: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C32:.+]] iter_args
// With row-block=1 the segment is one matmul, no scf.if.
// ONEROW-LABEL: func.func @plain_f32
// ONEROW: linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<?x?xf32>, tensor<?x64xf32>)
// ONEROW-NOT: scf.if
// ONEROW-LABEL: func.func @swiglu_bf16
func.func @plain_f32(%rows: tensor<40x300xf32>, %w: tensor<4x300x192xf32>, %offsets: tensor<5xi32>)
    -> tensor<40x192xf32> {
  %y = tessera.grouped_matmul %rows, %w, %offsets
      : (tensor<40x300xf32>, tensor<4x300x192xf32>, tensor<5xi32>) -> tensor<40x192xf32>
  return %y : tensor<40x192xf32>
}

// -----

// SwiGLU on bf16: each column block accumulates the gate columns n0.. and
// the up columns 128 + n0.. side by side in f32 (the rows and both weight
// blocks widened once per K block), then applies silu(gate) * up and rounds
// to bf16 straight into the output block. K = 200 fits in one block.
// CHECK-LABEL: func.func @swiglu_bf16
// CHECK: scf.forall (%[[NB:.+]]) in (2) shared_outs(%[[OUT:.+]] = %{{.+}}) -> (tensor<40x128xbf16>)
// CHECK: %[[N0:.+]] = arith.muli %[[NB]]
// CHECK: %[[DEST:.+]] = tensor.extract_slice %[[OUT]]{{.+}} to tensor<?x64xbf16>
// CHECK: %[[GATE0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?x64xf32>)
// CHECK: %[[UP0:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?x64xf32>)
// CHECK: %[[UPCOL:.+]] = arith.addi %[[N0]], %{{.+}} : index
// CHECK: tensor.empty() : tensor<200x64xf32>
// CHECK: tensor.empty() : tensor<200x64xf32>
// CHECK: tensor.empty(%{{.+}}) : tensor<?x200xf32>
// CHECK: %[[ACCS:.+]]:2 = scf.for {{.+}} iter_args(%[[G:.+]] = %[[GATE0]], %[[U:.+]] = %[[UP0]])
// CHECK: %[[LHS:.+]] = linalg.generic {{.+}} ins(%{{.+}} : tensor<?x200xbf16>) outs(%{{.+}} : tensor<?x200xf32>)
// CHECK: arith.extf
// CHECK: tensor.extract_slice %{{.+}}[%{{.+}}, %{{.+}}, %[[N0]]] [1, 200, 64] [1, 1, 1] : tensor<4x200x256xbf16> to tensor<200x64xbf16>
// CHECK: %[[GB:.+]] = linalg.generic {{.+}} outs(%{{.+}} : tensor<200x64xf32>)
// CHECK: linalg.matmul ins(%{{.+}}, %[[GB]] : tensor<?x200xf32>, tensor<200x64xf32>) outs(%{{.+}} : tensor<?x64xf32>)
// CHECK: tensor.extract_slice %{{.+}}[%{{.+}}, %{{.+}}, %[[UPCOL]]] [1, 200, 64] [1, 1, 1] : tensor<4x200x256xbf16> to tensor<200x64xbf16>
// CHECK: %[[UB:.+]] = linalg.generic {{.+}} outs(%{{.+}} : tensor<200x64xf32>)
// CHECK: linalg.matmul ins(%{{.+}}, %[[UB]] : tensor<?x200xf32>, tensor<200x64xf32>) outs(%{{.+}} : tensor<?x64xf32>)
// CHECK: %[[ACT:.+]] = linalg.generic {{.+}} ins(%[[ACCS]]#0, %[[ACCS]]#1 : tensor<?x64xf32>, tensor<?x64xf32>) outs(%[[DEST]] : tensor<?x64xbf16>)
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: arith.mulf
// CHECK: arith.truncf %{{.+}} : f32 to bf16
// CHECK: tensor.parallel_insert_slice %[[ACT]] into %[[OUT]]
func.func @swiglu_bf16(%rows: tensor<40x200xbf16>, %w: tensor<4x200x256xbf16>, %offsets: tensor<5xi32>)
    -> tensor<40x128xbf16> {
  %y = tessera.grouped_matmul %rows, %w, %offsets {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<40x200xbf16>, tensor<4x200x256xbf16>, tensor<5xi32>) -> tensor<40x128xbf16>
  return %y : tensor<40x128xbf16>
}

// -----

// Dynamic sizes: ceildiv(N, 64) column blocks, block extents
// min(block, size - offset), f16 widened to f32 for the products.
// CHECK-LABEL: func.func @dynamic
// CHECK: %[[NBLOCKS:.+]] = arith.ceildivui %{{.+}}, %{{.+}} : index
// CHECK: scf.forall (%{{.+}}) in (%[[NBLOCKS]])
// CHECK: arith.minsi
// CHECK: linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<?x?xf32>, tensor<?x?xf32>)
// CHECK: arith.truncf %{{.+}} : f32 to f16
func.func @dynamic(%rows: tensor<?x?xf16>, %w: tensor<?x?x?xf16>, %offsets: tensor<?xi32>)
    -> tensor<?x?xf16> {
  %y = tessera.grouped_matmul %rows, %w, %offsets
      : (tensor<?x?xf16>, tensor<?x?x?xf16>, tensor<?xi32>) -> tensor<?x?xf16>
  return %y : tensor<?x?xf16>
}

// -----

// Gathered rows and a row scale (tessera-fuse-moe): each expert's rows are
// gathered once from x, widened to f32 (zeros for an index outside the 10
// rows of x), before its column blocks; the blocks read the gathered rows
// from row 0; the scale of the segment's rows multiplies the SwiGLU result
// before the rounding.
// CHECK-LABEL: func.func @gather_scale_bf16
// CHECK-SAME: (%[[X:.+]]: tensor<10x300xbf16>, %[[W:.+]]: tensor<4x300x128xbf16>, %[[OFF:.+]]: tensor<5xi32>, %[[INDEX:.+]]: tensor<40xi32>, %[[S:.+]]: tensor<40xf32>)
// CHECK-DAG: %[[C10:.+]] = arith.constant 10 : index
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%{{.+}}) -> (tensor<40x64xbf16>)
// CHECK: %[[BEGIN:.+]] = arith.minsi
// CHECK: %[[LEN:.+]] = arith.subi
// CHECK: %[[SEGINDEX:.+]] = tensor.extract_slice %[[INDEX]][%[[BEGIN]]] [%[[LEN]]] [1]
// CHECK: %[[GATHERED:.+]] = linalg.generic {{.+}} ins(%[[SEGINDEX]] : tensor<?xi32>) outs(%{{.+}} : tensor<?x300xf32>)
// CHECK: %[[VALID:.+]] = arith.cmpi ult, %{{.+}}, %[[C10]] : index
// CHECK: scf.if %[[VALID]] -> (f32)
// CHECK: tensor.extract %[[X]]
// CHECK: arith.extf
// CHECK: scf.forall
// CHECK: scf.for %[[K0:[a-z0-9_]+]] =
// CHECK: tensor.extract_slice %[[GATHERED]][0, %[[K0]]] [%[[LEN]], %{{.+}}]
// CHECK-NOT: tensor.extract_slice %[[X]]
// CHECK: %[[SEGSCALE:.+]] = tensor.extract_slice %[[S]][%[[BEGIN]]] [%[[LEN]]] [1]
// CHECK: linalg.generic {{.+}} ins(%{{.+}}, %{{.+}}, %[[SEGSCALE]] : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?xf32>)
// CHECK: math.exp
// CHECK: %[[H:.+]] = arith.mulf
// CHECK: %[[SCALED:.+]] = arith.mulf %[[H]], %{{.+}} : f32
// CHECK: arith.truncf %[[SCALED]] : f32 to bf16
func.func @gather_scale_bf16(%x: tensor<10x300xbf16>, %w: tensor<4x300x128xbf16>, %off: tensor<5xi32>,
                             %index: tensor<40xi32>, %s: tensor<40xf32>) -> tensor<40x64xbf16> {
  %y = tessera.grouped_matmul %x, %w, %off gather %index scale %s {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<10x300xbf16>, tensor<4x300x128xbf16>, tensor<5xi32>, tensor<40xi32>, tensor<40xf32>) -> tensor<40x64xbf16>
  return %y : tensor<40x64xbf16>
}

// -----

// A scaled f32 GEMM without epilogue needs an accumulator and the scaling
// pass: its output block is no longer its own accumulator.
// CHECK-LABEL: func.func @scale_f32
// CHECK: scf.forall
// CHECK: %[[ACC:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?x64xf32>)
// CHECK: %[[RES:.+]] = scf.for {{.+}} iter_args(%{{.+}} = %[[ACC]])
// CHECK: linalg.generic {{.+}} ins(%[[RES]], %{{.+}} : tensor<?x64xf32>, tensor<?xf32>) outs(%{{.+}} : tensor<?x64xf32>)
// CHECK: arith.mulf
func.func @scale_f32(%rows: tensor<40x32xf32>, %w: tensor<4x32x64xf32>, %off: tensor<5xi32>,
                     %s: tensor<40xf32>) -> tensor<40x64xf32> {
  %y = tessera.grouped_matmul %rows, %w, %off scale %s
      : (tensor<40x32xf32>, tensor<4x32x64xf32>, tensor<5xi32>, tensor<40xf32>) -> tensor<40x64xf32>
  return %y : tensor<40x64xf32>
}

// -----

// bf16-dot: K = 300 (even) in blocks of 256, two 32-column register blocks
// per 64-column block. Each weight block is packed into pairs of K
// ([128, 2 * 64] bf16: rows k and k+1 interleaved by vector.shuffle), then
// the rows run in register blocks of 8 (an scf.for) and 4, 2, 1 (scf.if):
// 16 f32 accumulators carried through the K pairs, two packed vectors and
// one broadcast (bf16, bf16) pair per row, 16 x86vector.avx512.dot.
// Without the option (the default RUN line) the same op widens to f32.
// DOT-LABEL: func.func @dot_bf16
// DOT-SAME: (%[[ROWS:.+]]: tensor<40x300xbf16>, %[[W:.+]]: tensor<4x300x128xbf16>
// DOT: scf.forall
// DOT: %[[BUF:.+]] = tensor.empty() : tensor<128x128xbf16>
// DOT: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%{{.+}}, %{{.+}}) -> (tensor<?x64xf32>, tensor<?x64xf32>)
// DOT: %[[PACKED:.+]] = scf.for %[[P:[a-z0-9_]+]] = {{.+}} iter_args(%{{.+}} = %[[BUF]]) -> (tensor<128x128xbf16>)
// DOT: %[[R0:.+]] = vector.transfer_read %[[W]]{{.+}} : tensor<4x300x128xbf16>, vector<32xbf16>
// DOT: %[[R1:.+]] = vector.transfer_read %[[W]]{{.+}} : tensor<4x300x128xbf16>, vector<32xbf16>
// DOT: vector.shuffle %[[R0]], %[[R1]] [0, 32, 1, 33, 2, 34
// DOT: vector.transfer_write %{{.+}}, %{{.+}}[%[[P]], %{{.+}}] {in_bounds = [true]} : vector<64xbf16>, tensor<128x128xbf16>
// DOT: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c8 iter_args(%{{.+}}) -> (tensor<?x64xf32>)
// DOT-COUNT-16: vector.transfer_read {{.+}} : tensor<?x64xf32>, vector<16xf32>
// DOT: scf.for {{.+}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// DOT: %[[B0:.+]] = vector.transfer_read %[[PACKED]]{{.+}} : tensor<128x128xbf16>, vector<32xbf16>
// DOT: %[[B1:.+]] = vector.transfer_read %[[PACKED]]{{.+}} : tensor<128x128xbf16>, vector<32xbf16>
// DOT: %[[PAIR:.+]] = vector.transfer_read %[[ROWS]]{{.+}} : tensor<40x300xbf16>, vector<2xbf16>
// DOT: %[[WORD:.+]] = vector.bitcast %[[PAIR]] : vector<2xbf16> to vector<1xi32>
// DOT: %[[SPLAT:.+]] = vector.broadcast %[[WORD]] : vector<1xi32> to vector<16xi32>
// DOT: %[[A:.+]] = vector.bitcast %[[SPLAT]] : vector<16xi32> to vector<32xbf16>
// DOT: x86vector.avx512.dot %{{.+}}, %[[A]], %[[B0]] : vector<32xbf16> -> vector<16xf32>
// DOT: x86vector.avx512.dot %{{.+}}, %[[A]], %[[B1]] : vector<32xbf16> -> vector<16xf32>
// DOT-COUNT-14: x86vector.avx512.dot
// DOT: scf.if
// DOT-COUNT-8: x86vector.avx512.dot
// DOT: math.exp
// DOT: arith.truncf %{{.+}} : f32 to bf16
// CHECK-LABEL: func.func @dot_bf16
// CHECK-NOT: x86vector
func.func @dot_bf16(%rows: tensor<40x300xbf16>, %w: tensor<4x300x128xbf16>, %offsets: tensor<5xi32>)
    -> tensor<40x64xbf16> {
  %y = tessera.grouped_matmul %rows, %w, %offsets {epilogue = #tessera.epilogue<swiglu>}
      : (tensor<40x300xbf16>, tensor<4x300x128xbf16>, tensor<5xi32>) -> tensor<40x64xbf16>
  return %y : tensor<40x64xbf16>
}

// -----

// bf16-dot needs an even K: K = 301 keeps the widening f32 path.
// DOT-LABEL: func.func @dot_odd_k
// DOT-NOT: x86vector
// DOT: linalg.matmul ins(%{{.+}}, %{{.+}} : tensor<?x?xf32>, tensor<?x64xf32>)
func.func @dot_odd_k(%rows: tensor<40x301xbf16>, %w: tensor<4x301x64xbf16>, %offsets: tensor<5xi32>)
    -> tensor<40x64xbf16> {
  %y = tessera.grouped_matmul %rows, %w, %offsets
      : (tensor<40x301xbf16>, tensor<4x301x64xbf16>, tensor<5xi32>) -> tensor<40x64xbf16>
  return %y : tensor<40x64xbf16>
}

// -----

// prefetch=true: 64-column blocks (a multiple of 32) multiply in explicit
// register blocks. The weight block is packed as before; the full row
// blocks (scf.for, step 8) each carry 16 accumulators of 16 lanes through
// K loops that run in chunks of `period` steps, each chunk after the
// prefetch of the 4 lines (64 f32) of one row of the next weight block
// (k0 + 256 + slot * rowsPerSlot + chunk, clamped to the block and to
// the last row, 299); per step two vectors of the packed block, one
// broadcast per row and 16 vector.fma. The remainder blocks (4, 2, 1 rows,
// scf.if) do not prefetch.
// PREFETCH-LABEL: func.func @prefetch_f32
// PREFETCH-SAME: (%[[ROWS:.+]]: tensor<40x300xf32>, %[[W:.+]]: tensor<4x300x128xf32>
// PREFETCH: scf.forall
// PREFETCH: scf.for %[[K0:[a-z0-9_]+]] = %c0 to %c300 step %c256
// PREFETCH: %[[LHS:.+]] = tensor.extract_slice %[[ROWS]]
// PREFETCH: %[[PACKED:.+]] = linalg.copy
// PREFETCH: %[[WBUF:.+]] = bufferization.to_buffer %[[W]] read_only
// PREFETCH: %[[NEXT:.+]] = arith.addi %[[K0]], %c256
// PREFETCH: %[[RPS:.+]] = arith.ceildivui %c256
// PREFETCH: %[[Q:.+]] = arith.divui %c256, %[[RPS]]
// PREFETCH: %[[PERIOD:.+]] = arith.maxui %[[Q]], %c1
// PREFETCH: scf.for %[[R0:[a-z0-9_]+]] = %c0 to %{{.+}} step %c8
// PREFETCH-COUNT-16: vector.transfer_read {{.+}} : tensor<?x64xf32>, vector<16xf32>
// PREFETCH: scf.for %[[KK:[a-z0-9_]+]] = %c0 to %{{.+}} step %[[PERIOD]] iter_args({{.+}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// PREFETCH: arith.divui %[[KK]], %[[PERIOD]]
// PREFETCH: arith.minui %{{.+}}, %c255
// PREFETCH: %[[SUM:.+]] = arith.addi %[[NEXT]], %{{.+}}
// PREFETCH: %[[ROW:.+]] = arith.minsi %[[SUM]], %c299
// PREFETCH: memref.prefetch %[[WBUF]][%{{.+}}, %[[ROW]], %[[COL:.+]]], read, locality<3>, data
// PREFETCH-COUNT-3: memref.prefetch %[[WBUF]][%{{.+}}, %[[ROW]], %{{.+}}], read, locality<3>, data
// PREFETCH: scf.for %[[K:[a-z0-9_]+]] = %[[KK]] to %{{.+}} step %c1
// PREFETCH: %[[B0:.+]] = vector.transfer_read %[[PACKED]][%[[K]], %c0]
// PREFETCH: %[[B1:.+]] = vector.transfer_read %[[PACKED]][%[[K]], %c16]
// PREFETCH: %[[A:.+]] = tensor.extract %[[LHS]][%[[R0]], %[[K]]]
// PREFETCH: %[[SPLAT:.+]] = vector.broadcast %[[A]] : f32 to vector<16xf32>
// PREFETCH: vector.fma %[[SPLAT]], %[[B0]]
// PREFETCH: vector.fma %[[SPLAT]], %[[B1]]
// PREFETCH-COUNT-14: vector.fma
// The second 32-column group: the same loops, slots one further.
// PREFETCH: vector.transfer_read %{{.+}}[%[[R0]], %c32]
// PREFETCH: memref.prefetch %[[WBUF]]
// PREFETCH-COUNT-16: vector.fma
// PREFETCH: scf.if
// PREFETCH-NOT: memref.prefetch
// PREFETCH-COUNT-8: vector.fma
// PREFETCH: return
// CHECK-LABEL: func.func @prefetch_f32
// CHECK-NOT: memref.prefetch
// CHECK: linalg.matmul
func.func @prefetch_f32(%rows: tensor<40x300xf32>, %w: tensor<4x300x128xf32>, %offsets: tensor<5xi32>)
    -> tensor<40x128xf32> {
  %y = tessera.grouped_matmul %rows, %w, %offsets
      : (tensor<40x300xf32>, tensor<4x300x128xf32>, tensor<5xi32>) -> tensor<40x128xf32>
  return %y : tensor<40x128xf32>
}

// -----

// Blocks whose width is not a static multiple of 32 (80 = 64 + a dynamic
// 16) keep linalg.matmul, without prefetches.
// PREFETCH-LABEL: func.func @prefetch_fallback
// PREFETCH-NOT: memref.prefetch
// PREFETCH: linalg.matmul
// PREFETCH-NOT: memref.prefetch
// PREFETCH: return
func.func @prefetch_fallback(%rows: tensor<40x300xf32>, %w: tensor<4x300x80xf32>, %offsets: tensor<5xi32>)
    -> tensor<40x80xf32> {
  %y = tessera.grouped_matmul %rows, %w, %offsets
      : (tensor<40x300xf32>, tensor<4x300x80xf32>, tensor<5xi32>) -> tensor<40x80xf32>
  return %y : tensor<40x80xf32>
}

// -----

// bf16-dot=true prefetch=true: the dot-product register blocks prefetch the
// next weight block too. Their K loops step over pairs of K, so each chunk
// of `period` pairs prefetches two rows (2 * chunk and 2 * chunk + 1 of
// the slot's share), 2 lines (64 bf16) each; per pair two vectors of the
// packed pairs and 16 vdpbf16ps. The remainder blocks do not prefetch.
// DOTPF-LABEL: func.func @prefetch_dot_bf16
// DOTPF-SAME: (%[[ROWS:.+]]: tensor<40x300xbf16>, %[[W:.+]]: tensor<4x300x128xbf16>
// DOTPF: scf.for %[[K0:[a-z0-9_]+]] = %c0 to %c300 step %c256
// DOTPF: %[[PAIRS:.+]] = arith.divui %{{.+}}, %c2
// DOTPF: %[[PACKED:.+]] = scf.for {{.+}} -> (tensor<128x128xbf16>)
// DOTPF: vector.shuffle
// DOTPF: %[[WBUF:.+]] = bufferization.to_buffer %[[W]] read_only
// DOTPF: %[[NEXT:.+]] = arith.addi %[[K0]], %c256
// DOTPF: %[[RPS:.+]] = arith.ceildivui %c256
// DOTPF: %[[Q:.+]] = arith.divui %c256, %[[RPS]]
// DOTPF: %[[PERIOD:.+]] = arith.maxui %[[Q]], %c1
// DOTPF: scf.for %{{.+}} = %c0 to %{{.+}} step %c8
// DOTPF-COUNT-16: vector.transfer_read {{.+}} : tensor<?x64xf32>, vector<16xf32>
// DOTPF: scf.for %[[PP:[a-z0-9_]+]] = %c0 to %[[PAIRS]] step %[[PERIOD]]
// DOTPF: %[[CHUNK:.+]] = arith.divui %[[PP]], %[[PERIOD]]
// DOTPF: %[[FIRST:.+]] = arith.muli %[[CHUNK]], %c2
// DOTPF: arith.minui %{{.+}}, %c255
// DOTPF: %[[SUM0:.+]] = arith.addi %[[NEXT]], %{{.+}}
// DOTPF: %[[ROW0:.+]] = arith.minsi %[[SUM0]], %c299
// DOTPF-COUNT-2: memref.prefetch %[[WBUF]][%{{.+}}, %[[ROW0]], %{{.+}}], read, locality<3>, data
// DOTPF: arith.addi %[[FIRST]], %c1
// DOTPF: %[[SUM1:.+]] = arith.addi %[[NEXT]], %{{.+}}
// DOTPF: %[[ROW1:.+]] = arith.minsi %[[SUM1]], %c299
// DOTPF-COUNT-2: memref.prefetch %[[WBUF]][%{{.+}}, %[[ROW1]], %{{.+}}], read, locality<3>, data
// DOTPF-NOT: memref.prefetch
// DOTPF: scf.for %[[P:[a-z0-9_]+]] = %[[PP]] to %{{.+}} step %c1
// DOTPF: vector.transfer_read %[[PACKED]][%[[P]], %c0]
// DOTPF: vector.transfer_read %[[PACKED]][%[[P]], %c32]
// DOTPF-COUNT-16: x86vector.avx512.dot
// The second 32-column group: slots one further.
// DOTPF: memref.prefetch %[[WBUF]]
// DOTPF-COUNT-16: x86vector.avx512.dot
// DOTPF: scf.if
// DOTPF-NOT: memref.prefetch
// DOTPF-COUNT-8: x86vector.avx512.dot
// DOTPF: return
func.func @prefetch_dot_bf16(%rows: tensor<40x300xbf16>, %w: tensor<4x300x128xbf16>, %offsets: tensor<5xi32>)
    -> tensor<40x128xbf16> {
  %y = tessera.grouped_matmul %rows, %w, %offsets
      : (tensor<40x300xbf16>, tensor<4x300x128xbf16>, tensor<5xi32>) -> tensor<40x128xbf16>
  return %y : tensor<40x128xbf16>
}
