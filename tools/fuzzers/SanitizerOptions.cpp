//===- SanitizerOptions.cpp - ASan defaults of the fuzz targets -----------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// LLVM's BumpPtrAllocator poisons the unused part of its slabs when the code
// that includes it is built with ASan. Tessera's code is; libMLIR.so is not,
// and it allocates from the same slabs (MLIRContext's storage uniquer)
// without unpoisoning: ASan would report a use-after-poison on every valid
// allocation. Manual poisoning is therefore ignored; everything ASan finds by
// itself (heap, stack, globals, use-after-free) is still reported.
//
//===----------------------------------------------------------------------===//

extern "C" const char *__asan_default_options() {
  return "allow_user_poisoning=0";
}
