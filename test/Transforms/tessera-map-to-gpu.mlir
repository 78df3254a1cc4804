// RUN: tessera-opt %s --tessera-map-to-gpu --split-input-file | FileCheck %s
// RUN: tessera-opt %s --tessera-map-to-gpu="block-size=64" --split-input-file | FileCheck %s --check-prefix=B64

// A 2-D loop: 16 x 128 iterations on a 1-D grid, the last dimension fastest.
// CHECK-LABEL: func.func @elementwise
// CHECK-SAME:    (%[[A:.+]]: memref<16x128xf32>, %[[B:.+]]: memref<16x128xf32>)
// CHECK-DAG:     %[[C8:.+]] = arith.constant 8 : index
// CHECK-DAG:     %[[C256:.+]] = arith.constant 256 : index
// CHECK:         gpu.launch_func @tessera_kernels::@elementwise_k0 blocks in (%[[C8]], %[[ONE:.+]], %[[ONE]]) threads in (%[[C256]], %[[ONE]], %[[ONE]]) args(%[[A]] : memref<16x128xf32>, %[[B]] : memref<16x128xf32>)
// CHECK-NOT:     scf.parallel
// CHECK:       gpu.module @tessera_kernels
// CHECK:         gpu.func @elementwise_k0(%[[KA:.+]]: memref<16x128xf32>, %[[KB:.+]]: memref<16x128xf32>) kernel
// CHECK-SAME:      known_block_size = array<i32: 256, 1, 1>
// CHECK-SAME:      known_grid_size = array<i32: 8, 1, 1>
// CHECK:           %[[BID:.+]] = gpu.block_id x
// CHECK:           %[[TID:.+]] = gpu.thread_id x
// CHECK:           %[[BASE:.+]] = arith.muli %[[BID]], %{{.+}} : index
// CHECK:           %[[LIN:.+]] = arith.addi %[[BASE]], %[[TID]] : index
// CHECK:           %[[IN:.+]] = arith.cmpi ult, %[[LIN]], %{{.+}} : index
// CHECK:           scf.if %[[IN]] {
// CHECK:             %[[J:.+]] = arith.remui %[[LIN]], %{{.+}} : index
// CHECK:             %[[I:.+]] = arith.divui %[[LIN]], %{{.+}} : index
// CHECK:             %[[V:.+]] = memref.load %[[KA]][%[[I]], %[[J]]]
// CHECK:             memref.store %[[V]], %[[KB]][%[[I]], %[[J]]]
// CHECK:           gpu.return
// B64-LABEL: func.func @elementwise
// B64:         gpu.launch_func @tessera_kernels::@elementwise_k0 blocks in (%{{.+}}, %{{.+}}, %{{.+}}) threads in (%{{.+}}, %{{.+}}, %{{.+}})
// B64:       gpu.func @elementwise_k0
// B64-SAME:    known_block_size = array<i32: 64, 1, 1>
// B64-SAME:    known_grid_size = array<i32: 32, 1, 1>
func.func @elementwise(%a: memref<16x128xf32>, %b: memref<16x128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c128 = arith.constant 128 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c16, %c128) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<16x128xf32>
    memref.store %v, %b[%i, %j] : memref<16x128xf32>
    scf.reduce
  }
  return
}

// -----

// Reduction loops first (a linalg op with reduction dimensions outermost):
// the parallel loop is hoisted out and each thread runs the sequential loop.
// Views are recreated in the kernel; only whole buffers are arguments. A
// loop smaller than a block gets one block of its size.
// CHECK-LABEL: func.func @reduction_outside
// CHECK:         %[[T:.+]] = memref.alloc() : memref<8x8xf32>
// CHECK:         gpu.launch_func @tessera_kernels::@reduction_outside_k0 {{.*}} args(%[[T]] : memref<8x8xf32>, %{{.+}} : memref<8xf32>)
// CHECK:       gpu.func @reduction_outside_k0(%[[KT:.+]]: memref<8x8xf32>, %[[KO:.+]]: memref<8xf32>) kernel
// CHECK-SAME:    known_block_size = array<i32: 8, 1, 1>
// CHECK:         %[[SUB:.+]] = memref.subview %[[KT]][0, 0] [4, 8] [1, 1]
// CHECK:         scf.if
// CHECK:           scf.for %[[R:.+]] =
// CHECK:             memref.load %[[SUB]][%[[R]], %{{.+}}]
func.func @reduction_outside(%out: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %t = memref.alloc() : memref<8x8xf32>
  %sub = memref.subview %t[0, 0] [4, 8] [1, 1] : memref<8x8xf32> to memref<4x8xf32, strided<[8, 1]>>
  scf.for %r = %c0 to %c4 step %c1 {
    scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
      %x = memref.load %sub[%r, %j] : memref<4x8xf32, strided<[8, 1]>>
      %y = memref.load %out[%j] : memref<8xf32>
      %z = arith.addf %x, %y : f32
      memref.store %z, %out[%j] : memref<8xf32>
      scf.reduce
    }
  }
  return
}

// -----

// A reduction between parallel dimensions: the inner parallel loop's
// dimensions join the grid (4 x 64 threads).
// CHECK-LABEL: func.func @nested_parallel
// CHECK:         gpu.launch_func @tessera_kernels::@nested_parallel_k0
// CHECK:       gpu.func @nested_parallel_k0
// CHECK-SAME:    known_grid_size = array<i32: 1, 1, 1>
// CHECK:         scf.if
// CHECK:           %[[D:.+]] = arith.remui
// CHECK:           %[[I:.+]] = arith.divui
// CHECK:           scf.for %[[K:.+]] =
// CHECK-NOT:         scf.parallel
// CHECK:             memref.load %{{.+}}[%[[I]], %[[K]]]
// CHECK:             memref.load %{{.+}}[%[[K]], %[[D]]]
func.func @nested_parallel(%p: memref<4x32xf32>, %v: memref<32x64xf32>, %o: memref<4x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.for %k = %c0 to %c32 step %c1 {
      scf.parallel (%d) = (%c0) to (%c64) step (%c1) {
        %a = memref.load %p[%i, %k] : memref<4x32xf32>
        %b = memref.load %v[%k, %d] : memref<32x64xf32>
        %acc = memref.load %o[%i, %d] : memref<4x64xf32>
        %m = arith.mulf %a, %b : f32
        %s = arith.addf %acc, %m : f32
        memref.store %s, %o[%i, %d] : memref<4x64xf32>
        scf.reduce
      }
    }
    scf.reduce
  }
  return
}

// -----

// Sequential code (a scatter whose iterations depend on each other, and a
// lone store) runs in a kernel of one thread; memref.copy becomes a kernel.
// CHECK-LABEL: func.func @sequential
// CHECK:         gpu.launch_func @tessera_kernels::@sequential_k0 blocks in
// CHECK:         gpu.launch_func @tessera_kernels::@sequential_k1 blocks in
// CHECK:         return
// CHECK:       gpu.func @sequential_k0
// CHECK-SAME:    known_block_size = array<i32: 1, 1, 1>, known_grid_size = array<i32: 1, 1, 1>
// CHECK:         scf.for
// CHECK:         memref.store
// CHECK:       gpu.func @sequential_k1
// CHECK-SAME:    known_block_size = array<i32: 8, 1, 1>
// CHECK:         memref.load
// CHECK:         memref.store
func.func @sequential(%ids: memref<8xi32>, %count: memref<4xi32>, %out: memref<8xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %one = arith.constant 1 : i32
  scf.for %t = %c0 to %c8 step %c1 {
    %e = memref.load %ids[%t] : memref<8xi32>
    %ei = arith.index_cast %e : i32 to index
    %n = memref.load %count[%ei] : memref<4xi32>
    %n1 = arith.addi %n, %one : i32
    memref.store %n1, %count[%ei] : memref<4xi32>
  }
  memref.store %one, %count[%c0] : memref<4xi32>
  memref.copy %ids, %out : memref<8xi32> to memref<8xi32>
  return
}

// -----

// A constant tensor (bufferized to a global) is read in the kernel from the
// kernel module's own copy of the global; it is not a kernel argument.
// CHECK-LABEL: func.func @constant_table
// CHECK:         gpu.launch_func @tessera_kernels::@constant_table_k0 {{.*}} args(%{{.+}} : memref<4xi32>)
// CHECK:       gpu.module @tessera_kernels
// CHECK:         memref.global "private" constant @table : memref<4xi32> = dense<[3, 1, 4, 1]>
// CHECK:         gpu.func @constant_table_k0(%{{.+}}: memref<4xi32>) kernel
// CHECK:           memref.get_global @table : memref<4xi32>
memref.global "private" constant @table : memref<4xi32> = dense<[3, 1, 4, 1]>
func.func @constant_table(%out: memref<4xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %t = memref.get_global @table : memref<4xi32>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %v = memref.load %t[%i] : memref<4xi32>
    memref.store %v, %out[%i] : memref<4xi32>
    scf.reduce
  }
  return
}
