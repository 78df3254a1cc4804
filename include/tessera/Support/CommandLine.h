//===- CommandLine.h - Command-line parsing for the tools -------*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_SUPPORT_COMMANDLINE_H
#define TESSERA_SUPPORT_COMMANDLINE_H

#include "llvm/ADT/StringRef.h"

namespace mlir {
namespace tessera {

/// Parses the command line like llvm::cl::ParseCommandLineOptions, except on
/// a bad command line: instead of LLVM's several lines (the error, "Did you
/// mean" guesses among LLVM's internal options, every other complaint) and
/// exit, it prints the first error as one line to stderr
/// ("tessera-run: Unknown command line argument '--x'.  Try: ... --help")
/// and returns false, for the tool to exit with 1. LLVM reports missing
/// cl::Required options on stderr itself, so the tools check those after
/// parsing instead.
bool parseToolCommandLine(int argc, const char *const *argv,
                          llvm::StringRef overview);

} // namespace tessera
} // namespace mlir

#endif // TESSERA_SUPPORT_COMMANDLINE_H
