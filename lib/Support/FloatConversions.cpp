//===- FloatConversions.cpp - f32 to and from f16 and bf16 ----------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Support/FloatConversions.h"

#include <cstring>

using namespace mlir;
using namespace mlir::tessera;

static uint32_t getBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

static float fromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

/// Shifts `value` right by `shift` (1 to 31) bits, rounding to nearest, ties
/// to even.
static uint32_t shiftRightRoundEven(uint32_t value, unsigned shift) {
  uint32_t result = value >> shift;
  uint32_t remainder = value & ((1u << shift) - 1);
  uint32_t half = 1u << (shift - 1);
  if (remainder > half || (remainder == half && (result & 1)))
    ++result;
  return result;
}

uint16_t mlir::tessera::convertF32ToF16(float value) {
  uint32_t bits = getBits(value);
  uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  uint32_t magnitude = bits & 0x7fffffff;

  // NaN: keep the leading payload bits and force a quiet NaN.
  if (magnitude > 0x7f800000)
    return sign | 0x7e00 | static_cast<uint16_t>((magnitude >> 13) & 0x3ff);
  // Infinity, and anything at or above 65520 (65504 plus half an ulp, a tie
  // that rounds to the even neighbour, infinity).
  if (magnitude >= 0x477ff000)
    return sign | 0x7c00;

  int exponent = static_cast<int>(magnitude >> 23) - 127;
  uint32_t mantissa = magnitude & 0x7fffff;
  if (exponent >= -14) {
    // Normal f16: rebias the exponent and round the mantissa from 23 to 10
    // bits; a carry out of the mantissa correctly bumps the exponent.
    uint32_t shifted = (static_cast<uint32_t>(exponent + 15) << 23) | mantissa;
    return sign | static_cast<uint16_t>(shiftRightRoundEven(shifted, 13));
  }
  // Below half the smallest subnormal (2^-25) everything rounds to zero; this
  // also covers f32 zeros and subnormals.
  if (exponent < -25)
    return sign;
  // Subnormal f16: the value is (mantissa | 2^23) * 2^(exponent - 23) and the
  // f16 unit is 2^-24. A result of 0x400 is the smallest normal, as encoded.
  uint32_t significand = mantissa | 0x800000;
  unsigned shift = static_cast<unsigned>(-1 - exponent);
  return sign | static_cast<uint16_t>(shiftRightRoundEven(significand, shift));
}

float mlir::tessera::convertF16ToF32(uint16_t bits) {
  uint32_t sign = static_cast<uint32_t>(bits & 0x8000) << 16;
  uint32_t exponent = (bits >> 10) & 0x1f;
  uint32_t mantissa = bits & 0x3ff;
  if (exponent == 0x1f)
    return fromBits(sign | 0x7f800000 | (mantissa << 13));
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24 is exact in f32.
    float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return fromBits(sign | getBits(magnitude));
  }
  return fromBits(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
}

uint16_t mlir::tessera::convertF32ToBF16(float value) {
  uint32_t bits = getBits(value);
  // NaN: truncate and force a quiet NaN so the payload cannot become zero.
  if ((bits & 0x7fffffff) > 0x7f800000)
    return static_cast<uint16_t>((bits >> 16) | 0x40);
  // Round to nearest even; overflow carries into the exponent and yields
  // infinity as it should.
  uint32_t roundingBias = 0x7fff + ((bits >> 16) & 1);
  return static_cast<uint16_t>((bits + roundingBias) >> 16);
}

float mlir::tessera::convertBF16ToF32(uint16_t bits) {
  return fromBits(static_cast<uint32_t>(bits) << 16);
}
