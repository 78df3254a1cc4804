# -*- Python -*-
# Runs every GoogleTest binary under <build>/unittests/bin through lit.

import os

import lit.formats

config.name = "TESSERA-UNIT"
config.suffixes = []
config.test_exec_root = os.path.join(config.tessera_obj_root, "unittests", "bin")
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
