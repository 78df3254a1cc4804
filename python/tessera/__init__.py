"""Tessera: a compiler for attention and mixture-of-experts layers.

    import numpy as np
    import tessera

    compiler = tessera.Compiler(threads=2)
    attn = compiler.load_source(source, "attn")      # a JIT-compiled CPU function
    out = attn(q, k, v)                                 # numpy arrays in and out
    obj = compiler.compile(compiler.parse(source))      # an ELF object, as bytes

Failures raise CompilerError; its ``diagnostics`` list holds what the compiler
reported (severity, location, message, and the text a tool would print).
Nothing is printed behind the caller's back.

Arrays: f32, f16, i32 and i64 arguments take numpy arrays of that dtype
(float32 arrays are rounded for f16 and bf16 arguments; bf16 bits may also be
passed as uint16). Results come back without a copy, bf16 widened to float32.
"""

try:
    from ._tessera import Compiler, CompilerError, Function, Module
except ImportError as error:
    if "__asan" not in str(error):
        raise
    # A build with -DLLVM_USE_SANITIZER=Address: the extension needs the ASan
    # runtime, which an uninstrumented python3 only has when it is preloaded.
    raise ImportError(
        "this tessera package was built with AddressSanitizer; run python3 "
        "with LD_PRELOAD=$(clang++-22 -print-file-name="
        "libclang_rt.asan-x86_64.so) and ASAN_OPTIONS=detect_leaks=0 "
        "(docs/Fuzzing.md)") from error

__all__ = ["Compiler", "CompilerError", "Function", "Module", "load_source"]


def _load_source(self, source, entry, name="-"):
    """Parses ``source`` and JIT-compiles its function ``entry``."""
    return self.load(self.parse(source, name), entry)


def _compile_source(self, source, name="-"):
    """Parses ``source`` and compiles it to the options' artifact (bytes)."""
    return self.compile(self.parse(source, name))


Compiler.load_source = _load_source
Compiler.compile_source = _compile_source


def load_source(source, entry, **options):
    """A function of ``source`` compiled by a new Compiler(**options)."""
    return Compiler(**options).load_source(source, entry)
