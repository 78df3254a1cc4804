"""Makes and checks .npy files for the tessera-run tests, with numpy.

  npy.py DIR make NAME EXPR [NAME EXPR ...]
      Evaluates each EXPR (numpy as np; earlier names are in scope) and saves
      it as DIR/NAME.npy.
  npy.py DIR check NAME EXPR [--atol A] [--rtol R]
      Loads every DIR/*.npy under its stem name, evaluates EXPR and checks
      that DIR/NAME.npy has the same shape and dtype and close (integers:
      equal) values. Prints "OK NAME" or fails.
  npy.py DIR same NAME1 NAME2 / differ NAME1 NAME2
      Checks that two files hold identical (different) arrays.

Helpers in scope: f16(x) and bf16(x) round f32 data to nearest even the way
tessera-run does and widen the result back to f32.
"""

import glob
import os
import sys

import numpy as np


def f16(x):
    return np.asarray(x, dtype=np.float32).astype(np.float16).astype(np.float32)


def bf16(x):
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return (rounded & 0xFFFFFFFF).astype(np.uint32).view(np.float32)


def scope(directory):
    names = {"np": np, "f16": f16, "bf16": bf16}
    for path in sorted(glob.glob(os.path.join(directory, "*.npy"))):
        names[os.path.splitext(os.path.basename(path))[0]] = np.load(path)
    return names


def fail(message):
    print("FAIL " + message)
    sys.exit(1)


def main(argv):
    directory, command, rest = argv[1], argv[2], argv[3:]
    if command == "make":
        names = scope(directory)
        for name, expr in zip(rest[0::2], rest[1::2]):
            value = np.asarray(eval(expr, names))
            np.save(os.path.join(directory, name + ".npy"), value)
            names[name] = value
    elif command == "check":
        name, expr = rest[0], rest[1]
        atol = float(rest[rest.index("--atol") + 1]) if "--atol" in rest else 1e-5
        rtol = float(rest[rest.index("--rtol") + 1]) if "--rtol" in rest else 1e-5
        names = scope(directory)
        actual = names[name]
        expected = np.asarray(eval(expr, names))
        if actual.shape != expected.shape:
            fail("%s: shape %s, expected %s" % (name, actual.shape, expected.shape))
        if actual.dtype != expected.dtype:
            fail("%s: dtype %s, expected %s" % (name, actual.dtype, expected.dtype))
        if np.issubdtype(actual.dtype, np.integer):
            ok = np.array_equal(actual, expected)
        else:
            ok = np.allclose(actual, expected, atol=atol, rtol=rtol, equal_nan=True)
        if not ok:
            fail("%s:\n%s\nexpected\n%s" % (name, actual, expected))
        print("OK " + name)
    elif command in ("same", "differ"):
        names = scope(directory)
        a, b = names[rest[0]], names[rest[1]]
        same = a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
        if same != (command == "same"):
            fail("%s and %s: expected %s" % (rest[0], rest[1], command))
        print("OK %s %s" % (command, " ".join(rest)))
    else:
        fail("unknown command " + command)


if __name__ == "__main__":
    main(sys.argv)
