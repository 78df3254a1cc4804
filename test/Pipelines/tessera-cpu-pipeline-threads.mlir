// Tiled loops (scf.forall) become OpenMP parallel loops unless threads=1.
// RUN: tessera-opt %s --tessera-cpu-pipeline | FileCheck %s --check-prefix=OMP
// RUN: tessera-opt %s --tessera-cpu-pipeline="threads=4" | FileCheck %s --check-prefix=FOUR
// RUN: tessera-opt %s --tessera-cpu-pipeline="threads=1" | FileCheck %s --check-prefix=SERIAL
// RUN: tessera-run %s --entry=rows --random-inputs=5 --check | FileCheck %s --check-prefix=EXEC
// RUN: tessera-run %s --entry=rows --random-inputs=5 --check --pipeline-options="threads=1" | FileCheck %s --check-prefix=EXEC

// OMP-LABEL: llvm.func @rows
// OMP: omp.parallel
// OMP: omp.wsloop
// FOUR: %[[N:.+]] = llvm.mlir.constant(4 : i32)
// FOUR: omp.parallel num_threads(%[[N]] : i32)
// SERIAL-LABEL: llvm.func @rows
// SERIAL-NOT: omp.
// EXEC: result #0: max abs err {{.*}}: PASS

func.func @rows(%a: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %e = tensor.empty() : tensor<16x32xf32>
  %r = scf.forall (%i) in (16) shared_outs(%o = %e) -> tensor<16x32xf32> {
    %s = tensor.extract_slice %a[%i, 0] [1, 32] [1, 1] : tensor<16x32xf32> to tensor<32xf32>
    %t = tensor.empty() : tensor<32xf32>
    %x = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                         iterator_types = ["parallel"]} ins(%s : tensor<32xf32>) outs(%t : tensor<32xf32>) {
    ^bb0(%in: f32, %out: f32):
      %y = math.exp %in : f32
      linalg.yield %y : f32
    } -> tensor<32xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %x into %o[%i, 0] [1, 32] [1, 1] : tensor<32xf32> into tensor<16x32xf32>
    }
  }
  return %r : tensor<16x32xf32>
}
