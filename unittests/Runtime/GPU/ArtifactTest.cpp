//===- ArtifactTest.cpp - Tests of the GPU artifact parser ----------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "tessera/Runtime/GPU/Artifact.h"

#include "gtest/gtest.h"

#include <string>

using namespace tessera::gpu;

namespace {

/// A manifest with `body` as its function section(s) and a 4-byte image.
std::string makeArtifact(const std::string &body,
                         const std::string &image = "ABCD") {
  return "tessera-gpu-artifact 1\n"
         "target nvptx sm_90a\n"
         "image cubin " +
         std::to_string(image.size()) + "\n" + body + "data\n" + image;
}

TEST(GPUArtifactTest, ParsesEveryKindOfLine) {
  std::string image("\0\x01\n\xff data\n", 10);
  std::string text = "# a comment\n"
                     "\n"
                     "tessera-gpu-artifact 1\n"
                     "target nvptx sm_90a   # trailing comment\n"
                     "image cubin 10\n"
                     "function moe_layer\n"
                     "  buffer 1 input 1 i32 17\n"
                     "  buffer 0 input 0 f32 64x256\n"
                     "  buffer 2 output 0 bf16 -\n"
                     "  buffer 3 temp 1048576\n"
                     "  buffer 4 output 1 i1 0x3\n"
                     "  launch k0 64 1 1 256 1 1 0 b0 b3\n"
                     "  launch k1 4 2 3 128 2 1 65536 b3 b2 i64:-7 f32:0.5 "
                     "i32:2147483647\n"
                     "end\n"
                     "function other\n"
                     "end\n"
                     "data\n" +
                     image;
  Expected<Artifact> artifact = parseArtifact(text);
  ASSERT_TRUE(static_cast<bool>(artifact)) << artifact.getError();
  EXPECT_EQ(artifact->arch, TargetArch::NVPTX);
  EXPECT_EQ(artifact->chip, "sm_90a");
  EXPECT_EQ(artifact->imageFormat, ImageFormat::Cubin);
  EXPECT_EQ(artifact->image, image);
  ASSERT_EQ(artifact->functions.size(), 2u);
  EXPECT_EQ(artifact->lookupFunction("other"), &artifact->functions[1]);
  EXPECT_EQ(artifact->lookupFunction("nope"), nullptr);

  const Function &f = artifact->functions[0];
  EXPECT_EQ(f.name, "moe_layer");
  ASSERT_EQ(f.buffers.size(), 5u);
  EXPECT_EQ(f.inputs, (std::vector<unsigned>{0, 1}));
  EXPECT_EQ(f.outputs, (std::vector<unsigned>{2, 4}));
  EXPECT_EQ(f.buffers[0].dtype, DType::F32);
  EXPECT_EQ(f.buffers[0].shape, (std::vector<int64_t>{64, 256}));
  EXPECT_EQ(f.buffers[0].numBytes, 64u * 256 * 4);
  EXPECT_EQ(f.buffers[1].position, 1u);
  EXPECT_EQ(f.buffers[1].numBytes, 17u * 4);
  EXPECT_TRUE(f.buffers[2].shape.empty());
  EXPECT_EQ(f.buffers[2].numBytes, 2u);
  EXPECT_EQ(f.buffers[2].describe(), "bf16 -");
  EXPECT_EQ(f.buffers[3].kind, BufferDesc::Kind::Temp);
  EXPECT_EQ(f.buffers[3].numBytes, 1048576u);
  EXPECT_EQ(f.buffers[4].numBytes, 0u);
  EXPECT_EQ(f.buffers[4].describe(), "i1 0x3");

  ASSERT_EQ(f.launches.size(), 2u);
  const Launch &k1 = f.launches[1];
  EXPECT_EQ(k1.kernel, "k1");
  EXPECT_EQ(k1.grid[1], 2u);
  EXPECT_EQ(k1.grid[2], 3u);
  EXPECT_EQ(k1.block[0], 128u);
  EXPECT_EQ(k1.sharedBytes, 65536u);
  EXPECT_EQ(k1.line, 13u);
  ASSERT_EQ(k1.args.size(), 5u);
  EXPECT_EQ(k1.args[0].kind, LaunchArg::Kind::Buffer);
  EXPECT_EQ(k1.args[0].buffer, 3u);
  EXPECT_EQ(k1.args[2].kind, LaunchArg::Kind::I64);
  EXPECT_EQ(k1.args[2].intValue, -7);
  EXPECT_EQ(k1.args[3].kind, LaunchArg::Kind::F32);
  EXPECT_EQ(k1.args[3].floatValue, 0.5f);
  EXPECT_EQ(k1.args[4].kind, LaunchArg::Kind::I32);
  EXPECT_EQ(k1.args[4].intValue, 2147483647);
}

TEST(GPUArtifactTest, ParsesAMDGPU) {
  Expected<Artifact> artifact =
      parseArtifact("tessera-gpu-artifact 1\ntarget amdgpu gfx942\n"
                    "image hsaco 0\nfunction f\nend\ndata\n");
  ASSERT_TRUE(static_cast<bool>(artifact)) << artifact.getError();
  EXPECT_EQ(artifact->arch, TargetArch::AMDGPU);
  EXPECT_EQ(artifact->imageFormat, ImageFormat::HSACO);
  EXPECT_TRUE(artifact->image.empty());
}

struct MalformedCase {
  const char *name;
  std::string text;
  const char *error;
};

class GPUArtifactErrorTest : public testing::TestWithParam<MalformedCase> {};

TEST_P(GPUArtifactErrorTest, ReportsTheLineAndTheProblem) {
  const MalformedCase &c = GetParam();
  Expected<Artifact> artifact = parseArtifact(c.text, "a.gpu");
  ASSERT_FALSE(static_cast<bool>(artifact));
  EXPECT_EQ(artifact.getError(), c.error);
}

const std::string kHead = "tessera-gpu-artifact 1\ntarget nvptx sm_90\n"
                          "image ptx 0\n";

INSTANTIATE_TEST_SUITE_P(
    Malformed, GPUArtifactErrorTest,
    testing::Values(
        MalformedCase{"Empty", "",
                      "a.gpu:1: empty artifact (expected "
                      "'tessera-gpu-artifact 1')"},
        MalformedCase{"BadMagic", "hello\n",
                      "a.gpu:1: not a Tessera GPU artifact (expected "
                      "'tessera-gpu-artifact 1' first)"},
        MalformedCase{"BadVersion", "tessera-gpu-artifact 2\n",
                      "a.gpu:1: unsupported artifact version 2 (expected 1)"},
        MalformedCase{"UnknownTarget", "tessera-gpu-artifact 1\ntarget x86 a\n",
                      "a.gpu:2: unknown target 'x86' (expected nvptx or "
                      "amdgpu)"},
        MalformedCase{"TargetArity", "tessera-gpu-artifact 1\ntarget nvptx\n",
                      "a.gpu:2: expected 'target <nvptx|amdgpu> <chip>'"},
        MalformedCase{"UnknownImage",
                      "tessera-gpu-artifact 1\ntarget nvptx sm_90\n"
                      "image elf 3\n",
                      "a.gpu:3: unknown image format 'elf' (expected ptx, "
                      "cubin or hsaco)"},
        MalformedCase{"ImageTargetMismatch",
                      "tessera-gpu-artifact 1\ntarget amdgpu gfx942\n"
                      "image cubin 3\n",
                      "a.gpu:3: a cubin image cannot hold code for target "
                      "amdgpu"},
        MalformedCase{"BadImageSize",
                      "tessera-gpu-artifact 1\ntarget nvptx sm_90\n"
                      "image ptx -3\n",
                      "a.gpu:3: invalid image size '-3'"},
        MalformedCase{"DuplicateTarget", kHead + "target nvptx sm_80\n",
                      "a.gpu:4: duplicate 'target' line"},
        MalformedCase{"UnknownLine", kHead + "kernel foo\n",
                      "a.gpu:4: unknown line 'kernel'"},
        MalformedCase{"BufferOutside", kHead + "buffer 0 temp 4\n",
                      "a.gpu:4: 'buffer' outside a function"},
        MalformedCase{"NestedFunction", kHead + "function f\nfunction g\n",
                      "a.gpu:5: 'function' inside function 'f' (missing "
                      "'end')"},
        MalformedCase{"DuplicateFunction",
                      kHead + "function f\nend\nfunction f\n",
                      "a.gpu:6: duplicate function 'f'"},
        MalformedCase{"UnknownDType",
                      kHead + "function f\nbuffer 0 input 0 f8 4\n",
                      "a.gpu:5: unknown dtype 'f8' (expected f32, f16, bf16, "
                      "f64, i1, i8, i16, i32 or i64)"},
        MalformedCase{"BadShape",
                      kHead + "function f\nbuffer 0 input 0 f32 4x\n",
                      "a.gpu:5: invalid shape '4x' (expected dimensions "
                      "joined by 'x', or '-')"},
        MalformedCase{"HugeShape",
                      kHead + "function f\nbuffer 0 input 0 f32 "
                              "4294967296x4294967296\n",
                      "a.gpu:5: shape '4294967296x4294967296' is too large"},
        MalformedCase{"BadBufferKind",
                      kHead + "function f\nbuffer 0 scratch 4\n",
                      "a.gpu:5: unknown buffer kind 'scratch' (expected "
                      "input, output or temp)"},
        MalformedCase{"TempArity", kHead + "function f\nbuffer 0 temp\n",
                      "a.gpu:5: expected 'buffer <id> temp <bytes>'"},
        MalformedCase{"DuplicateBuffer",
                      kHead + "function f\nbuffer 0 temp 4\nbuffer 0 temp 8\n",
                      "a.gpu:6: duplicate buffer 0 (first on line 5)"},
        MalformedCase{"BufferIdGap",
                      kHead + "function f\nbuffer 0 temp 4\nbuffer 2 temp "
                              "8\nend\n",
                      "a.gpu:6: function 'f': buffer id 2 is out of range "
                      "(the function has 2 buffers, numbered from 0)"},
        MalformedCase{"DuplicateInputPosition",
                      kHead + "function f\nbuffer 0 input 0 f32 4\n"
                              "buffer 1 input 0 f32 4\nend\n",
                      "a.gpu:6: function 'f': duplicate input position 0 "
                      "(also buffer 0 on line 5)"},
        MalformedCase{"OutputPositionGap",
                      kHead + "function f\nbuffer 0 output 1 f32 4\nend\n",
                      "a.gpu:5: function 'f': output position 1 is out of "
                      "range (the function has 1 output, numbered from 0)"},
        MalformedCase{"LaunchArity", kHead + "function f\nlaunch k 1 1 1\n",
                      "a.gpu:5: expected 'launch <kernel> <grid x y z> "
                      "<block x y z> <shared bytes> <args...>'"},
        MalformedCase{"ZeroGrid",
                      kHead + "function f\nlaunch k 0 1 1 1 1 1 0\n",
                      "a.gpu:5: invalid grid dimension '0' (expected a "
                      "positive integer)"},
        MalformedCase{"BadBlock",
                      kHead + "function f\nlaunch k 1 1 1 x 1 1 0\n",
                      "a.gpu:5: invalid block dimension 'x' (expected a "
                      "positive integer)"},
        MalformedCase{"BadArg",
                      kHead + "function f\nlaunch k 1 1 1 1 1 1 0 u8:3\n",
                      "a.gpu:5: invalid launch argument 'u8:3' (expected "
                      "b<id>, i32:<v>, i64:<v> or f32:<v>)"},
        MalformedCase{"I32OutOfRange",
                      kHead + "function f\nlaunch k 1 1 1 1 1 1 0 "
                              "i32:2147483648\n",
                      "a.gpu:5: invalid i32 argument 'i32:2147483648'"},
        MalformedCase{"BadF32",
                      kHead + "function f\nlaunch k 1 1 1 1 1 1 0 f32:1.5x\n",
                      "a.gpu:5: invalid f32 argument 'f32:1.5x'"},
        MalformedCase{"UndeclaredBuffer",
                      kHead + "function f\nbuffer 0 temp 4\n"
                              "launch k 1 1 1 1 1 1 0 b0 b1\nend\n",
                      "a.gpu:6: function 'f': launch of 'k' uses undeclared "
                      "buffer b1"},
        MalformedCase{"UnclosedFunction", kHead + "function f\ndata\n",
                      "a.gpu:5: function 'f' is not closed by 'end' before "
                      "'data'"},
        MalformedCase{"NoFunction", kHead + "data\n",
                      "a.gpu:4: the artifact has no function"},
        MalformedCase{"NoImageLine",
                      "tessera-gpu-artifact 1\ntarget nvptx sm_90\ndata\n",
                      "a.gpu:3: missing 'image' line before 'data'"},
        MalformedCase{"NoData", kHead + "function f\nend\n",
                      "a.gpu:6: missing 'data' line before the end of the "
                      "file"},
        MalformedCase{"ShortImage",
                      "tessera-gpu-artifact 1\ntarget nvptx sm_90\n"
                      "image ptx 10\nfunction f\nend\ndata\nabc",
                      "a.gpu:6: the image is 3 bytes but the 'image' line "
                      "declares 10"},
        MalformedCase{"LongImage", kHead + "function f\nend\ndata\nxyz\n",
                      "a.gpu:6: the image is 4 bytes but the 'image' line "
                      "declares 0"}),
    [](const testing::TestParamInfo<MalformedCase> &info) {
      return std::string(info.param.name);
    });

TEST(GPUArtifactTest, ImageMayContainAnything) {
  std::string image("end\nfunction x\n\0\xfe", 17);
  Expected<Artifact> artifact =
      parseArtifact(makeArtifact("function f\nend\n", image));
  ASSERT_TRUE(static_cast<bool>(artifact)) << artifact.getError();
  EXPECT_EQ(artifact->image, image);
}

TEST(GPUArtifactTest, ReadsFiles) {
  Expected<Artifact> missing = readArtifactFile("/nonexistent/a.gpu");
  ASSERT_FALSE(static_cast<bool>(missing));
  EXPECT_EQ(missing.getError().rfind("/nonexistent/a.gpu: cannot open: ", 0),
            0u);
}

TEST(GPUArtifactTest, DTypeNames) {
  for (const char *name :
       {"f32", "f16", "bf16", "f64", "i1", "i8", "i16", "i32", "i64"}) {
    DType dtype;
    ASSERT_TRUE(parseDType(name, dtype)) << name;
    EXPECT_STREQ(getDTypeName(dtype), name);
  }
  DType dtype;
  EXPECT_FALSE(parseDType("u8", dtype));
  EXPECT_EQ(getDTypeSize(DType::BF16), 2u);
  EXPECT_EQ(getDTypeSize(DType::I1), 1u);
  EXPECT_EQ(formatShape({}), "-");
  EXPECT_EQ(formatShape({2, 0, 3}), "2x0x3");
}

} // namespace
