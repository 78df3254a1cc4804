//===- NpyTest.cpp - Tests of the GPU runtime's .npy files ----------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Runtime/GPU/Npy.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <string>

using namespace tessera::gpu;

namespace {

NpyArray makeArray(NpyDType dtype, std::vector<int64_t> shape) {
  NpyArray array;
  array.dtype = dtype;
  array.shape = std::move(shape);
  array.data.resize(array.getNumElements() * getNpyElementSize(dtype));
  for (size_t i = 0; i < array.data.size(); ++i)
    array.data[i] = static_cast<uint8_t>(i * 37 + 11);
  return array;
}

/// A version 1.0 file from a header dict and a payload.
std::string makeFile(const std::string &dict, const std::string &payload) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes.push_back(static_cast<char>(header.size() & 0xff));
  bytes.push_back(static_cast<char>(header.size() >> 8));
  return bytes + header + payload;
}

class GPUNpyRoundTripTest : public testing::TestWithParam<NpyDType> {};

TEST_P(GPUNpyRoundTripTest, RoundTrips) {
  for (std::vector<int64_t> shape : std::vector<std::vector<int64_t>>{
           {}, {7}, {2, 3}, {2, 0, 4}, {1, 2, 3, 4}}) {
    NpyArray array = makeArray(GetParam(), shape);
    std::string bytes = writeNpy(array);
    // The data starts at a multiple of 64 bytes.
    EXPECT_EQ((bytes.size() - array.data.size()) % 64, 0u);
    Expected<NpyArray> parsed = parseNpy(bytes);
    ASSERT_TRUE(static_cast<bool>(parsed)) << parsed.getError();
    EXPECT_EQ(parsed->dtype, array.dtype);
    EXPECT_EQ(parsed->shape, array.shape);
    EXPECT_EQ(parsed->data, array.data);
  }
}

INSTANTIATE_TEST_SUITE_P(AllDTypes, GPUNpyRoundTripTest,
                         testing::Values(NpyDType::F32, NpyDType::F16,
                                         NpyDType::F64, NpyDType::I8,
                                         NpyDType::I16, NpyDType::I32,
                                         NpyDType::I64, NpyDType::U8,
                                         NpyDType::Bool),
                         [](const testing::TestParamInfo<NpyDType> &info) {
                           return std::string(getNpyDTypeName(info.param));
                         });

TEST(GPUNpyTest, WritesNumPyHeaders) {
  std::string bytes = writeNpy(makeArray(NpyDType::Bool, {3}));
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_NE(bytes.find("{'descr': '|b1', 'fortran_order': False, "
                       "'shape': (3,), }"),
            std::string::npos);
  EXPECT_EQ(bytes.size(), 128u + 3);
  EXPECT_EQ(bytes[127], '\n');
}

TEST(GPUNpyTest, ReadsVersion2AndNumPySpellings) {
  std::string dict =
      "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }";
  std::string header = dict;
  while ((12 + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string bytes("\x93NUMPY\x02\x00", 8);
  for (int i = 0; i < 4; ++i)
    bytes.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  bytes += header + std::string("\x01\x00\xff\xff", 4);
  Expected<NpyArray> parsed = parseNpy(bytes);
  ASSERT_TRUE(static_cast<bool>(parsed)) << parsed.getError();
  EXPECT_EQ(parsed->dtype, NpyDType::I16);
  EXPECT_EQ(parsed->shape, (std::vector<int64_t>{2}));

  // NumPy writes '|b1', but '=b1' and '<u1' mean the same.
  Expected<NpyArray> boolArray = parseNpy(makeFile(
      "{'descr': '=b1', 'fortran_order': False, 'shape': (1,), }", "\x01"));
  ASSERT_TRUE(static_cast<bool>(boolArray)) << boolArray.getError();
  EXPECT_EQ(boolArray->dtype, NpyDType::Bool);
}

TEST(GPUNpyTest, ReportsErrors) {
  auto error = [](const std::string &bytes) {
    Expected<NpyArray> parsed = parseNpy(bytes, "x.npy");
    return parsed ? std::string() : parsed.getError();
  };
  EXPECT_EQ(error("garbage"), "x.npy: not a .npy file (bad magic string)");
  EXPECT_EQ(
      error(makeFile(
          "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", "abcd")),
      "x.npy: big-endian dtype '>f4' is not supported (expected "
      "little-endian)");
  EXPECT_EQ(error(makeFile(
                "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                "abcdabcd")),
            "x.npy: unsupported dtype '<c8' (expected '<f4', '<f2', '<f8', "
            "'<i2', '<i4', '<i8', '|i1', '|u1' or '|b1')");
  EXPECT_EQ(
      error(makeFile("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
                     "abcd")),
      "x.npy: Fortran-order arrays are not supported");
  EXPECT_EQ(
      error(makeFile(
          "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", "abcd")),
      "x.npy: truncated data: shape (2,) of '<f4' needs 8 bytes but "
      "the file has 4");
  EXPECT_EQ(error(makeFile("{'descr': '<f4', 'shape': (2,), }", "")),
            "x.npy: malformed .npy header: missing key 'fortran_order'");
}

TEST(GPUNpyTest, ReadsAndWritesFiles) {
  std::string path = testing::TempDir() + "gpu-npy-test.npy";
  NpyArray array = makeArray(NpyDType::I64, {3, 2});
  Status status = writeNpyFile(array, path);
  ASSERT_TRUE(status.succeeded()) << status.getMessage();
  Expected<NpyArray> read = readNpyFile(path);
  ASSERT_TRUE(static_cast<bool>(read)) << read.getError();
  EXPECT_EQ(read->data, array.data);
  std::remove(path.c_str());

  Expected<NpyArray> missing = readNpyFile("/nonexistent/x.npy");
  ASSERT_FALSE(static_cast<bool>(missing));
  EXPECT_EQ(missing.getError().rfind("/nonexistent/x.npy: cannot open: ", 0),
            0u);
}

} // namespace
