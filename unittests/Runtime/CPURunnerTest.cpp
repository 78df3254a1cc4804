//===- CPURunnerTest.cpp - Tests of the tessera-run library ---------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The pieces of tessera-run that the lit tests cannot reach while the default
// and reference pipelines coincide: the --check comparison (its tolerances and
// failures), input binding and conversion, and compiling and invoking an entry
// from C++.
//
//===----------------------------------------------------------------------===//

#include "tessera/Runtime/CPURunner.h"
#include "tessera/Dialect/Tessera/IR/TesseraDialect.h"
#include "tessera/Target/CPU/CPUPipeline.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace mlir;
using namespace mlir::tessera;

namespace {

HostTensor makeF32(ArrayRef<int64_t> shape, ArrayRef<float> values) {
  HostTensor tensor(HostElementType::F32, shape);
  std::memcpy(tensor.getData(), values.data(), values.size() * sizeof(float));
  return tensor;
}

HostTensor makeI32(ArrayRef<int64_t> shape, ArrayRef<int32_t> values) {
  HostTensor tensor(HostElementType::I32, shape);
  std::memcpy(tensor.getData(), values.data(), values.size() * sizeof(int32_t));
  return tensor;
}

TEST(CompareTensors, WithinTolerancePasses) {
  // The f32 limit is 1e-4 * max(1, max|expected|) = 1e-2 here: the element
  // that cancels to near zero may be off by more than its own magnitude.
  TensorComparison result =
      compareTensors(makeF32({3}, {1.00005f, 0.009f, 100.005f}),
                     makeF32({3}, {1.0f, 0.0001f, 100.0f}));
  EXPECT_TRUE(result.passed);
  EXPECT_NEAR(result.maxAbsError, 0.0089, 1e-5);
  EXPECT_NEAR(result.maxRelError, 89.0, 1e-2);
}

TEST(CompareTensors, OutsideToleranceFails) {
  // At scale 1 the f32 limit is 1e-4.
  TensorComparison result =
      compareTensors(makeF32({2}, {1.0f, 0.0f}), makeF32({2}, {1.0005f, 0.0f}));
  EXPECT_FALSE(result.passed);
  EXPECT_NEAR(result.maxAbsError, 5e-4, 1e-6);
  // At scale 100 the limit is 1e-2: an error of 0.02 fails anywhere.
  EXPECT_FALSE(compareTensors(makeF32({2}, {100.0f, 0.02f}),
                              makeF32({2}, {100.0f, 0.0f}))
                   .passed);
}

TEST(CompareTensors, InfinitiesMustMatch) {
  float inf = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(
      compareTensors(makeF32({2}, {-inf, 1.0f}), makeF32({2}, {-inf, 1.0f}))
          .passed);
  EXPECT_FALSE(
      compareTensors(makeF32({2}, {-inf, 1.0f}), makeF32({2}, {inf, 1.0f}))
          .passed);
  EXPECT_FALSE(
      compareTensors(makeF32({1}, {0.0f}), makeF32({1}, {-inf})).passed);
}

TEST(CompareTensors, NaNOnlyMatchesNaN) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(compareTensors(makeF32({1}, {nan}), makeF32({1}, {nan})).passed);
  EXPECT_FALSE(
      compareTensors(makeF32({1}, {nan}), makeF32({1}, {0.0f})).passed);
}

TEST(CompareTensors, IntegersMatchExactly) {
  EXPECT_TRUE(compareTensors(makeI32({3}, {1, -1, 7}), makeI32({3}, {1, -1, 7}))
                  .passed);
  TensorComparison result =
      compareTensors(makeI32({3}, {1, -1, 7}), makeI32({3}, {1, -1, 8}));
  EXPECT_FALSE(result.passed);
  EXPECT_EQ(result.maxAbsError, 1.0);
}

TEST(CompareTensors, ShapeMismatchFails) {
  TensorComparison result =
      compareTensors(makeF32({2}, {1.0f, 2.0f}), makeF32({1, 2}, {1.0f, 2.0f}));
  EXPECT_FALSE(result.passed);
  EXPECT_FALSE(result.mismatch.empty());
}

TEST(HostTensor, AllocateReportsWhatItCannotAllocate) {
  llvm::Expected<HostTensor> tensor =
      HostTensor::allocate(HostElementType::F32, {2, 3});
  ASSERT_TRUE(static_cast<bool>(tensor)) << llvm::toString(tensor.takeError());
  EXPECT_EQ(tensor->getNumElements(), 6);
  EXPECT_EQ(tensor->getAsDouble(5), 0.0);

  llvm::Expected<HostTensor> negative =
      HostTensor::allocate(HostElementType::F32, {2, -3});
  ASSERT_FALSE(static_cast<bool>(negative));
  EXPECT_EQ(llvm::toString(negative.takeError()),
            "cannot allocate a tensor<2x-3xf32>: a size is negative");

  llvm::Expected<HostTensor> huge =
      HostTensor::allocate(HostElementType::I64, {int64_t(1) << 60, 4});
  ASSERT_FALSE(static_cast<bool>(huge));
  EXPECT_EQ(llvm::toString(huge.takeError()),
            "cannot allocate a tensor<1152921504606846976x4xi64>: its size in "
            "bytes does not fit in 62 bits");
}

class RunnerTest : public ::testing::Test {
protected:
  RunnerTest() {
    // What an embedding application provides: the pipeline's dialects and
    // interface models, nothing registered globally.
    DialectRegistry registry;
    registerTesseraCPUPipelineDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadDialect<TesseraDialect, func::FuncDialect>();
  }

  OwningOpRef<ModuleOp> parse(StringRef source) {
    return parseSourceString<ModuleOp>(source, &context);
  }

  func::FuncOp lookup(ModuleOp module, StringRef name) {
    return module.lookupSymbol<func::FuncOp>(name);
  }

  /// `name` of `module` compiled with the runner's default pipeline.
  llvm::Expected<std::unique_ptr<CompiledEntry>> compile(ModuleOp module,
                                                         StringRef name) {
    llvm::Expected<EntrySignature> signature =
        getEntrySignature(lookup(module, name));
    if (!signature)
      return signature.takeError();
    return CompiledEntry::compile(module, *signature,
                                  buildRunnerDefaultPipeline);
  }

  MLIRContext context;
};

TEST_F(RunnerTest, BindInputConvertsAndTakesDynamicSizes) {
  OwningOpRef<ModuleOp> module = parse(R"mlir(
    func.func @f(%a: tensor<?x2xf16>, %b: tensor<3xi32>) -> tensor<?x2xf16> {
      return %a : tensor<?x2xf16>
    })mlir");
  ASSERT_TRUE(module);
  llvm::Expected<EntrySignature> signature =
      getEntrySignature(lookup(*module, "f"));
  ASSERT_TRUE(static_cast<bool>(signature));

  NpyArray halfInput(NpyDType::F32, {2, 2});
  float values[] = {1.0f, 0.5f, 65504.0f, 1.0f / 3.0f};
  std::memcpy(halfInput.data.data(), values, sizeof(values));
  llvm::Expected<HostTensor> bound =
      bindInput(halfInput, "a.npy", *signature, 0);
  ASSERT_TRUE(static_cast<bool>(bound));
  EXPECT_EQ(bound->getElementType(), HostElementType::F16);
  EXPECT_EQ(bound->getShape(), ArrayRef<int64_t>({2, 2}));
  EXPECT_EQ(bound->getAsDouble(2), 65504.0);
  // 1/3 rounds to the nearest half: 0x3555 = 0.333251953125.
  EXPECT_EQ(bound->getAsDouble(3), 0.333251953125);

  // An f32 file for an i32 argument is refused with the argument named.
  llvm::Expected<HostTensor> wrong =
      bindInput(NpyArray(NpyDType::F32, {3}), "b.npy", *signature, 1);
  ASSERT_FALSE(static_cast<bool>(wrong));
  std::string message = llvm::toString(wrong.takeError());
  EXPECT_NE(message.find("argument #1"), std::string::npos) << message;
  EXPECT_NE(message.find("b.npy"), std::string::npos) << message;
}

TEST_F(RunnerTest, RandomInputsAreDeterministic) {
  OwningOpRef<ModuleOp> module = parse(R"mlir(
    func.func @f(%a: tensor<4x4xf32>, %b: tensor<8xi32>) -> tensor<4x4xf32> {
      return %a : tensor<4x4xf32>
    })mlir");
  ASSERT_TRUE(module);
  EntrySignature signature = cantFail(getEntrySignature(lookup(*module, "f")));
  std::vector<HostTensor> first = cantFail(makeRandomInputs(signature, 7));
  std::vector<HostTensor> again = cantFail(makeRandomInputs(signature, 7));
  std::vector<HostTensor> other = cantFail(makeRandomInputs(signature, 8));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(std::memcmp(first[0].getData(), again[0].getData(),
                        first[0].getNumBytes()),
            0);
  EXPECT_NE(std::memcmp(first[0].getData(), other[0].getData(),
                        first[0].getNumBytes()),
            0);
  for (int64_t i = 0; i < first[0].getNumElements(); ++i) {
    EXPECT_GE(first[0].getAsDouble(i), -1.0);
    EXPECT_LT(first[0].getAsDouble(i), 1.0);
  }
  for (int64_t i = 0; i < first[1].getNumElements(); ++i) {
    EXPECT_GE(first[1].getAsDouble(i), 0.0);
    EXPECT_LT(first[1].getAsDouble(i), 4.0);
  }
}

TEST_F(RunnerTest, CompilesAndInvokesATesseraEntry) {
  // combine with hand-computed values: t0 = 0.5*[3,4] + 0.25*[7,8],
  // t1 = 2*[5,6] - [1,2]; row 2 is padding (perm -1).
  OwningOpRef<ModuleOp> module = parse(R"mlir(
    func.func @combine(%y: tensor<5x2xf32>, %p: tensor<5xi32>, %w: tensor<2x2xf32>)
        -> tensor<2x2xf32> {
      %o = tessera.combine %y, %p, %w
          : (tensor<5x2xf32>, tensor<5xi32>, tensor<2x2xf32>) -> tensor<2x2xf32>
      return %o : tensor<2x2xf32>
    })mlir");
  ASSERT_TRUE(module);
  llvm::Expected<std::unique_ptr<CompiledEntry>> compiled =
      compile(*module, "combine");
  ASSERT_TRUE(static_cast<bool>(compiled))
      << llvm::toString(compiled.takeError());

  std::vector<HostTensor> inputs;
  inputs.push_back(makeF32({5, 2}, {1, 2, 3, 4, 100, 100, 5, 6, 7, 8}));
  inputs.push_back(makeI32({5}, {3, 0, -1, 2, 1}));
  inputs.push_back(makeF32({2, 2}, {0.5f, 0.25f, 2.0f, -1.0f}));
  double elapsedMs = -1.0;
  llvm::Expected<std::vector<HostTensor>> results =
      (*compiled)->invoke(inputs, &elapsedMs);
  ASSERT_TRUE(static_cast<bool>(results))
      << llvm::toString(results.takeError());
  ASSERT_EQ(results->size(), 1u);
  TensorComparison comparison = compareTensors(
      (*results)[0], makeF32({2, 2}, {3.25f, 4.0f, 9.0f, 10.0f}));
  EXPECT_TRUE(comparison.passed) << comparison.maxAbsError;
  EXPECT_GE(elapsedMs, 0.0);

  // Invoking twice gives the same answer (inputs are not clobbered).
  std::vector<HostTensor> second = cantFail((*compiled)->invoke(inputs));
  EXPECT_TRUE(compareTensors(second[0], (*results)[0]).passed);
}

TEST_F(RunnerTest, ChecksDynamicSizesBeforeRunning) {
  // perm and y must have the same number of rows M; with M dynamic in both
  // only the entry's shape check can tell (tessera-shape-checks).
  OwningOpRef<ModuleOp> module = parse(R"mlir(
    func.func @combine(%y: tensor<?x2xf32>, %p: tensor<?xi32>, %w: tensor<2x2xf32>)
        -> tensor<2x2xf32> {
      %o = tessera.combine %y, %p, %w
          : (tensor<?x2xf32>, tensor<?xi32>, tensor<2x2xf32>) -> tensor<2x2xf32>
      return %o : tensor<2x2xf32>
    })mlir");
  ASSERT_TRUE(module);
  llvm::Expected<std::unique_ptr<CompiledEntry>> compiled =
      compile(*module, "combine");
  ASSERT_TRUE(static_cast<bool>(compiled))
      << llvm::toString(compiled.takeError());

  std::vector<HostTensor> inputs;
  inputs.push_back(makeF32({5, 2}, {1, 2, 3, 4, 100, 100, 5, 6, 7, 8}));
  inputs.push_back(makeI32({4}, {3, 0, -1, 2}));
  inputs.push_back(makeF32({2, 2}, {0.5f, 0.25f, 2.0f, -1.0f}));
  llvm::Expected<std::vector<HostTensor>> results = (*compiled)->invoke(inputs);
  ASSERT_FALSE(static_cast<bool>(results));
  std::string message = llvm::toString(results.takeError());
  EXPECT_NE(message.find("function 'combine' cannot run on arguments of "
                         "shapes [5, 2], [4], [2, 2]: 'tessera.combine' op"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("'perm' dimension 0 (M) must equal 'y' dimension 0 "
                         "(M)"),
            std::string::npos)
      << message;

  // With five rows of perm too it runs: the values of
  // CompilesAndInvokesATesseraEntry.
  inputs[1] = makeI32({5}, {3, 0, -1, 2, 1});
  std::vector<HostTensor> fine = cantFail((*compiled)->invoke(inputs));
  EXPECT_TRUE(
      compareTensors(fine[0], makeF32({2, 2}, {3.25f, 4.0f, 9.0f, 10.0f}))
          .passed);
}

TEST_F(RunnerTest, NeverWritesIntoItsInputs) {
  // Without the runner's read-only marking, bufferization would update %t in
  // place: the caller's buffer would change and a second call would see 7.
  OwningOpRef<ModuleOp> module = parse(R"mlir(
    func.func @bump(%t: tensor<3xf32>) -> tensor<3xf32> {
      %c1 = arith.constant 1 : index
      %x = tensor.extract %t[%c1] : tensor<3xf32>
      %y = arith.addf %x, %x : f32
      %u = tensor.insert %y into %t[%c1] : tensor<3xf32>
      return %u : tensor<3xf32>
    })mlir");
  ASSERT_TRUE(module);
  llvm::Expected<std::unique_ptr<CompiledEntry>> compiled =
      compile(*module, "bump");
  ASSERT_TRUE(static_cast<bool>(compiled))
      << llvm::toString(compiled.takeError());

  std::vector<HostTensor> inputs;
  inputs.push_back(makeF32({3}, {1.0f, 3.5f, 2.0f}));
  for (int call = 0; call < 2; ++call) {
    std::vector<HostTensor> results = cantFail((*compiled)->invoke(inputs));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_TRUE(
        compareTensors(results[0], makeF32({3}, {1.0f, 7.0f, 2.0f})).passed);
    EXPECT_TRUE(
        compareTensors(inputs[0], makeF32({3}, {1.0f, 3.5f, 2.0f})).passed);
  }
}

} // namespace
