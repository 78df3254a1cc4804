//===- CommandLine.cpp - Command-line parsing for the tools ---------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Support/CommandLine.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

bool mlir::tessera::parseToolCommandLine(int argc, const char *const *argv,
                                         llvm::StringRef overview) {
  std::string errors;
  llvm::raw_string_ostream os(errors);
  // With an error stream, LLVM reports there and returns false instead of
  // exiting.
  if (llvm::cl::ParseCommandLineOptions(argc, argv, overview, &os))
    return true;
  llvm::StringRef first = llvm::StringRef(errors).split('\n').first.rtrim();
  if (first.empty())
    first = "invalid command line";
  llvm::errs() << first << "\n";
  return false;
}
