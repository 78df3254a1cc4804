//===- FloatConversionsTest.cpp - Tests of the f16/bf16 conversions -------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Support/FloatConversions.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace mlir::tessera;

namespace {

float fromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

uint32_t toBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

const float kInf = std::numeric_limits<float>::infinity();

TEST(FloatConversionsTest, F16KnownValues) {
  EXPECT_EQ(convertF32ToF16(0.0f), 0x0000);
  EXPECT_EQ(convertF32ToF16(-0.0f), 0x8000);
  EXPECT_EQ(convertF32ToF16(1.0f), 0x3C00);
  EXPECT_EQ(convertF32ToF16(-2.0f), 0xC000);
  EXPECT_EQ(convertF32ToF16(0.5f), 0x3800);
  EXPECT_EQ(convertF32ToF16(1.5f), 0x3E00);
  EXPECT_EQ(convertF32ToF16(65504.0f), 0x7BFF);
  EXPECT_EQ(convertF32ToF16(-65504.0f), 0xFBFF);
  EXPECT_EQ(convertF32ToF16(0x1p-14f), 0x0400); // Smallest normal.
  EXPECT_EQ(convertF32ToF16(0.1f), 0x2E66);
}

TEST(FloatConversionsTest, F16Rounding) {
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties to even (down).
  EXPECT_EQ(convertF32ToF16(1.0f + 0x1p-11f), 0x3C00);
  // 1 + 3 * 2^-11 lies halfway between two neighbours: ties to even (up).
  EXPECT_EQ(convertF32ToF16(1.0f + 3 * 0x1p-11f), 0x3C02);
  // Just above the halfway point rounds up.
  EXPECT_EQ(convertF32ToF16(1.0f + 0x1p-11f + 0x1p-20f), 0x3C01);
  // Rounding up carries into the exponent: 2 - 2^-12 -> 2.
  EXPECT_EQ(convertF32ToF16(2.0f - 0x1p-12f), 0x4000);
}

TEST(FloatConversionsTest, F16Overflow) {
  // 65520 is halfway between 65504 and 65536 (infinity): ties to even, inf.
  EXPECT_EQ(convertF32ToF16(65519.0f), 0x7BFF);
  EXPECT_EQ(convertF32ToF16(65520.0f), 0x7C00);
  EXPECT_EQ(convertF32ToF16(1e10f), 0x7C00);
  EXPECT_EQ(convertF32ToF16(-1e10f), 0xFC00);
  EXPECT_EQ(convertF32ToF16(kInf), 0x7C00);
  EXPECT_EQ(convertF32ToF16(-kInf), 0xFC00);
}

TEST(FloatConversionsTest, F16Subnormals) {
  EXPECT_EQ(convertF32ToF16(0x1p-24f), 0x0001); // Smallest subnormal.
  EXPECT_EQ(convertF32ToF16(-0x1p-24f), 0x8001);
  EXPECT_EQ(convertF32ToF16(0x1p-15f), 0x0200);
  EXPECT_EQ(convertF32ToF16(0x3FFp-24f), 0x03FF); // Largest subnormal.
  // 2^-25 is halfway between 0 and 2^-24: ties to even, zero.
  EXPECT_EQ(convertF32ToF16(0x1p-25f), 0x0000);
  EXPECT_EQ(convertF32ToF16(0x1.8p-25f), 0x0001);
  // 3 * 2^-25 is halfway between 2^-24 and 2^-23: ties to even, 2^-23.
  EXPECT_EQ(convertF32ToF16(3 * 0x1p-25f), 0x0002);
  EXPECT_EQ(convertF32ToF16(0x1p-26f), 0x0000);
  EXPECT_EQ(convertF32ToF16(-0x1p-26f), 0x8000);
  // The largest subnormal plus half an ulp rounds to the smallest normal.
  EXPECT_EQ(convertF32ToF16(0x7FFp-25f), 0x0400);
  // f32 subnormals are far below the f16 range.
  EXPECT_EQ(convertF32ToF16(fromBits(0x00000001)), 0x0000);

  EXPECT_EQ(convertF16ToF32(0x0001), 0x1p-24f);
  EXPECT_EQ(convertF16ToF32(0x03FF), 0x3FFp-24f);
  EXPECT_EQ(convertF16ToF32(0x8200), -0x1p-15f);
}

TEST(FloatConversionsTest, F16NaN) {
  uint16_t nan = convertF32ToF16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x03FF, 0);
  // A signalling NaN whose payload lies in the low bits stays a NaN.
  uint16_t signalling = convertF32ToF16(fromBits(0x7F800001));
  EXPECT_EQ(signalling & 0x7C00, 0x7C00);
  EXPECT_NE(signalling & 0x03FF, 0);
  EXPECT_EQ(convertF32ToF16(fromBits(0xFFC00000)) & 0x8000, 0x8000);
  EXPECT_TRUE(std::isnan(convertF16ToF32(0x7E00)));
  EXPECT_TRUE(std::isnan(convertF16ToF32(0xFC01)));
}

TEST(FloatConversionsTest, F16ToF32) {
  EXPECT_EQ(convertF16ToF32(0x3C00), 1.0f);
  EXPECT_EQ(convertF16ToF32(0x7BFF), 65504.0f);
  EXPECT_EQ(convertF16ToF32(0x7C00), kInf);
  EXPECT_EQ(convertF16ToF32(0xFC00), -kInf);
  EXPECT_EQ(toBits(convertF16ToF32(0x8000)), 0x80000000u);
  EXPECT_EQ(convertF16ToF32(0x3555), 0x1.554p-2f);
}

TEST(FloatConversionsTest, F16RoundTripsEveryValue) {
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    float value = convertF16ToF32(static_cast<uint16_t>(bits));
    if (std::isnan(value))
      continue;
    EXPECT_EQ(convertF32ToF16(value), bits) << std::hex << bits;
  }
}

TEST(FloatConversionsTest, BF16KnownValues) {
  EXPECT_EQ(convertF32ToBF16(0.0f), 0x0000);
  EXPECT_EQ(convertF32ToBF16(-0.0f), 0x8000);
  EXPECT_EQ(convertF32ToBF16(1.0f), 0x3F80);
  EXPECT_EQ(convertF32ToBF16(-2.0f), 0xC000);
  EXPECT_EQ(convertF32ToBF16(kInf), 0x7F80);
  EXPECT_EQ(convertF32ToBF16(-kInf), 0xFF80);
  EXPECT_EQ(convertBF16ToF32(0x3F80), 1.0f);
  EXPECT_EQ(convertBF16ToF32(0x4049), 3.140625f);
  // bf16 keeps the f32 exponent range: subnormals survive.
  EXPECT_EQ(convertF32ToBF16(fromBits(0x00010000)), 0x0001);
  EXPECT_EQ(convertBF16ToF32(0x0001), fromBits(0x00010000));
}

TEST(FloatConversionsTest, BF16Rounding) {
  // Halfway cases: 0x3F808000 is between 0x3F80 and 0x3F81 (ties to even,
  // down); 0x3F818000 is between 0x3F81 and 0x3F82 (ties to even, up).
  EXPECT_EQ(convertF32ToBF16(fromBits(0x3F808000)), 0x3F80);
  EXPECT_EQ(convertF32ToBF16(fromBits(0x3F818000)), 0x3F82);
  EXPECT_EQ(convertF32ToBF16(fromBits(0x3F808001)), 0x3F81);
  EXPECT_EQ(convertF32ToBF16(fromBits(0x3F807FFF)), 0x3F80);
  // Truncation would give 0x4048 (3.125); nearest is 0x4049 (3.140625).
  EXPECT_EQ(convertF32ToBF16(3.14159265f), 0x4049);
  // Rounding up carries into the exponent.
  EXPECT_EQ(convertF32ToBF16(fromBits(0x3FFFFFFF)), 0x4000);
  // The largest finite f32 rounds to infinity.
  EXPECT_EQ(convertF32ToBF16(fromBits(0x7F7FFFFF)), 0x7F80);
  EXPECT_EQ(convertF32ToBF16(fromBits(0x7F7F7FFF)), 0x7F7F);
}

TEST(FloatConversionsTest, BF16NaN) {
  uint16_t nan = convertF32ToBF16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(std::isnan(convertBF16ToF32(nan)));
  // A NaN whose payload lies only in the low 16 bits must not become inf.
  uint16_t low = convertF32ToBF16(fromBits(0x7F800001));
  EXPECT_TRUE(std::isnan(convertBF16ToF32(low)));
  EXPECT_EQ(convertF32ToBF16(fromBits(0xFFC00000)), 0xFFC0);
}

TEST(FloatConversionsTest, BF16RoundTripsEveryValue) {
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    float value = convertBF16ToF32(static_cast<uint16_t>(bits));
    if (std::isnan(value))
      continue;
    EXPECT_EQ(convertF32ToBF16(value), bits) << std::hex << bits;
  }
}

} // namespace
