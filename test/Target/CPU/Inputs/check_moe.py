"""Checks the `moe[t,c] = VALUE` lines that attention_main.cpp prints.

Rebuilds the program's inputs (sin(0.37 i + seed) rounded to float32) and
compares with the independent numpy reference of test/Integration/reference.py.
Usage: check_moe.py OUTPUT.txt; prints one verdict line.
"""

import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                "Integration"))
import reference as ref  # noqa: E402


def sin_values(shape, seed):
    size = int(np.prod(shape))
    return np.sin(0.37 * np.arange(size) + seed).astype(np.float32).reshape(shape)


def main():
    x = sin_values((6, 16), 0.0)
    gate = sin_values((4, 16), 1.0)
    up = sin_values((4, 16, 16), 2.0)
    down = sin_values((4, 8, 16), 3.0)
    expected = ref.moe(x, gate, up, down, top_k=2, normalize=True)

    got = np.full(expected.shape, np.nan)
    pattern = re.compile(r"^moe\[(\d+),(\d+)\] = (\S+)$")
    with open(sys.argv[1]) as f:
        for line in f:
            match = pattern.match(line.strip())
            if match:
                got[int(match.group(1)), int(match.group(2))] = float(match.group(3))
    if np.isnan(got).any():
        print("moe: missing values")
        return 1
    err = np.abs(got - expected).max()
    verdict = "PASS" if np.allclose(got, expected, rtol=1e-4, atol=1e-4) else "FAIL"
    print("moe: %d values, max abs err %.3g: %s" % (got.size, err, verdict))
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
