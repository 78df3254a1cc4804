//===- CompilerTest.cpp - Tests of the embeddable compiler ----------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// `tessera::Compiler` as a framework would use it: diagnostics come back to
// the caller (nothing on stderr), artifacts stay in memory, a loaded CPU
// function computes what a naive attention written here computes, options
// that conflict are errors, and the IR after each pass can be recorded.
//
//===----------------------------------------------------------------------===//

#include "tessera/Compiler/Compiler.h"
#include "tessera/Target/GPU/Emulator.h"

#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace mlir;
using namespace mlir::tessera;

namespace {

// GQA (4 query heads on 2 KV heads), causal with Sq = 5 < Skv = 9.
constexpr const char *kAttention = R"mlir(
func.func @attn(%q: tensor<1x4x5x8xf32>, %k: tensor<1x2x9x8xf32>,
                %v: tensor<1x2x9x8xf32>)
    -> (tensor<1x4x5x8xf32>, tensor<1x4x5xf32>) {
  %o, %lse = tessera.attention %q, %k, %v {causal = true}
      : (tensor<1x4x5x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>)
      -> (tensor<1x4x5x8xf32>, tensor<1x4x5xf32>)
  return %o, %lse : tensor<1x4x5x8xf32>, tensor<1x4x5xf32>
}
)mlir";

// The type of %b disagrees with its use: an error at line 4, column 10.
constexpr const char *kBadType = R"mlir(
func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %b = arith.addf %a, %a : tensor<4xf32>
  return %b : tensor<8xf32>
}
)mlir";

HostTensor makeRandom(ArrayRef<int64_t> shape, unsigned seed) {
  HostTensor tensor(HostElementType::F32, shape);
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  auto *data = static_cast<float *>(tensor.getData());
  for (int64_t i = 0, e = tensor.getNumElements(); i < e; ++i)
    data[i] = uniform(generator);
  return tensor;
}

/// Softmax(q·kᵀ/sqrt(D)) v with the causal band aligned bottom-right, and
/// the natural-log sum of the exponentials, computed in double.
void naiveAttention(const float *q, const float *k, const float *v, float *o,
                    float *lse) {
  const int hq = 4, hkv = 2, sq = 5, skv = 9, d = 8;
  for (int h = 0; h < hq; ++h) {
    int g = h / (hq / hkv);
    for (int i = 0; i < sq; ++i) {
      std::vector<double> scores;
      double maximum = -std::numeric_limits<double>::infinity();
      int visible = i + (skv - sq) + 1;
      for (int j = 0; j < visible; ++j) {
        double s = 0;
        for (int c = 0; c < d; ++c)
          s += double(q[(h * sq + i) * d + c]) * k[(g * skv + j) * d + c];
        scores.push_back(s / std::sqrt(double(d)));
        maximum = std::max(maximum, scores.back());
      }
      double sum = 0;
      for (double &s : scores)
        sum += (s = std::exp(s - maximum));
      for (int c = 0; c < d; ++c) {
        double acc = 0;
        for (int j = 0; j < visible; ++j)
          acc += scores[j] * v[(g * skv + j) * d + c];
        o[(h * sq + i) * d + c] = float(acc / sum);
      }
      lse[h * sq + i] = float(maximum + std::log(sum));
    }
  }
}

CompilerOptions cpuOptions(EmitKind emit = EmitKind::Object) {
  CompilerOptions options;
  options.emit = emit;
  options.threads = 1;
  return options;
}

TEST(Compiler, ParseErrorsComeBackAndNothingIsPrinted) {
  Compiler compiler(cpuOptions());
  testing::internal::CaptureStderr();
  llvm::Expected<OwningOpRef<ModuleOp>> module =
      compiler.parse(kBadType, "bad.mlir");
  std::string printed = testing::internal::GetCapturedStderr();
  ASSERT_FALSE(module);
  EXPECT_EQ(llvm::toString(module.takeError()),
            "bad.mlir:4:10: use of value '%b' expects different type than "
            "prior uses: 'tensor<8xf32>' vs 'tensor<4xf32>'");
  EXPECT_EQ(printed, "");

  ArrayRef<CompilerDiagnostic> diagnostics = compiler.getDiagnostics();
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].severity, DiagnosticSeverity::Error);
  EXPECT_EQ(diagnostics[0].location, "bad.mlir:4:10");
  EXPECT_FALSE(diagnostics[0].outsideIR);
  // Rendered as a tool prints it: the source line, a caret, the note.
  EXPECT_NE(diagnostics[0].rendered.find("  return %b : tensor<8xf32>\n"
                                         "         ^\n"),
            std::string::npos)
      << diagnostics[0].rendered;
  EXPECT_NE(diagnostics[0].rendered.find("bad.mlir:3:3: note: prior use here"),
            std::string::npos)
      << diagnostics[0].rendered;

  compiler.clearDiagnostics();
  EXPECT_TRUE(compiler.getDiagnostics().empty());
}

TEST(Compiler, VerifierErrorsOfPassesComeBack) {
  // The op verifies, but a pipeline that stops before the LLVM dialect
  // cannot be emitted as an object: a failure outside the IR.
  CompilerOptions options = cpuOptions();
  options.passPipeline = "builtin.module(canonicalize)";
  Compiler compiler(options);
  llvm::Expected<OwningOpRef<ModuleOp>> module = compiler.parse(kAttention);
  ASSERT_TRUE(!!module) << llvm::toString(module.takeError());
  testing::internal::CaptureStderr();
  llvm::Expected<CompilerArtifact> artifact = compiler.compile(**module);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  ASSERT_FALSE(artifact);
  std::string message = llvm::toString(artifact.takeError());
  EXPECT_NE(message.find("has no translation to LLVM IR"), std::string::npos)
      << message;
  ASSERT_EQ(compiler.getDiagnostics().size(), 1u);
  EXPECT_TRUE(compiler.getDiagnostics()[0].outsideIR);
  EXPECT_EQ(compiler.getDiagnostics()[0].message, message);
}

TEST(Compiler, CompilesToAnObjectInMemory) {
  Compiler compiler(cpuOptions());
  llvm::Expected<OwningOpRef<ModuleOp>> module = compiler.parse(kAttention);
  ASSERT_TRUE(!!module) << llvm::toString(module.takeError());
  llvm::Expected<CompilerArtifact> artifact = compiler.compile(**module);
  ASSERT_TRUE(!!artifact) << llvm::toString(artifact.takeError());
  EXPECT_EQ(artifact->kind, EmitKind::Object);
  ASSERT_GT(artifact->bytes.size(), 64u);
  EXPECT_EQ(artifact->bytes.compare(0, 4,
                                    "\x7f"
                                    "ELF"),
            0);
  // The C interface of the entry is in the object.
  EXPECT_NE(artifact->bytes.find("_mlir_ciface_attn"), std::string::npos);
}

TEST(Compiler, LoadedFunctionMatchesANaiveAttention) {
  CompilerOptions options = cpuOptions();
  // Tiles smaller than the sequences, so that the tiled loops really loop.
  options.tileSizes.attentionQueryBlock = 2;
  options.tileSizes.attentionKVBlock = 4;
  Compiler compiler(options);
  llvm::Expected<OwningOpRef<ModuleOp>> module = compiler.parse(kAttention);
  ASSERT_TRUE(!!module) << llvm::toString(module.takeError());
  llvm::Expected<std::unique_ptr<CompiledEntry>> function =
      compiler.load(**module, "attn");
  ASSERT_TRUE(!!function) << llvm::toString(function.takeError());
  ASSERT_EQ((*function)->getSignature().arguments.size(), 3u);
  ASSERT_EQ((*function)->getSignature().results.size(), 2u);

  HostTensor q = makeRandom({1, 4, 5, 8}, 1);
  HostTensor k = makeRandom({1, 2, 9, 8}, 2);
  HostTensor v = makeRandom({1, 2, 9, 8}, 3);
  llvm::Expected<std::vector<HostTensor>> results =
      (*function)->invoke({q.getRef(), k.getRef(), v.getRef()});
  ASSERT_TRUE(!!results) << llvm::toString(results.takeError());

  HostTensor expectedO(HostElementType::F32, {1, 4, 5, 8});
  HostTensor expectedLse(HostElementType::F32, {1, 4, 5});
  naiveAttention(static_cast<const float *>(q.getData()),
                 static_cast<const float *>(k.getData()),
                 static_cast<const float *>(v.getData()),
                 static_cast<float *>(expectedO.getData()),
                 static_cast<float *>(expectedLse.getData()));
  TensorComparison o = compareTensors((*results)[0], expectedO);
  TensorComparison lse = compareTensors((*results)[1], expectedLse);
  EXPECT_TRUE(o.passed) << "max abs error " << o.maxAbsError;
  EXPECT_TRUE(lse.passed) << "max abs error " << lse.maxAbsError;
  EXPECT_LT(o.maxAbsError, 1e-5);

  // The module itself was not lowered.
  EXPECT_FALSE(
      (**module).lookupSymbol("attn")->hasAttr("llvm.emit_c_interface"));
}

TEST(Compiler, LowersForTheGPUEmulator) {
  // Both GPU targets' pipelines, stopped before the kernels' lowering, give
  // what the GPU emulator runs; it matches a naive attention.
  for (CompileTarget target : {CompileTarget::AMDGPU, CompileTarget::NVPTX}) {
    Compiler compiler(cpuOptions());
    llvm::Expected<OwningOpRef<ModuleOp>> module = compiler.parse(kAttention);
    ASSERT_TRUE(!!module) << llvm::toString(module.takeError());
    CompilerOptions options;
    options.target = target;
    ASSERT_FALSE(!!lowerForGPUEmulation(**module, options));
    std::string printed;
    llvm::raw_string_ostream os(printed);
    (**module).print(os);
    EXPECT_NE(printed.find("gpu.launch_func"), std::string::npos);
    EXPECT_EQ(printed.find("llvm.func"), std::string::npos);

    HostTensor q = makeRandom({1, 4, 5, 8}, 4);
    HostTensor k = makeRandom({1, 2, 9, 8}, 5);
    HostTensor v = makeRandom({1, 2, 9, 8}, 6);
    llvm::Expected<std::vector<NpyArray>> results =
        emulateGPUFunction(**module, "attn", {q.toNpy(), k.toNpy(), v.toNpy()});
    ASSERT_TRUE(!!results) << llvm::toString(results.takeError());
    ASSERT_EQ(results->size(), 2u);
    std::vector<float> o(4 * 5 * 8), lse(4 * 5);
    naiveAttention(static_cast<const float *>(q.getData()),
                   static_cast<const float *>(k.getData()),
                   static_cast<const float *>(v.getData()), o.data(),
                   lse.data());
    ASSERT_EQ((*results)[0].getNumElements(), int64_t(o.size()));
    ASSERT_EQ((*results)[1].getNumElements(), int64_t(lse.size()));
    for (size_t i = 0; i < o.size(); ++i)
      EXPECT_NEAR((*results)[0].getDataAs<float>()[i], o[i], 1e-5) << i;
    for (size_t i = 0; i < lse.size(); ++i)
      EXPECT_NEAR((*results)[1].getDataAs<float>()[i], lse[i], 1e-5) << i;
  }

  Compiler compiler(cpuOptions());
  llvm::Expected<OwningOpRef<ModuleOp>> module = compiler.parse(kAttention);
  ASSERT_TRUE(!!module) << llvm::toString(module.takeError());
  EXPECT_EQ(llvm::toString(lowerForGPUEmulation(**module, cpuOptions())),
            "emulation is for the GPU targets (nvptx, amdgpu)");
  CompilerOptions options;
  options.target = CompileTarget::AMDGPU;
  options.pipelineOptions = "chip=gfx1";
  EXPECT_EQ(llvm::toString(lowerForGPUEmulation(**module, options)),
            "unknown AMD chip 'gfx1' (expected gfx<NNN>, e.g. gfx90a, gfx942)");
}

TEST(Compiler, CallsCheckTheirArguments) {
  Compiler compiler(cpuOptions());
  llvm::Expected<OwningOpRef<ModuleOp>> module = compiler.parse(kAttention);
  ASSERT_TRUE(!!module) << llvm::toString(module.takeError());
  llvm::Expected<std::unique_ptr<CompiledEntry>> function =
      compiler.load(**module, "attn");
  ASSERT_TRUE(!!function) << llvm::toString(function.takeError());

  HostTensor q = makeRandom({1, 4, 5, 8}, 1);
  HostTensor shortK = makeRandom({1, 2, 8, 8}, 2);
  HostTensor v = makeRandom({1, 2, 9, 8}, 3);
  HostTensor wrongType(HostElementType::F16, {1, 2, 9, 8});
  EXPECT_EQ(
      llvm::toString((*function)
                         ->invoke({q.getRef(), shortK.getRef(), v.getRef()})
                         .takeError()),
      "argument #1 (tensor<1x2x9x8xf32>): got size 8 where the type has "
      "9");
  EXPECT_EQ(
      llvm::toString((*function)
                         ->invoke({q.getRef(), v.getRef(), wrongType.getRef()})
                         .takeError()),
      "argument #2 (tensor<1x2x9x8xf32>): got f16 elements");
  EXPECT_EQ(
      llvm::toString((*function)->invoke({q.getRef(), v.getRef()}).takeError()),
      "function 'attn' takes 3 arguments but 2 were bound");

  EXPECT_EQ(llvm::toString(compiler.load(**module, "nope").takeError()),
            "no function 'nope' in the module");
}

TEST(Compiler, ConflictingOptionsAreErrors) {
  {
    CompilerOptions options = cpuOptions();
    options.pipelineOptions = "threads=2";
    Compiler compiler(options);
    EXPECT_EQ(llvm::toString(compiler.verifyOptions()),
              "the thread count is given twice: in the compiler options and "
              "as the pipeline option 'threads'");
    ASSERT_EQ(compiler.getDiagnostics().size(), 1u);
    EXPECT_TRUE(compiler.getDiagnostics()[0].outsideIR);
  }
  {
    CompilerOptions options = cpuOptions();
    options.tileSizes.moeKBlock = 64;
    options.pipelineOptions = "moe-k-block=128";
    Compiler compiler(options);
    EXPECT_EQ(llvm::toString(compiler.verifyOptions()),
              "the MoE K block is given twice: in the compiler options and as "
              "the pipeline option 'moe-k-block'");
  }
  {
    CompilerOptions options;
    options.target = CompileTarget::NVPTX;
    options.emit = EmitKind::PTX;
    options.threads = 4;
    Compiler compiler(options);
    EXPECT_EQ(llvm::toString(compiler.verifyOptions()),
              "the thread count is an option of the cpu target");
  }
  {
    CompilerOptions options;
    options.target = CompileTarget::AMDGPU;
    options.emit = EmitKind::HSACO;
    options.tileSizes.attentionKVBlock = 64;
    Compiler compiler(options);
    EXPECT_NE(llvm::toString(compiler.verifyOptions()).find("KV and K blocks"),
              std::string::npos);
  }
  {
    CompilerOptions options = cpuOptions();
    options.pipelineOptions = "no-such-option=1";
    Compiler compiler(options);
    testing::internal::CaptureStderr();
    llvm::Error error = compiler.verifyOptions();
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
    EXPECT_EQ(llvm::toString(std::move(error)),
              "invalid options for tessera-cpu-pipeline 'no-such-option=1': "
              "<Pass-Options-Parser>: no such option no-such-option");
  }
}

TEST(Compiler, GPUTileSizesSetTheGPUPipelineOptions) {
  // The column block of the grouped GEMMs is tensor-core-tile-n on GPUs.
  CompilerOptions options;
  options.target = CompileTarget::NVPTX;
  options.emit = EmitKind::PTX;
  options.tileSizes.moeColumnBlock = 128;
  options.pipelineOptions = "tensor-core-tile-n=256";
  Compiler compiler(options);
  EXPECT_EQ(llvm::toString(compiler.verifyOptions()),
            "the MoE column block is given twice: in the compiler options and "
            "as the pipeline option 'tensor-core-tile-n'");
  options.pipelineOptions = "";
  Compiler valid(options);
  EXPECT_FALSE(!!valid.verifyOptions());
}

TEST(Compiler, RecordsTheIRAfterEachPass) {
  Compiler compiler(cpuOptions(EmitKind::MLIR));
  compiler.setCaptureStages(true);
  llvm::Expected<OwningOpRef<ModuleOp>> module = compiler.parse(kAttention);
  ASSERT_TRUE(!!module) << llvm::toString(module.takeError());
  llvm::Expected<CompilerArtifact> artifact = compiler.compile(**module);
  ASSERT_TRUE(!!artifact) << llvm::toString(artifact.takeError());

  ArrayRef<CompilerStage> stages = compiler.getStages();
  ASSERT_GT(stages.size(), 5u);
  const CompilerStage *tiled = nullptr;
  for (const CompilerStage &stage : stages)
    if (stage.pass == "tessera-tile-attention")
      tiled = &stage;
  ASSERT_NE(tiled, nullptr);
  // After tiling, the op is gone and a loop over KV blocks is there.
  EXPECT_EQ(tiled->ir.find("tessera.attention"), std::string::npos);
  EXPECT_NE(tiled->ir.find("scf.for"), std::string::npos);
  // The last stage is the module the artifact prints.
  EXPECT_TRUE(stages.back().ir == artifact->bytes);
  // Recording ran on one thread; the context is multithreaded again.
  EXPECT_TRUE(compiler.getContext().isMultithreadingEnabled());
}

TEST(Compiler, RunsTextualPipelines) {
  Compiler compiler(cpuOptions());
  llvm::Expected<OwningOpRef<ModuleOp>> module = compiler.parse(kAttention);
  ASSERT_TRUE(!!module) << llvm::toString(module.takeError());
  EXPECT_FALSE(!!compiler.runPipeline(
      **module, "builtin.module(tessera-tile-attention)"));
  std::string printed;
  llvm::raw_string_ostream os(printed);
  (**module).print(os);
  EXPECT_EQ(printed.find("tessera.attention"), std::string::npos);

  EXPECT_EQ(llvm::toString(compiler.runPipeline(**module, "func.func(cse)")),
            "the pass pipeline is anchored on 'func.func', not on "
            "'builtin.module'");
  std::string message =
      llvm::toString(compiler.runPipeline(**module, "builtin.module(nope)"));
  EXPECT_EQ(message, "invalid pass pipeline: 'nope' does not refer to a "
                     "registered pass or pass pipeline");
}

TEST(Compiler, WorksOnTheCallersContext) {
  MLIRContext context;
  Compiler compiler(context, cpuOptions());
  EXPECT_EQ(&compiler.getContext(), &context);
  llvm::Expected<OwningOpRef<ModuleOp>> module = compiler.parse(kAttention);
  ASSERT_TRUE(!!module) << llvm::toString(module.takeError());
  EXPECT_EQ((**module).getContext(), &context);
  llvm::Expected<CompilerArtifact> artifact = compiler.compile(**module);
  ASSERT_TRUE(!!artifact) << llvm::toString(artifact.takeError());
}

} // namespace
