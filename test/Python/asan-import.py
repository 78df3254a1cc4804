# REQUIRES: python-bindings, asan
# RUN: not %tessera_python_no_preload %s 2>&1 | FileCheck %s
#
# The package of an ASan build, imported by a python3 without the ASan
# runtime preloaded, says how to load it instead of only naming a missing
# __asan symbol.
#
# CHECK: ImportError: this tessera package was built with AddressSanitizer; run python3 with LD_PRELOAD=$(clang++-22 -print-file-name=libclang_rt.asan-x86_64.so) and ASAN_OPTIONS=detect_leaks=0 (docs/Fuzzing.md)

import tessera  # noqa: F401
