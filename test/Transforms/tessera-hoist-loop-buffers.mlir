// RUN: tessera-opt %s --tessera-hoist-loop-buffers --split-input-file | FileCheck %s

// A step temporary written and read within one iteration of two nested
// sequential loops is allocated once, in front of the outer loop.
// CHECK-LABEL: func.func @step_temporary
// CHECK:         %[[T:.+]] = memref.alloc() {alignment = 64 : i64} : memref<4x64xf32>
// CHECK-NEXT:    scf.for
// CHECK-NEXT:      scf.for
// CHECK-NOT:         memref.alloc
// CHECK:             linalg.fill ins(%{{.+}} : f32) outs(%[[T]] : memref<4x64xf32>)
func.func @step_temporary(%n: index, %out: memref<4x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 1.0 : f32
  scf.for %i = %c0 to %n step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      %t = memref.alloc() {alignment = 64 : i64} : memref<4x64xf32>
      linalg.fill ins(%cst : f32) outs(%t : memref<4x64xf32>)
      memref.copy %t, %out : memref<4x64xf32> to memref<4x64xf32>
    }
  }
  return
}

// -----

// Dynamic sizes: hoisted as far as the size is defined outside (here out of
// the inner loop only), never above the definition of the size.
// CHECK-LABEL: func.func @dynamic_size
// CHECK:         scf.for %[[I:.+]] = %{{.+}} to %{{.+}} step %{{.+}} {
// CHECK-NEXT:      %[[S:.+]] = arith.addi %[[I]]
// CHECK-NEXT:      memref.alloc(%[[S]]) : memref<?xf32>
// CHECK-NEXT:      scf.for
func.func @dynamic_size(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 0.0 : f32
  scf.for %i = %c0 to %n step %c1 {
    %s = arith.addi %i, %c1 : index
    scf.for %j = %c0 to %n step %c1 {
      %t = memref.alloc(%s) : memref<?xf32>
      linalg.fill ins(%cst : f32) outs(%t : memref<?xf32>)
    }
  }
  return
}

// -----

// A buffer yielded as the next iteration's state (the running maximum of an
// online softmax) must stay: the iteration that computes the new state
// still reads the old one.
// CHECK-LABEL: func.func @yielded_state
// CHECK:         scf.for
// CHECK-NEXT:      memref.alloc() : memref<4xf32>
func.func @yielded_state(%n: index, %init: memref<4xf32>) -> memref<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%old = %init) -> (memref<4xf32>) {
    %new = memref.alloc() : memref<4xf32>
    memref.copy %old, %new : memref<4xf32> to memref<4xf32>
    scf.yield %new : memref<4xf32>
  }
  return %r : memref<4xf32>
}

// -----

// A view of the buffer that is yielded counts as the buffer.
// CHECK-LABEL: func.func @yielded_view
// CHECK:         scf.for
// CHECK-NEXT:      memref.alloc() : memref<8xf32>
// CHECK-NEXT:      memref.subview
func.func @yielded_view(%n: index, %init: memref<4xf32, strided<[1], offset: ?>>)
    -> memref<4xf32, strided<[1], offset: ?>> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%old = %init)
      -> (memref<4xf32, strided<[1], offset: ?>>) {
    %new = memref.alloc() : memref<8xf32>
    %view = memref.subview %new[4] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1], offset: 4>>
    %cast = memref.cast %view : memref<4xf32, strided<[1], offset: 4>> to memref<4xf32, strided<[1], offset: ?>>
    scf.yield %cast : memref<4xf32, strided<[1], offset: ?>>
  }
  return %r : memref<4xf32, strided<[1], offset: ?>>
}

// -----

// Parallel iterations need their own buffers: out of the sequential loop
// inside the scf.forall body, but not out of the forall.
// CHECK-LABEL: func.func @inside_forall
// CHECK:         scf.forall
// CHECK-NEXT:      memref.alloc() : memref<16xf32>
// CHECK-NEXT:      scf.for
// CHECK-LABEL: func.func @inside_if
// CHECK:         scf.for
// CHECK-NEXT:      scf.if
// CHECK-NEXT:        memref.alloc() : memref<16xf32>
func.func @inside_forall(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 0.0 : f32
  scf.forall (%p) in (4) {
    scf.for %i = %c0 to %n step %c1 {
      %t = memref.alloc() : memref<16xf32>
      linalg.fill ins(%cst : f32) outs(%t : memref<16xf32>)
    }
  }
  return
}
func.func @inside_if(%n: index, %b: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cst = arith.constant 0.0 : f32
  scf.for %i = %c0 to %n step %c1 {
    scf.if %b {
      %t = memref.alloc() : memref<16xf32>
      linalg.fill ins(%cst : f32) outs(%t : memref<16xf32>)
    }
  }
  return
}
