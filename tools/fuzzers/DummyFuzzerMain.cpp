//===- DummyFuzzerMain.cpp - Runs a fuzz target on files ------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The main of the fuzz targets when they are not built with libFuzzer
// (LLVM_USE_SANITIZE_COVERAGE off): runs the target once on each file named
// on the command line, so that the seed corpus and the regression inputs are
// replayed by every build.
//
//===----------------------------------------------------------------------===//

#include "llvm/FuzzMutate/FuzzerCLI.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  return llvm::runFuzzerOnInputs(argc, argv, LLVMFuzzerTestOneInput);
}
