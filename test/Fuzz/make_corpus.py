#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tools/fuzzers).

    make_corpus.py SOURCE_ROOT OUT_DIR [--all-configs]

OUT_DIR/parse     every split (`// -----`) of every .mlir file under test/
                  and examples/, as tessera-parse-fuzzer inputs
OUT_DIR/pipeline  the splits that use tessera ops, each prefixed with the byte
                  that picks a pass or pipeline of tessera-pipeline-fuzzer:
                  round robin over the configurations, or every
                  configuration for every split with --all-configs (the
                  fuzzing corpus; the round robin is what CI replays)
OUT_DIR/npy       .npy files of every dtype NumPy can write in the formats
                  the reader must accept or reject: versions 1.0 and 2.0,
                  0-d, empty and 3-d shapes, Fortran order, big endian, and
                  truncated copies
"""

import hashlib
import io
import os
import struct
import sys

import numpy as np

# The number of configurations in tessera-pipeline-fuzzer.cpp (`configs`).
PIPELINE_CONFIGS = 13


def mlir_splits(root):
    for directory in ["test", "examples"]:
        for base, _, files in sorted(os.walk(os.path.join(root, directory))):
            for name in sorted(files):
                if not name.endswith(".mlir"):
                    continue
                text = open(os.path.join(base, name), encoding="utf-8").read()
                for split in text.split("// -----"):
                    if split.strip():
                        yield split


def write(directory, data):
    """Writes `data` under its hash (libFuzzer's corpus naming)."""
    path = os.path.join(directory, hashlib.sha1(data).hexdigest())
    with open(path, "wb") as f:
        f.write(data)


def npy_seeds():
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3),
              np.float32(1.5).reshape(()),
              np.zeros((0,), np.float16),
              np.arange(24, dtype=np.int32).reshape(2, 3, 4),
              np.arange(5, dtype=np.int64),
              np.arange(6, dtype=np.float64).reshape(3, 2),
              np.arange(4, dtype=np.uint8),
              np.array([True, False]),
              np.arange(6, dtype=">f4").reshape(2, 3),
              np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))]
    for array in arrays:
        for version in [(1, 0), (2, 0)]:
            stream = io.BytesIO()
            np.lib.format.write_array(stream, array, version=version)
            data = stream.getvalue()
            yield data
            yield data[:len(data) - 3]
            yield data[:12]
    # A header whose length field points past the end of the file.
    yield b"\x93NUMPY\x01\x00" + struct.pack("<H", 0xFFFF) + b"{'descr'"


def main():
    root, out = sys.argv[1], sys.argv[2]
    all_configs = "--all-configs" in sys.argv[3:]
    for name in ["parse", "pipeline", "npy"]:
        os.makedirs(os.path.join(out, name), exist_ok=True)
    index = 0
    for split in mlir_splits(root):
        data = split.encode("utf-8")
        write(os.path.join(out, "parse"), data)
        if "tessera." not in split:
            continue
        configs = range(PIPELINE_CONFIGS) if all_configs else [
            index % PIPELINE_CONFIGS]
        for config in configs:
            write(os.path.join(out, "pipeline"), bytes([config]) + data)
        index += 1
    for data in npy_seeds():
        write(os.path.join(out, "npy"), data)


if __name__ == "__main__":
    main()
