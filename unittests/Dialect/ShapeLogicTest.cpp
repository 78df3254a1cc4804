//===- ShapeLogicTest.cpp - Tests of the shared shape rules ---------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/ShapeLogic.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace mlir::tessera;

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

TEST(ShapeLogic, DimsCompatible) {
  EXPECT_TRUE(areDimsCompatible(4, 4));
  EXPECT_FALSE(areDimsCompatible(4, 5));
  EXPECT_TRUE(areDimsCompatible(kDyn, 5));
  EXPECT_TRUE(areDimsCompatible(4, kDyn));
  EXPECT_TRUE(areDimsCompatible(kDyn, kDyn));
}

TEST(ShapeLogic, DispatchRowBoundWithoutPadding) {
  // block = 1: exactly one row per (token, slot) pair.
  EXPECT_EQ(dispatchRowBound(8, 2, 4, 1), 16);
  EXPECT_EQ(dispatchRowBound(1, 1, 256, 1), 1);
}

TEST(ShapeLogic, DispatchRowBoundWithPadding) {
  // Each of the E segments may add up to block - 1 padding rows.
  EXPECT_EQ(dispatchRowBound(8, 2, 4, 4), 16 + 4 * 3);
  EXPECT_EQ(dispatchRowBound(1024, 4, 60, 16), 4096 + 60 * 15);
  EXPECT_EQ(dispatchRowBound(0, 2, 4, 4), 12);
}

TEST(ShapeLogic, DispatchRowBoundLimit) {
  // offsets and perm are i32: at most 2^31 - 1 rows, and no int64 overflow
  // on the way to finding out.
  EXPECT_EQ(dispatchRowBound(kMaxDispatchRows, 1, 4, 1), kMaxDispatchRows);
  EXPECT_EQ(dispatchRowBound(kMaxDispatchRows, 2, 4, 1), std::nullopt);
  EXPECT_EQ(dispatchRowBound(kMaxDispatchRows - 3, 1, 1, 5), std::nullopt);
  EXPECT_EQ(dispatchRowBound(int64_t(1) << 62, 4, 4, 1), std::nullopt);
  EXPECT_EQ(dispatchRowBound(16, 2, 6, int64_t(1) << 62), std::nullopt);
  EXPECT_EQ(dispatchRowBound(16, 2, std::numeric_limits<int64_t>::max(), 2),
            std::nullopt);
  // Padding needs the number of experts.
  EXPECT_EQ(dispatchRowBound(8, 2, kDyn, 4), std::nullopt);
}

TEST(ShapeLogic, DispatchRowBoundDynamic) {
  EXPECT_EQ(dispatchRowBound(kDyn, 2, 4, 1), kDyn);
  EXPECT_EQ(dispatchRowBound(8, kDyn, 4, 4), kDyn);
}

TEST(ShapeLogic, FormatShape) {
  EXPECT_EQ(formatShape({2, kDyn, 16}), "[2, ?, 16]");
  EXPECT_EQ(formatShape({}), "[]");
  EXPECT_EQ(formatShape({7}), "[7]");
}

} // namespace
