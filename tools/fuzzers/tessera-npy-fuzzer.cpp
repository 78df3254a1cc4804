//===- tessera-npy-fuzzer.cpp - Fuzzes the .npy reader --------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Feeds arbitrary bytes to tessera::parseNpy, the reader behind tessera-run's
// --input files. Any input must either be rejected with an error or give an
// array whose data size matches its shape and dtype; an accepted array must
// survive writeNpy and parseNpy unchanged.
//
//===----------------------------------------------------------------------===//

#include "tessera/Support/Npy.h"

#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace mlir::tessera;

/// Reports a broken property and stops: libFuzzer records the input.
[[noreturn]] static void fail(const char *what) {
  llvm::errs() << "tessera-npy-fuzzer: " << what << "\n";
  std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  llvm::Expected<NpyArray> array = parseNpy(bytes, "fuzz.npy");
  if (!array) {
    llvm::consumeError(array.takeError());
    return 0;
  }
  if (array->data.size() !=
      size_t(array->getNumElements()) * getNpyElementSize(array->dtype))
    fail("the data size does not match the shape");

  std::string written;
  llvm::raw_string_ostream os(written);
  writeNpy(*array, os);
  llvm::Expected<NpyArray> again = parseNpy(written, "rewritten.npy");
  if (!again) {
    llvm::errs() << llvm::toString(again.takeError()) << "\n";
    fail("a written array does not parse back");
  }
  if (again->dtype != array->dtype || again->shape != array->shape ||
      again->data != array->data)
    fail("a written array parses back differently");
  return 0;
}
