//===- FloatConversions.h - f32 to and from f16 and bf16 --------*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Bit-exact conversions between IEEE binary32 and the 16-bit formats IEEE
// binary16 (f16) and bfloat16 (bf16). Narrowing rounds to nearest, ties to
// even; values beyond the largest finite value become infinities, NaNs stay
// (quiet) NaNs with the sign and the leading payload bits kept.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_SUPPORT_FLOATCONVERSIONS_H
#define TESSERA_SUPPORT_FLOATCONVERSIONS_H

#include <cstdint>

namespace mlir {
namespace tessera {

/// Rounds `value` to the nearest f16 and returns its bit pattern.
uint16_t convertF32ToF16(float value);

/// Returns the f32 equal to the f16 with bit pattern `bits` (exact).
float convertF16ToF32(uint16_t bits);

/// Rounds `value` to the nearest bf16 and returns its bit pattern.
uint16_t convertF32ToBF16(float value);

/// Returns the f32 equal to the bf16 with bit pattern `bits` (exact).
float convertBF16ToF32(uint16_t bits);

} // namespace tessera
} // namespace mlir

#endif // TESSERA_SUPPORT_FLOATCONVERSIONS_H
