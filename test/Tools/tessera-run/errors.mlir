// Every misuse is reported on one line on stderr and exits with 1.

// RUN: rm -rf %t && mkdir -p %t
// RUN: %numpy_python %S/Inputs/npy.py %t make \
// RUN:   a "np.ones((2, 3), 'f4')" \
// RUN:   b "np.ones((3, 4), 'f4')" \
// RUN:   a_i64 "np.ones((2, 3), 'i8')" \
// RUN:   a_t "np.ones((3, 2), 'f4')" \
// RUN:   a_3d "np.ones((2, 3, 1), 'f4')" \
// RUN:   i_i64 "np.ones((4,), 'i8')" \
// RUN:   i_f32 "np.ones((4,), 'f4')"
// RUN: printf 'not an npy file' > %t/garbage.npy

// RUN: not tessera-run %s --entry=nope --input=%t/a.npy 2>&1 \
// RUN:   | FileCheck %s --check-prefix=NO-FUNC
// NO-FUNC: tessera-run: error: no function 'nope' in {{.*}}errors.mlir{{$}}

// RUN: not tessera-run %s --entry=main --input=%t/a.npy 2>&1 \
// RUN:   | FileCheck %s --check-prefix=COUNT
// COUNT: tessera-run: error: function 'main' takes 2 arguments but 1 --input file was given{{$}}

// RUN: not tessera-run %s --entry=main 2>&1 \
// RUN:   | FileCheck %s --check-prefix=NONE
// NONE: tessera-run: error: function 'main' takes 2 arguments but 0 --input files were given (use --input or --random-inputs){{$}}

// RUN: not tessera-run %s --entry=main --input=%t/a_i64.npy \
// RUN:   --input=%t/b.npy 2>&1 | FileCheck %s --check-prefix=DTYPE
// DTYPE: tessera-run: error: input #0 ('{{.*}}a_i64.npy'): element type i64 does not match argument #0 of type tensor<2x3xf32> (expected f32 data){{$}}

// RUN: not tessera-run %s --entry=ints --input=%t/i_i64.npy 2>&1 \
// RUN:   | FileCheck %s --check-prefix=I64-FOR-I32
// I64-FOR-I32: tessera-run: error: input #0 ('{{.*}}i_i64.npy'): element type i64 does not match argument #0 of type tensor<4xi32> (expected i32 data){{$}}

// RUN: not tessera-run %s --entry=halves --input=%t/i_f32.npy \
// RUN:   --input=%t/i_f32.npy 2>&1 | FileCheck %s --check-prefix=F32-FOR-F16
// RUN: not tessera-run %s --entry=halves --input=%t/i_i64.npy \
// RUN:   --input=%t/i_f32.npy 2>&1 | FileCheck %s --check-prefix=I64-FOR-F16
// F32-FOR-F16: input #1 ('{{.*}}i_f32.npy'): shape (4,) does not match argument #1 of type tensor<2xbf16>{{$}}
// I64-FOR-F16: input #0 ('{{.*}}i_i64.npy'): element type i64 does not match argument #0 of type tensor<4xf16> (expected f32 or f16 data){{$}}

// RUN: not tessera-run %s --entry=main --input=%t/a_t.npy \
// RUN:   --input=%t/b.npy 2>&1 | FileCheck %s --check-prefix=SHAPE
// SHAPE: tessera-run: error: input #0 ('{{.*}}a_t.npy'): shape (3, 2) does not match argument #0 of type tensor<2x3xf32>{{$}}

// RUN: not tessera-run %s --entry=main --input=%t/a.npy \
// RUN:   --input=%t/a_3d.npy 2>&1 | FileCheck %s --check-prefix=RANK
// RANK: tessera-run: error: input #1 ('{{.*}}a_3d.npy'): shape (2, 3, 1) does not match argument #1 of type tensor<3x4xf32>{{$}}

// RUN: not tessera-run %s --entry=main --input=%t/missing.npy \
// RUN:   --input=%t/b.npy 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: tessera-run: error: input #0: {{.*}}missing.npy: cannot open: {{.+$}}

// RUN: not tessera-run %s --entry=main --input=%t/garbage.npy \
// RUN:   --input=%t/b.npy 2>&1 | FileCheck %s --check-prefix=GARBAGE
// GARBAGE: tessera-run: error: input #0: {{.*}}garbage.npy: not a .npy file (bad magic string){{$}}

// RUN: not tessera-run %s --entry=main --input=%t/a.npy --input=%t/b.npy \
// RUN:   --output=%t/1.npy --output=%t/2.npy 2>&1 \
// RUN:   | FileCheck %s --check-prefix=OUTPUTS
// OUTPUTS: tessera-run: error: 2 --output files given but function 'main' returns 1 result{{$}}

// RUN: not tessera-run %s --entry=main --input=%t/a.npy --input=%t/b.npy \
// RUN:   --output=%t/no/such/dir/c.npy 2>&1 \
// RUN:   | FileCheck %s --check-prefix=WRITE
// WRITE: tessera-run: error: {{.*}}c.npy: cannot open for writing: {{.+$}}

// RUN: not tessera-run %s --entry=main --input=%t/a.npy --input=%t/b.npy \
// RUN:   --random-inputs=1 2>&1 | FileCheck %s --check-prefix=BOTH
// BOTH: tessera-run: error: --input and --random-inputs cannot be combined{{$}}

// RUN: not tessera-run %s --entry=dynamic --random-inputs=1 2>&1 \
// RUN:   | FileCheck %s --check-prefix=RANDOM-DYNAMIC
// RANDOM-DYNAMIC: tessera-run: error: argument #0 has type tensor<?x3xf32>; --random-inputs needs static shapes (use --input){{$}}

// RUN: not tessera-run %s --entry=scalar --random-inputs=1 2>&1 \
// RUN:   | FileCheck %s --check-prefix=SCALAR
// SCALAR: tessera-run: error: argument #0 has type f32; only ranked tensors are supported{{$}}

// RUN: not tessera-run %s --entry=wide --random-inputs=1 2>&1 \
// RUN:   | FileCheck %s --check-prefix=ELEMENT
// ELEMENT: tessera-run: error: result #0 has type tensor<4xf64>; supported element types are f32, f16, bf16, i32, i64{{$}}

// RUN: not tessera-run %s --entry=declaration 2>&1 \
// RUN:   | FileCheck %s --check-prefix=DECLARATION
// DECLARATION: tessera-run: error: function 'declaration' has no body{{$}}

// RUN: not tessera-run %t/missing.mlir --entry=main 2>&1 \
// RUN:   | FileCheck %s --check-prefix=NO-FILE
// NO-FILE: tessera-run: error: cannot open input file '{{.*}}missing.mlir': {{.+$}}

// Parser errors go through the MLIR diagnostics.
// RUN: not tessera-run %S/Inputs/parse-error.mlir --entry=f 2>&1 \
// RUN:   | FileCheck %s --check-prefix=PARSE
// PARSE: parse-error.mlir:2:{{[0-9]+}}: error: expected ')'

func.func @main(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>)
      -> tensor<2x4xf32>
  %c = linalg.matmul ins(%a, %b : tensor<2x3xf32>, tensor<3x4xf32>)
                     outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %c : tensor<2x4xf32>
}

func.func @ints(%i: tensor<4xi32>) -> tensor<4xi32> {
  %e = tensor.empty() : tensor<4xi32>
  %c = linalg.copy ins(%i : tensor<4xi32>) outs(%e : tensor<4xi32>)
      -> tensor<4xi32>
  return %c : tensor<4xi32>
}

func.func @halves(%h: tensor<4xf16>, %b: tensor<2xbf16>) -> tensor<4xf16> {
  %e = tensor.empty() : tensor<4xf16>
  %c = linalg.copy ins(%h : tensor<4xf16>) outs(%e : tensor<4xf16>)
      -> tensor<4xf16>
  return %c : tensor<4xf16>
}

func.func @dynamic(%a: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %a, %c0 : tensor<?x3xf32>
  %e = tensor.empty(%m) : tensor<?x3xf32>
  %c = linalg.copy ins(%a : tensor<?x3xf32>) outs(%e : tensor<?x3xf32>)
      -> tensor<?x3xf32>
  return %c : tensor<?x3xf32>
}

func.func @scalar(%a: f32) -> f32 {
  return %a : f32
}

func.func @wide(%a: tensor<4xf32>) -> tensor<4xf64> {
  %e = tensor.empty() : tensor<4xf64>
  %c = linalg.generic {
      indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
      iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%e : tensor<4xf64>) {
  ^bb0(%x: f32, %o: f64):
    %y = arith.extf %x : f32 to f64
    linalg.yield %y : f64
  } -> tensor<4xf64>
  return %c : tensor<4xf64>
}

func.func private @declaration(%a: tensor<4xf32>) -> tensor<4xf32>

// RUN: not tessera-run %s --entry=main --random-inputs=1 \
// RUN:   --pipeline-options="bogus=3" 2>&1 | FileCheck %s --check-prefix=BAD-OPTIONS
// BAD-OPTIONS: tessera-run: error: invalid --pipeline-options 'bogus=3'{{$}}

// Inputs too large to allocate are an error, not an abort.
// RUN: not tessera-run %s --entry=huge --random-inputs=1 2>&1 \
// RUN:   | FileCheck %s --check-prefix=HUGE
// HUGE: tessera-run: error: argument #0: cannot allocate a tensor<1099511627776x1024xf32>: out of memory (4503599627370496 bytes){{$}}
// RUN: not tessera-run %s --entry=overflowing --random-inputs=1 2>&1 \
// RUN:   | FileCheck %s --check-prefix=OVERFLOWING
// OVERFLOWING: tessera-run: error: argument #0: cannot allocate a tensor<4611686018427387904x4xf32>: its size in bytes does not fit in 62 bits{{$}}

func.func @huge(%a: tensor<1099511627776x1024xf32>)
    -> tensor<1099511627776x1024xf32> {
  return %a : tensor<1099511627776x1024xf32>
}

func.func @overflowing(%a: tensor<4611686018427387904x4xf32>)
    -> tensor<4611686018427387904x4xf32> {
  return %a : tensor<4611686018427387904x4xf32>
}
