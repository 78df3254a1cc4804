//===- NpyTest.cpp - Tests of the .npy reader and writer ------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Support/Npy.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"
#include "gtest/gtest.h"

#include <cstring>
#include <string>

using namespace mlir::tessera;

namespace {

std::string toBytes(const NpyArray &array) {
  std::string bytes;
  llvm::raw_string_ostream os(bytes);
  writeNpy(array, os);
  return bytes;
}

/// Fills `array` with a byte pattern that differs from element to element.
void fillPattern(NpyArray &array) {
  for (size_t i = 0; i < array.data.size(); ++i)
    array.data[i] = static_cast<uint8_t>(i * 37 + 11);
}

/// Fails the current test, with the message, if `expected` holds an error.
#define ASSERT_SUCCEEDED(expected)                                             \
  ASSERT_TRUE(static_cast<bool>(expected))                                     \
      << llvm::toString((expected).takeError())

/// Returns the message of the error in `expected`, or "" if it holds a value.
template <typename T> std::string errorMessage(llvm::Expected<T> expected) {
  if (expected)
    return "";
  return llvm::toString(expected.takeError());
}

/// Builds a version 1.0 file from a header dict and a payload, padding the
/// header the way NumPy does.
std::string makeFile(llvm::StringRef dict, llvm::StringRef payload) {
  std::string header = dict.str();
  while ((10 + header.size() + 1) % 64 != 0)
    header.push_back(' ');
  header.push_back('\n');
  std::string bytes = "\x93NUMPY\x01";
  bytes.push_back('\0');
  bytes.push_back(static_cast<char>(header.size() & 0xff));
  bytes.push_back(static_cast<char>(header.size() >> 8));
  return bytes + header + payload.str();
}

//===----------------------------------------------------------------------===//
// Round trips
//===----------------------------------------------------------------------===//

TEST(NpyTest, RoundTripEveryDTypeAndShape) {
  const NpyDType dtypes[] = {NpyDType::F32, NpyDType::F16, NpyDType::I32,
                             NpyDType::I64};
  const std::vector<int64_t> shapes[] = {
      {}, {1}, {7}, {2, 3}, {3, 1, 4}, {2, 2, 2, 2, 3}, {0}, {4, 0, 2}};
  for (NpyDType dtype : dtypes) {
    for (const std::vector<int64_t> &shape : shapes) {
      SCOPED_TRACE(getNpyDescr(dtype).str() + " " + formatNpyShape(shape));
      NpyArray array(dtype, shape);
      fillPattern(array);
      std::string bytes = toBytes(array);
      llvm::Expected<NpyArray> parsed = parseNpy(bytes);
      ASSERT_SUCCEEDED(parsed);
      EXPECT_EQ(parsed->dtype, dtype);
      EXPECT_EQ(parsed->shape, shape);
      EXPECT_EQ(parsed->data, array.data);
      EXPECT_EQ(parsed->getNumElements(), array.getNumElements());
    }
  }
}

TEST(NpyTest, ElementSizes) {
  EXPECT_EQ(getNpyElementSize(NpyDType::F32), 4u);
  EXPECT_EQ(getNpyElementSize(NpyDType::F16), 2u);
  EXPECT_EQ(getNpyElementSize(NpyDType::I32), 4u);
  EXPECT_EQ(getNpyElementSize(NpyDType::I64), 8u);
  EXPECT_EQ(NpyArray(NpyDType::I64, {2, 3}).data.size(), 48u);
  EXPECT_EQ(NpyArray(NpyDType::F16, {}).data.size(), 2u);
  EXPECT_EQ(NpyArray(NpyDType::F32, {5, 0}).data.size(), 0u);
}

TEST(NpyTest, HeaderIsPaddedTo64Bytes) {
  const std::vector<int64_t> shapes[] = {
      {}, {3}, {2, 3}, {123456789, 0, 987654321, 5}};
  for (const std::vector<int64_t> &shape : shapes) {
    SCOPED_TRACE(formatNpyShape(shape));
    NpyArray array(NpyDType::F32, shape);
    std::string bytes = toBytes(array);
    ASSERT_GE(bytes.size(), 10u);
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\0", 8));
    size_t headerLength =
        static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
    size_t dataStart = 10 + headerLength;
    EXPECT_EQ(dataStart % 64, 0u);
    EXPECT_EQ(bytes.size(), dataStart + array.data.size());
    EXPECT_EQ(bytes[dataStart - 1], '\n');
    llvm::StringRef header(bytes.data() + 10, headerLength);
    EXPECT_TRUE(header.starts_with("{'descr': '<f4', 'fortran_order': False, "
                                   "'shape': " +
                                   formatNpyShape(shape) + ", }"));
  }
}

TEST(NpyTest, LargeHeaderUsesVersion2) {
  // 25000 dimensions of size 1 do not fit in a 64 KiB version 1.0 header.
  std::vector<int64_t> shape(25000, 1);
  NpyArray array(NpyDType::I32, shape);
  fillPattern(array);
  std::string bytes = toBytes(array);
  EXPECT_EQ(bytes[6], 2);
  size_t headerLength = static_cast<uint8_t>(bytes[8]) |
                        (static_cast<uint8_t>(bytes[9]) << 8) |
                        (static_cast<uint8_t>(bytes[10]) << 16) |
                        (static_cast<uint8_t>(bytes[11]) << 24);
  EXPECT_EQ((12 + headerLength) % 64, 0u);
  llvm::Expected<NpyArray> parsed = parseNpy(bytes);
  ASSERT_SUCCEEDED(parsed);
  EXPECT_EQ(parsed->shape, shape);
  EXPECT_EQ(parsed->data, array.data);
}

TEST(NpyTest, FileRoundTrip) {
  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("npy-test", "npy", path));
  NpyArray array(NpyDType::I64, {3, 2});
  fillPattern(array);
  llvm::Error error = writeNpyFile(array, path);
  ASSERT_FALSE(static_cast<bool>(error)) << llvm::toString(std::move(error));
  llvm::Expected<NpyArray> parsed = readNpyFile(path);
  ASSERT_SUCCEEDED(parsed);
  EXPECT_EQ(parsed->shape, array.shape);
  EXPECT_EQ(parsed->data, array.data);
  llvm::sys::fs::remove(path);
}

//===----------------------------------------------------------------------===//
// Files written by NumPy
//===----------------------------------------------------------------------===//

// The exact bytes of np.save(f, np.arange(6, dtype='<f4').reshape(2, 3))
// with NumPy 1.24: a 118-byte header (NumPy pads for in-place growth).
TEST(NpyTest, ReadsNumPyArangeF32) {
  std::string bytes("\x93NUMPY\x01\x00\x76\x00", 10);
  bytes += "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  bytes += std::string(58, ' ');
  bytes += "\n";
  ASSERT_EQ(bytes.size(), 128u);
  const unsigned char payload[] = {
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40,
      0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x80, 0x40, 0x00, 0x00, 0xa0, 0x40};
  bytes.append(reinterpret_cast<const char *>(payload), sizeof(payload));
  ASSERT_EQ(bytes.size(), 152u);

  llvm::Expected<NpyArray> parsed = parseNpy(bytes);
  ASSERT_SUCCEEDED(parsed);
  EXPECT_EQ(parsed->dtype, NpyDType::F32);
  EXPECT_EQ(parsed->shape, (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(parsed->getNumElements(), 6);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(parsed->getDataAs<float>()[i], static_cast<float>(i));
}

// np.save(f, np.array([-1, 2**40], dtype='<i8')): a 1-d shape "(2,)".
TEST(NpyTest, ReadsNumPyVectorI64) {
  std::string bytes("\x93NUMPY\x01\x00\x76\x00", 10);
  bytes += "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }";
  bytes += std::string(60, ' ');
  bytes += "\n";
  ASSERT_EQ(bytes.size(), 128u);
  const unsigned char payload[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x01, 0x00, 0x00};
  bytes.append(reinterpret_cast<const char *>(payload), sizeof(payload));

  llvm::Expected<NpyArray> parsed = parseNpy(bytes);
  ASSERT_SUCCEEDED(parsed);
  EXPECT_EQ(parsed->dtype, NpyDType::I64);
  EXPECT_EQ(parsed->shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(parsed->getDataAs<int64_t>()[0], -1);
  EXPECT_EQ(parsed->getDataAs<int64_t>()[1], int64_t(1) << 40);
}

// np.save(f, np.array(1.5, dtype='<f2')): a 0-d array, shape "()".
TEST(NpyTest, ReadsNumPyScalarF16) {
  std::string bytes("\x93NUMPY\x01\x00\x76\x00", 10);
  bytes += "{'descr': '<f2', 'fortran_order': False, 'shape': (), }";
  bytes += std::string(62, ' ');
  bytes += "\n";
  bytes += std::string("\x00\x3e", 2);
  ASSERT_EQ(bytes.size(), 130u);

  llvm::Expected<NpyArray> parsed = parseNpy(bytes);
  ASSERT_SUCCEEDED(parsed);
  EXPECT_EQ(parsed->dtype, NpyDType::F16);
  EXPECT_TRUE(parsed->shape.empty());
  EXPECT_EQ(parsed->getDataAs<uint16_t>()[0], 0x3e00);
}

TEST(NpyTest, ReadsLenientHeaders) {
  // Keys in another order, double quotes, no trailing comma, no padding,
  // Python 2 long suffixes.
  std::string payload(8, '\0');
  llvm::Expected<NpyArray> parsed = parseNpy(
      makeFile("{\"shape\": (2L,),\"fortran_order\":False, \"descr\":\"<i4\"}",
               payload));
  ASSERT_SUCCEEDED(parsed);
  EXPECT_EQ(parsed->dtype, NpyDType::I32);
  EXPECT_EQ(parsed->shape, (std::vector<int64_t>{2}));
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

TEST(NpyTest, ErrorBadMagic) {
  std::string bytes =
      makeFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
               std::string(4, '\0'));
  bytes[1] = 'M';
  EXPECT_EQ(errorMessage(parseNpy(bytes, "x.npy")),
            "x.npy: not a .npy file (bad magic string)");
  EXPECT_EQ(errorMessage(parseNpy("", "empty.npy")),
            "empty.npy: not a .npy file (bad magic string)");
}

TEST(NpyTest, ErrorUnsupportedVersion) {
  std::string bytes =
      makeFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
               std::string(4, '\0'));
  bytes[6] = 4;
  EXPECT_EQ(errorMessage(parseNpy(bytes, "x.npy")),
            "x.npy: unsupported .npy format version 4.0 (expected 1.0 or 2.0)");
}

TEST(NpyTest, ErrorBigEndian) {
  std::string bytes =
      makeFile("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
               std::string(4, '\0'));
  EXPECT_EQ(errorMessage(parseNpy(bytes, "x.npy")),
            "x.npy: big-endian dtype '>f4' is not supported (expected "
            "little-endian)");
}

TEST(NpyTest, ErrorFortranOrder) {
  std::string bytes =
      makeFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
               std::string(16, '\0'));
  EXPECT_EQ(errorMessage(parseNpy(bytes, "x.npy")),
            "x.npy: Fortran-order arrays are not supported");
}

TEST(NpyTest, ErrorUnsupportedDType) {
  for (const char *descr : {"<f8", "|u1", "|b1", "<c8", "<U3", "=f4"}) {
    SCOPED_TRACE(descr);
    std::string bytes = makeFile(std::string("{'descr': '") + descr +
                                     "', 'fortran_order': False, "
                                     "'shape': (1,), }",
                                 std::string(8, '\0'));
    EXPECT_EQ(errorMessage(parseNpy(bytes, "x.npy")),
              std::string("x.npy: unsupported dtype '") + descr +
                  "' (expected '<f4', '<f2', '<i4' or '<i8')");
  }
  std::string structured = makeFile(
      "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
      std::string(4, '\0'));
  EXPECT_EQ(errorMessage(parseNpy(structured, "x.npy")),
            "x.npy: malformed .npy header: structured dtypes are not "
            "supported");
}

TEST(NpyTest, ErrorTruncatedPayload) {
  std::string bytes =
      makeFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
               std::string(20, '\0'));
  EXPECT_EQ(errorMessage(parseNpy(bytes, "x.npy")),
            "x.npy: truncated data: shape (2, 3) of '<f4' needs 24 bytes but "
            "the file has 20");
}

TEST(NpyTest, ErrorShapeSizeMismatch) {
  std::string bytes =
      makeFile("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
               std::string(32, '\0'));
  EXPECT_EQ(errorMessage(parseNpy(bytes, "x.npy")),
            "x.npy: data size mismatch: shape (3,) of '<i8' needs 24 bytes "
            "but the file has 32");
  // A zero-size array with data after the header.
  std::string empty =
      makeFile("{'descr': '<i8', 'fortran_order': False, 'shape': (0, 4), }",
               std::string(8, '\0'));
  EXPECT_EQ(errorMessage(parseNpy(empty, "x.npy")),
            "x.npy: data size mismatch: shape (0, 4) of '<i8' needs 0 bytes "
            "but the file has 8");
}

TEST(NpyTest, ErrorTruncatedHeader) {
  std::string bytes =
      makeFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
               std::string(4, '\0'));
  EXPECT_EQ(errorMessage(parseNpy(bytes.substr(0, 9), "x.npy")),
            "x.npy: truncated .npy header");
  EXPECT_EQ(errorMessage(parseNpy(bytes.substr(0, 40), "x.npy")),
            "x.npy: truncated .npy header: header length is 118 but only 30 "
            "bytes follow");
}

TEST(NpyTest, ErrorMalformedHeaders) {
  struct Case {
    const char *dict;
    const char *message;
  } cases[] = {
      {"'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
       "expected '{'"},
      {"{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'"},
      {"{'descr': '<f4', 'shape': (1,)}", "missing key 'fortran_order'"},
      {"{'fortran_order': False, 'shape': (1,)}", "missing key 'descr'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
       "unexpected or repeated key 'x'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
       "'shape': (1,)}",
       "unexpected or repeated key 'descr'"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
       "expected True or False at offset 34"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [1]}",
       "expected a tuple for 'shape'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
       "expected a non-negative integer in 'shape' at offset 51"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1 2)}",
       "expected ',' or ')' in 'shape'"},
      {"{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}",
       "expected ',' or '}' after 'descr'"},
      {"{'descr: '<f4', 'fortran_order': False, 'shape': (1,)}",
       "expected ':' after 'descr: '"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}",
       "expected ',' or '}' after 'descr'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x",
       "unexpected text after '}'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)",
       "expected ',' or '}' after 'shape'"},
      {"{'descr", "unterminated string"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.dict);
    std::string bytes = makeFile(c.dict, std::string(4, '\0'));
    EXPECT_EQ(errorMessage(parseNpy(bytes, "x.npy")),
              std::string("x.npy: malformed .npy header: ") + c.message);
  }
}

TEST(NpyTest, ErrorShapeTooLarge) {
  std::string bytes = makeFile("{'descr': '<f4', 'fortran_order': False, "
                               "'shape': (4294967296, 4294967296), }",
                               "");
  EXPECT_EQ(errorMessage(parseNpy(bytes, "x.npy")),
            "x.npy: shape (4294967296, 4294967296) is too large");
}

TEST(NpyTest, ErrorMissingFile) {
  std::string message =
      errorMessage(readNpyFile("/nonexistent/tessera-npy-test.npy"));
  EXPECT_EQ(
      message.rfind("/nonexistent/tessera-npy-test.npy: cannot open: ", 0), 0u)
      << message;
}

} // namespace
