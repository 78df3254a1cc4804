// RUN: tessera-opt %s --tessera-vectorize --split-input-file | FileCheck %s
// RUN: tessera-opt %s --tessera-vectorize="vector-width=8 register-rows=4 register-vectors=1" --split-input-file | FileCheck %s --check-prefix=AVX2
// RUN: tessera-opt %s --tessera-vectorize="register-vectors=3" --split-input-file | FileCheck %s --check-prefix=WIDE

// A static matmul: 8x32 output blocks, one reduction step per iteration,
// a vector.contract of a column and a row into the register block.
// CHECK-LABEL: func.func @matmul_static
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C8:.+]] iter_args
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C32:.+]] iter_args
// CHECK: scf.for
// CHECK: vector.contract {{.*}} : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK-NOT: linalg.matmul
// AVX2-LABEL: func.func @matmul_static
// AVX2: vector.contract {{.*}} : vector<4x1xf32>, vector<1x8xf32> into vector<4x8xf32>
func.func @matmul_static(%a: tensor<64x128xf32>, %b: tensor<128x64xf32>, %c: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<64x128xf32>, tensor<128x64xf32>) outs(%c : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}

// -----

// Ragged sizes: full tiles are vectorized (40 = 32 + a peeled 8); the rows
// past the last multiple of 8 become single-row blocks, each with its own
// reduction loop, so no scalar matmul is left.
// CHECK-LABEL: func.func @matmul_ragged
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[FULL:.+]] step %[[C8:.+]] iter_args
// CHECK: vector.contract {{.*}} : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK: vector.contract {{.*}} : vector<8x1xf32>, vector<1x8xf32> into vector<8x8xf32>
// CHECK: scf.for %{{.+}} = %[[FULL]] to %{{.+}} step %[[C8]] iter_args
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C1:.+]] iter_args
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C1]] iter_args({{.+}}) -> (tensor<1x32xf32>)
// CHECK: vector.contract {{.*}} : vector<1x1xf32>, vector<1x32xf32> into vector<1x32xf32>
// CHECK: vector.contract {{.*}} : vector<1x1xf32>, vector<1x8xf32> into vector<1x8xf32>
// CHECK-NOT: linalg.matmul
func.func @matmul_ragged(%a: tensor<?x16xf32>, %b: tensor<16x40xf32>, %c: tensor<?x40xf32>) -> tensor<?x40xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<?x16xf32>, tensor<16x40xf32>) outs(%c : tensor<?x40xf32>) -> tensor<?x40xf32>
  return %r : tensor<?x40xf32>
}

// -----

// A static extent that is not a multiple of the block is split into power-of-
// two tiles (60 = 32 + 16 + 8 + 4 columns, 13 = 8 + 4 + 1 rows): every tile
// is vectorized with a native vector length.
// CHECK-LABEL: func.func @matmul_static_ladder
// CHECK-DAG: vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK-DAG: vector<8x1xf32>, vector<1x16xf32> into vector<8x16xf32>
// CHECK-DAG: vector<8x1xf32>, vector<1x8xf32> into vector<8x8xf32>
// CHECK-DAG: vector<8x1xf32>, vector<1x4xf32> into vector<8x4xf32>
// CHECK-DAG: vector<4x1xf32>, vector<1x32xf32> into vector<4x32xf32>
// CHECK-DAG: vector<4x1xf32>, vector<1x4xf32> into vector<4x4xf32>
// CHECK-DAG: vector<1x1xf32>, vector<1x32xf32> into vector<1x32xf32>
// CHECK-DAG: vector<1x1xf32>, vector<1x4xf32> into vector<1x4xf32>
// CHECK-NOT: linalg.matmul
// With a block that is not a power of two (3 vectors = 48 columns), the
// remainder ladder continues with the powers of two below it: 60 = 48 + 8 + 4.
// WIDE-LABEL: func.func @matmul_static_ladder
// WIDE-DAG: vector<8x1xf32>, vector<1x48xf32> into vector<8x48xf32>
// WIDE-DAG: vector<8x1xf32>, vector<1x8xf32> into vector<8x8xf32>
// WIDE-DAG: vector<8x1xf32>, vector<1x4xf32> into vector<8x4xf32>
// WIDE-NOT: vector<1x12xf32>
func.func @matmul_static_ladder(%a: tensor<13x16xf32>, %b: tensor<16x60xf32>, %c: tensor<13x60xf32>) -> tensor<13x60xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<13x16xf32>, tensor<16x60xf32>) outs(%c : tensor<13x60xf32>) -> tensor<13x60xf32>
  return %r : tensor<13x60xf32>
}

// -----

// Mixed input types cannot form a vector.contract: the generic vector form
// (broadcast, multiply, multi_reduction) is used instead.
// CHECK-LABEL: func.func @matmul_mixed
// CHECK-NOT: vector.contract
// CHECK: arith.extf %{{.+}} : vector<8x32x1xbf16> to vector<8x32x1xf32>
// CHECK: vector.multi_reduction <add>, %{{.+}}, %{{.+}} [2] : vector<8x32x1xf32> to vector<8x32xf32>
func.func @matmul_mixed(%a: tensor<8x16xf32>, %b: tensor<16x32xbf16>, %c: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<8x16xf32>, tensor<16x32xbf16>) outs(%c : tensor<8x32xf32>) -> tensor<8x32xf32>
  return %r : tensor<8x32xf32>
}

// -----

// Elementwise maps go in vector-width steps along the innermost loop.
// CHECK-LABEL: func.func @exp_rows
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C16:.+]] iter_args
// CHECK: math.exp2 %{{.+}} : vector<1x16xf32>
// AVX2-LABEL: func.func @exp_rows
// AVX2: math.exp2 %{{.+}} : vector<1x8xf32>
func.func @exp_rows(%a: tensor<4x48xf32>, %o: tensor<4x48xf32>) -> tensor<4x48xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<4x48xf32>) outs(%o : tensor<4x48xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp2 %in : f32
    linalg.yield %e : f32
  } -> tensor<4x48xf32>
  return %r : tensor<4x48xf32>
}

// -----

// A dynamic innermost extent: 16-wide tiles, then the remainder split into
// single elements, so every tile is vectorized and no linalg op is left.
// CHECK-LABEL: func.func @exp_ragged
// CHECK: math.exp2 %{{.+}} : vector<1x16xf32>
// CHECK: math.exp2 %{{.+}} : vector<1x1xf32>
// CHECK-NOT: linalg.generic
func.func @exp_ragged(%a: tensor<4x?xf32>, %o: tensor<4x?xf32>) -> tensor<4x?xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<4x?xf32>) outs(%o : tensor<4x?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp2 %in : f32
    linalg.yield %e : f32
  } -> tensor<4x?xf32>
  return %r : tensor<4x?xf32>
}

// -----

// Row reductions accumulate vector-width chunks into the row's value.
// CHECK-LABEL: func.func @row_max
// CHECK: vector.multi_reduction <maximumf>, %{{.+}}, %{{.+}} [1] : vector<1x16xf32> to vector<1xf32>
func.func @row_max(%a: tensor<4x64xf32>, %o: tensor<4xf32>) -> tensor<4xf32> {
  %r = linalg.reduce ins(%a : tensor<4x64xf32>) outs(%o : tensor<4xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %m = arith.maximumf %in, %acc : f32
      linalg.yield %m : f32
    }
  return %r : tensor<4xf32>
}

// -----

// Gathers (tensor.extract in the body) are left to the scalar loops.
// CHECK-LABEL: func.func @gather_left_alone
// CHECK-NOT: vector.
// CHECK: linalg.generic
// CHECK: tensor.extract
func.func @gather_left_alone(%t: tensor<8xf32>, %idx: tensor<4xi32>, %o: tensor<4xf32>) -> tensor<4xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%idx : tensor<4xi32>) outs(%o : tensor<4xf32>) {
  ^bb0(%i: i32, %out: f32):
    %ix = arith.index_cast %i : i32 to index
    %v = tensor.extract %t[%ix] : tensor<8xf32>
    linalg.yield %v : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// An empty iteration space (what canonicalization leaves of an empty expert
// segment) is left alone, not tiled.
// CHECK-LABEL: func.func @empty_extent
// CHECK: linalg.generic
// CHECK-NOT: vector.
func.func @empty_extent(%a: tensor<0x32xf32>, %out: tensor<0x32xbf16>) -> tensor<0x32xbf16> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<0x32xf32>) outs(%out : tensor<0x32xbf16>) {
  ^bb0(%x: f32, %o: bf16):
    %t = arith.truncf %x : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<0x32xbf16>
  return %r : tensor<0x32xbf16>
}

// -----

// A transposed read (the K^T tile of attention) is tiled 16 x 16: each
// block reads 16 rows of the input contiguously and transposes them in
// registers (vector.transfer_read with a permutation map, later a 16x16
// shuffle transpose), instead of gathering a strided column per vector.
// CHECK-LABEL: func.func @transpose_tile
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C16:.+]] iter_args
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C16]] iter_args
// CHECK: vector.transfer_read %{{.+}} {permutation_map = #{{.+}}} : tensor<16x16xf32>, vector<16x16xf32>
// CHECK: vector.transfer_write %{{.+}} : vector<16x16xf32>, tensor<16x16xf32>
func.func @transpose_tile(%k: tensor<64x128xf32>, %init: tensor<128x64xf32>) -> tensor<128x64xf32> {
  %t = linalg.transpose ins(%k : tensor<64x128xf32>) outs(%init : tensor<128x64xf32>) permutation = [1, 0]
  return %t : tensor<128x64xf32>
}

// -----

// Dot products along the last dimension of both inputs (decode attention's
// q · kᵀ with the K rows as stored, bf16 K widened in the body). A tile of
// few static rows (the query heads of one KV head) is one register block of
// all its rows and as many columns as fill the lanes (4 x 4 here): each K
// row is read once per block and FMAs into one accumulator per (row, column)
// with the row chunks of q, over the whole reduction. A tree of shuffles and
// adds then transposes as it sums: the accumulators enter it in bit-reversed
// slot order (slot = row * 4 + column: 0 with 8, 4 with 12, ...) so that the
// 16 sums leave it in slot order, i.e. as the 4 x 4 block. No transpose, no
// gather, no vector.contract. With 8 lanes (AVX2) the block is 4 x 2.
// CHECK-LABEL: func.func @dot_scores
// CHECK:       scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C4:.+]] iter_args(%{{.+}} = %{{.+}}) -> (tensor<4x24xf32>)
// CHECK:         %[[ACC:.+]]:16 = scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK:           %[[Q0:.+]] = vector.transfer_read %{{.+}} {in_bounds = [true]} : tensor<4x32xf32>, vector<16xf32>
// CHECK:           %[[Q1:.+]] = vector.transfer_read %{{.+}} {in_bounds = [true]} : tensor<4x32xf32>, vector<16xf32>
// CHECK:           %[[Q2:.+]] = vector.transfer_read %{{.+}} {in_bounds = [true]} : tensor<4x32xf32>, vector<16xf32>
// CHECK:           %[[Q3:.+]] = vector.transfer_read %{{.+}} {in_bounds = [true]} : tensor<4x32xf32>, vector<16xf32>
// CHECK:           %[[K0:.+]] = vector.transfer_read %{{.+}} {in_bounds = [true]} : tensor<4x32xbf16>, vector<16xbf16>
// CHECK:           %[[K0F:.+]] = arith.extf %[[K0]] : vector<16xbf16> to vector<16xf32>
// CHECK-NEXT:      vector.fma %[[Q0]], %[[K0F]], %{{.+}} : vector<16xf32>
// CHECK-NEXT:      vector.fma %[[Q1]], %[[K0F]], %{{.+}} : vector<16xf32>
// CHECK-NEXT:      vector.fma %[[Q2]], %[[K0F]], %{{.+}} : vector<16xf32>
// CHECK-NEXT:      vector.fma %[[Q3]], %[[K0F]], %{{.+}} : vector<16xf32>
// CHECK:           vector.transfer_read %{{.+}} : tensor<4x32xbf16>, vector<16xbf16>
// CHECK-COUNT-12:  vector.fma
// CHECK:           scf.yield
// CHECK:         vector.shuffle %[[ACC]]#0, %[[ACC]]#8 [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]
// CHECK-NEXT:    vector.shuffle %[[ACC]]#0, %[[ACC]]#8 [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31]
// CHECK-NEXT:    arith.addf
// CHECK-NEXT:    vector.shuffle %[[ACC]]#4, %[[ACC]]#12 [0, 1, 2, 3, 4, 5, 6, 7, 16,
// CHECK:         vector.shuffle %{{.+}}, %{{.+}} [0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27]
// CHECK:         vector.shuffle %{{.+}}, %{{.+}} [0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29]
// CHECK:         vector.shuffle %{{.+}}, %{{.+}} [0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30]
// CHECK-NEXT:    %[[ODD:.+]] = vector.shuffle %{{.+}}, %{{.+}} [1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31]
// CHECK-NEXT:    %[[SUMS:.+]] = arith.addf %{{.+}}, %[[ODD]] : vector<16xf32>
// CHECK-NEXT:    %[[BLOCK:.+]] = vector.shape_cast %[[SUMS]] : vector<16xf32> to vector<4x4xf32>
// CHECK:         %[[OLD:.+]] = vector.transfer_read %{{.+}} {in_bounds = [true, true]} : tensor<4x4xf32>, vector<4x4xf32>
// CHECK:         %[[NEW:.+]] = arith.addf %[[OLD]], %[[BLOCK]] : vector<4x4xf32>
// CHECK:         vector.transfer_write %[[NEW]], %{{.+}} {in_bounds = [true, true]} : vector<4x4xf32>, tensor<4x4xf32>
// CHECK-NOT:     vector.contract
// CHECK-NOT:     vector.transpose
// CHECK-NOT:     vector.gather
// CHECK-NOT:     linalg.generic
// AVX2-LABEL: func.func @dot_scores
// AVX2:         scf.for {{.*}} step %{{.+}} iter_args(%{{.+}} = %{{.+}}) -> (tensor<4x24xf32>)
// AVX2:         scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// AVX2:         vector.shuffle %{{.+}}#0, %{{.+}}#4 [0, 1, 2, 3, 8, 9, 10, 11] : vector<8xf32>, vector<8xf32>
// AVX2:         vector.shuffle %{{.+}}, %{{.+}} [1, 9, 3, 11, 5, 13, 7, 15] : vector<8xf32>, vector<8xf32>
// AVX2:         vector.shape_cast %{{.+}} : vector<8xf32> to vector<4x2xf32>
// AVX2:         vector.transfer_write %{{.+}} : vector<4x2xf32>, tensor<4x2xf32>
// AVX2-NOT:     vector.contract
func.func @dot_scores(%q: tensor<4x32xf32>, %k: tensor<24x32xbf16>,
                      %s: tensor<4x24xf32>) -> tensor<4x24xf32> {
  %0 = linalg.generic {
      indexing_maps = [affine_map<(i, j, d) -> (i, d)>,
                       affine_map<(i, j, d) -> (j, d)>,
                       affine_map<(i, j, d) -> (i, j)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<4x32xf32>, tensor<24x32xbf16>)
      outs(%s : tensor<4x24xf32>) {
  ^bb0(%a: f32, %b: bf16, %c: f32):
    %e = arith.extf %b : bf16 to f32
    %m = arith.mulf %a, %e : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  } -> tensor<4x24xf32>
  return %0 : tensor<4x24xf32>
}

// -----

// One row (MLA-like decode, or a dynamic row count): blocks of 1 x 16; the
// 8-column remainder pads the tree with zeros and keeps the first 8 sums.
// CHECK-LABEL: func.func @dot_scores_one_row
// CHECK:         scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK:           %[[ROW:.+]] = vector.transfer_read %{{.+}} {in_bounds = [true]} : tensor<1x32xf32>, vector<16xf32>
// CHECK-COUNT-16:  vector.fma %[[ROW]]
// CHECK:         vector.shape_cast %{{.+}} : vector<16xf32> to vector<1x16xf32>
// CHECK:         vector.transfer_write %{{.+}} : vector<1x16xf32>, tensor<1x16xf32>
// CHECK:         scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK:         vector.shape_cast %{{.+}} : vector<16xf32> to vector<1x16xf32>
// CHECK:         vector.extract_strided_slice %{{.+}} {offsets = [0, 0], sizes = [1, 8], strides = [1, 1]} : vector<1x16xf32> to vector<1x8xf32>
// CHECK:         vector.transfer_write %{{.+}} : vector<1x8xf32>, tensor<1x8xf32>
func.func @dot_scores_one_row(%q: tensor<1x32xf32>, %k: tensor<24x32xf32>,
                              %s: tensor<1x24xf32>) -> tensor<1x24xf32> {
  %0 = linalg.generic {
      indexing_maps = [affine_map<(i, j, d) -> (i, d)>,
                       affine_map<(i, j, d) -> (j, d)>,
                       affine_map<(i, j, d) -> (i, j)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<1x32xf32>, tensor<24x32xf32>)
      outs(%s : tensor<1x24xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x24xf32>
  return %0 : tensor<1x24xf32>
}

// -----

// Three rows (GQA 3) fill a 4 x 4 slot block with 12 accumulators: the slots
// of the missing fourth row enter the tree as zeros (the constant %cst) and
// the 3 x 4 block is sliced out of the 4 x 4 sums. f16 q rows are widened.
// CHECK-LABEL: func.func @dot_scores_three_rows
// CHECK:         %[[ACC:.+]]:12 = scf.for
// CHECK:           arith.extf %{{.+}} : vector<16xf16> to vector<16xf32>
// CHECK:         vector.shuffle %[[ACC]]#0, %[[ACC]]#8 [0, 1, 2, 3, 4, 5, 6, 7, 16,
// CHECK:         vector.shuffle %[[ACC]]#4, %[[ZERO:[a-z_0-9]+]] [0, 1, 2, 3, 4, 5, 6, 7, 16,
// CHECK:         vector.shape_cast %{{.+}} : vector<16xf32> to vector<4x4xf32>
// CHECK:         vector.extract_strided_slice %{{.+}} {offsets = [0, 0], sizes = [3, 4], strides = [1, 1]} : vector<4x4xf32> to vector<3x4xf32>
// CHECK:         vector.transfer_write %{{.+}} : vector<3x4xf32>, tensor<3x4xf32>
func.func @dot_scores_three_rows(%q: tensor<3x16xf16>, %k: tensor<8x16xf16>,
                                 %s: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %0 = linalg.generic {
      indexing_maps = [affine_map<(i, j, d) -> (i, d)>,
                       affine_map<(i, j, d) -> (j, d)>,
                       affine_map<(i, j, d) -> (i, j)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<3x16xf16>, tensor<8x16xf16>)
      outs(%s : tensor<3x8xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %ea = arith.extf %a : f16 to f32
    %e = arith.extf %b : f16 to f32
    %m = arith.mulf %ea, %e : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  } -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// -----

// The same with a reduction of 24 (not whole vectors of 16) and a body
// that is not only a multiply-add: the generic path, no dot-product blocks.
// CHECK-LABEL: func.func @dot_scores_fallback
// CHECK-NOT:     vector.fma
// CHECK:         vector.multi_reduction
// CHECK-LABEL: func.func @dot_scores_biased
// CHECK-NOT:     vector.fma
func.func @dot_scores_fallback(%q: tensor<4x24xf32>, %k: tensor<16x24xf32>,
                               %s: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %0 = linalg.generic {
      indexing_maps = [affine_map<(i, j, d) -> (i, d)>,
                       affine_map<(i, j, d) -> (j, d)>,
                       affine_map<(i, j, d) -> (i, j)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<4x24xf32>, tensor<16x24xf32>)
      outs(%s : tensor<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  } -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}
func.func @dot_scores_biased(%q: tensor<4x32xf32>, %k: tensor<16x32xf32>,
                             %s: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %one = arith.constant 1.0 : f32
  %0 = linalg.generic {
      indexing_maps = [affine_map<(i, j, d) -> (i, d)>,
                       affine_map<(i, j, d) -> (j, d)>,
                       affine_map<(i, j, d) -> (i, j)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<4x32xf32>, tensor<16x32xf32>)
      outs(%s : tensor<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.addf %b, %one : f32
    %m = arith.mulf %a, %p : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  } -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}
