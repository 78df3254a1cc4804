//===- VerifierTest.cpp - Tests of the tessera op verifiers ---------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Builds ops through the C++ builders (as a framework embedding Tessera
// would) and checks what the verifiers accept and the exact diagnostics of
// what they reject. The lit tests under test/Dialect cover the textual form.
//
//===----------------------------------------------------------------------===//

#include "tessera/Dialect/Tessera/IR/TesseraDialect.h"
#include "tessera/Dialect/Tessera/IR/TesseraOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace mlir;
using namespace mlir::tessera;

namespace {

class VerifierTest : public ::testing::Test {
protected:
  VerifierTest() : builder(&context) {
    context.loadDialect<TesseraDialect, func::FuncDialect>();
    module = ModuleOp::create(builder.getUnknownLoc());
    builder.setInsertionPointToEnd(module->getBody());
  }

  /// A function argument of the given tensor type to use as an operand.
  Value arg(ArrayRef<int64_t> shape, Type elementType) {
    auto type = RankedTensorType::get(shape, elementType);
    if (!func) {
      func = func::FuncOp::create(builder, builder.getUnknownLoc(), "f",
                                  builder.getFunctionType({}, {}));
      builder.setInsertionPointToEnd(func.addEntryBlock());
    }
    (void)func.insertArgument(func.getNumArguments(), type, {},
                              builder.getUnknownLoc());
    return func.getArgument(func.getNumArguments() - 1);
  }

  RankedTensorType tensor(ArrayRef<int64_t> shape, Type elementType) {
    return RankedTensorType::get(shape, elementType);
  }

  /// Verifies `op` and returns the first diagnostic ("" if it verifies).
  std::string verifyAndGetError(Operation *op) {
    std::string message;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      if (message.empty())
        message = diag.str();
      return success();
    });
    if (succeeded(verify(op)))
      return "";
    return message;
  }

  MLIRContext context;
  OpBuilder builder;
  OwningOpRef<ModuleOp> module;
  func::FuncOp func;
};

TEST_F(VerifierTest, AttentionAcceptsGQAWithLse) {
  Type f16 = builder.getF16Type();
  Value q = arg({1, 8, 16, 64}, f16), k = arg({1, 2, 32, 64}, f16),
        v = arg({1, 2, 32, 64}, f16);
  auto op = AttentionOp::create(
      builder, builder.getUnknownLoc(), tensor({1, 8, 16, 64}, f16),
      tensor({1, 8, 16}, builder.getF32Type()), q, k, v, /*bias=*/Value(),
      /*kv_lens=*/Value(), /*scale=*/nullptr, /*causal=*/true, /*window=*/0,
      /*softcap=*/APFloat(0.0f));
  EXPECT_EQ(verifyAndGetError(op), "");
  // The default scale is 1/sqrt(D).
  ASSERT_TRUE(op.getStaticScale().has_value());
  EXPECT_DOUBLE_EQ(*op.getStaticScale(), 1.0 / 8.0);
}

TEST_F(VerifierTest, AttentionRejectsHeadsNotMultiple) {
  Type f32 = builder.getF32Type();
  Value q = arg({1, 8, 16, 64}, f32), k = arg({1, 3, 32, 64}, f32),
        v = arg({1, 3, 32, 64}, f32);
  auto op = AttentionOp::create(
      builder, builder.getUnknownLoc(), tensor({1, 8, 16, 64}, f32), Type(), q,
      k, v, Value(), Value(), nullptr, false, 0, APFloat(0.0f));
  EXPECT_EQ(verifyAndGetError(op),
            "'tessera.attention' op query heads Hq = 8 must be a multiple of "
            "KV heads Hkv = 3 ('q' is [B, Hq, Sq, D], 'k' is [B, Hkv, Skv, "
            "D])");
}

TEST_F(VerifierTest, AttentionDynamicDimsBindToStaticOnes) {
  // B is dynamic in q but static in k: out's B must then match k's.
  Type f32 = builder.getF32Type();
  Value q = arg({ShapedType::kDynamic, 4, 8, 16}, f32),
        k = arg({2, 4, 8, 16}, f32), v = arg({2, 4, 8, 16}, f32);
  auto op = AttentionOp::create(
      builder, builder.getUnknownLoc(), tensor({3, 4, 8, 16}, f32), Type(), q,
      k, v, Value(), Value(), nullptr, false, 0, APFloat(0.0f));
  EXPECT_EQ(verifyAndGetError(op),
            "'tessera.attention' op 'out' has shape [3, 4, 8, 16] but "
            "expected [B, Hq, Sq, Dv] with B = 2 (from 'k')");
}

TEST_F(VerifierTest, AttentionDynamicHeadDimHasNoStaticScale) {
  Type f32 = builder.getF32Type();
  int64_t dyn = ShapedType::kDynamic;
  Value q = arg({1, 4, 8, dyn}, f32), k = arg({1, 4, 8, dyn}, f32),
        v = arg({1, 4, 8, 16}, f32);
  auto op = AttentionOp::create(
      builder, builder.getUnknownLoc(), tensor({1, 4, 8, 16}, f32), Type(), q,
      k, v, Value(), Value(), nullptr, false, 0, APFloat(0.0f));
  EXPECT_EQ(verifyAndGetError(op), "");
  EXPECT_FALSE(op.getStaticScale().has_value());
}

TEST_F(VerifierTest, LatentAttentionChecksLatentDim) {
  Type bf16 = builder.getBF16Type();
  Value q = arg({1, 128, 1, 576}, bf16), kv = arg({1, 4096, 576}, bf16);
  auto good = LatentAttentionOp::create(
      builder, builder.getUnknownLoc(), tensor({1, 128, 1, 512}, bf16), q, kv,
      Value(), /*latent_dim=*/512, nullptr, false);
  EXPECT_EQ(verifyAndGetError(good), "");
  EXPECT_DOUBLE_EQ(*good.getStaticScale(), 1.0 / std::sqrt(576.0));
  auto bad = LatentAttentionOp::create(
      builder, builder.getUnknownLoc(), tensor({1, 128, 1, 512}, bf16), q, kv,
      Value(), /*latent_dim=*/600, nullptr, false);
  EXPECT_EQ(verifyAndGetError(bad),
            "'tessera.latent_attention' op 'latent_dim' L = 600 must not "
            "exceed the q/kv width L+R = 576");
}

TEST_F(VerifierTest, RouteGroupLimits) {
  Type f32 = builder.getF32Type(), i32 = builder.getI32Type();
  Value logits = arg({16, 256}, f32);
  auto make = [&](int64_t topK, int64_t nGroup, int64_t topkGroup) {
    return RouteOp::create(builder, builder.getUnknownLoc(),
                           tensor({16, topK}, f32), tensor({16, topK}, i32),
                           logits, Value(), topK, Scoring::sigmoid, nGroup,
                           builder.getI64IntegerAttr(topkGroup),
                           /*normalize=*/true, /*scale=*/APFloat(2.5f));
  };
  // DeepSeek-V3: 256 experts, 8 groups, 4 kept, top 8.
  auto deepseek = make(8, 8, 4);
  EXPECT_EQ(verifyAndGetError(deepseek), "");
  EXPECT_EQ(deepseek.getNumKeptGroups(), 4);
  EXPECT_EQ(verifyAndGetError(make(8, 3, 1)),
            "'tessera.route' op the number of experts E = 256 must be "
            "divisible by 'n_group' (3)");
  EXPECT_EQ(verifyAndGetError(make(8, 64, 1)),
            "'tessera.route' op 'top_k' (8) must not exceed the 4 experts of "
            "the kept groups (topk_group * E / n_group)");
}

TEST_F(VerifierTest, DispatchRowBoundFollowsBlock) {
  Type f32 = builder.getF32Type(), i32 = builder.getI32Type();
  Value x = arg({8, 32}, f32), ids = arg({8, 2}, i32);
  auto make = [&](int64_t rows, int64_t block) {
    return DispatchOp::create(builder, builder.getUnknownLoc(),
                              tensor({rows, 32}, f32), tensor({5}, i32),
                              tensor({rows}, i32), x, ids, /*num_experts=*/4,
                              block);
  };
  EXPECT_EQ(verifyAndGetError(make(16, 1)), "");
  EXPECT_EQ(verifyAndGetError(make(28, 4)), "");
  EXPECT_EQ(verifyAndGetError(make(16, 4)),
            "'tessera.dispatch' op 'rows' has shape [16, 32] but expected "
            "[M, d] with M = 28 (T * k + num_experts * (block - 1))");
}

TEST_F(VerifierTest, GroupedMatmulSwiGLUHalvesN) {
  Type f32 = builder.getF32Type(), i32 = builder.getI32Type();
  Value rows = arg({16, 32}, f32), weights = arg({4, 32, 64}, f32),
        offsets = arg({5}, i32);
  auto make = [&](int64_t n, Epilogue epilogue) {
    return GroupedMatmulOp::create(builder, builder.getUnknownLoc(),
                                   tensor({16, n}, f32), rows, weights, offsets,
                                   epilogue);
  };
  EXPECT_EQ(verifyAndGetError(make(64, Epilogue::none)), "");
  EXPECT_EQ(verifyAndGetError(make(32, Epilogue::swiglu)), "");
  EXPECT_EQ(verifyAndGetError(make(64, Epilogue::swiglu)),
            "'tessera.grouped_matmul' op 'out' has shape [16, 64] but "
            "expected [M, N/2] with N/2 = 32 (from 'weights')");
}

TEST_F(VerifierTest, MoERequiresBothSharedWeights) {
  Type f32 = builder.getF32Type();
  Value x = arg({16, 64}, f32), gate = arg({8, 64}, f32),
        up = arg({8, 64, 64}, f32), down = arg({8, 32, 64}, f32),
        sharedUp = arg({64, 128}, f32);
  auto op = MoEOp::create(
      builder, builder.getUnknownLoc(), tensor({16, 64}, f32), x, gate, up,
      down, Value(), sharedUp, Value(), /*top_k=*/2, Scoring::softmax,
      /*n_group=*/1, /*topk_group=*/nullptr,
      /*normalize=*/false, /*scale=*/APFloat(1.0f), /*block=*/1);
  EXPECT_EQ(verifyAndGetError(op), "'tessera.moe' op 'shared_up' and "
                                   "'shared_down' must be given together");
}

} // namespace
