//===- SanitizerOptions.cpp - ASan defaults of Tessera's executables -----===//
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
// An ASan build links this file into every executable (tools, fuzz targets,
// unit tests), so that they need no ASAN_OPTIONS.
//
// `allocator_may_return_null=1`: an allocation too large for ASan's
// allocator returns null, as malloc does, so that Tessera reports it as an
// error (HostTensor::allocate) instead of ASan aborting.
//
//===----------------------------------------------------------------------===//

extern "C" const char *__asan_default_options() {
  return "allow_user_poisoning=0:allocator_may_return_null=1";
}
