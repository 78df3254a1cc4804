//===- compiler.c - The C API used from C ---------------------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

// RUN: tessera-capi-test 2>&1 | FileCheck %s

// A C program that uses the compiler as a framework would: registration in
// its own context, options, parse errors as diagnostics, an object file in
// memory, the IR after each pass, and a JIT-compiled attention checked
// against a naive one computed here.

#include "tessera-c/Compiler.h"
#include "tessera-c/Registration.h"

#include "mlir-c/IR.h"
#include "mlir-c/Pass.h"
#include "mlir-c/Support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static MlirStringRef str(const char *s) {
  return mlirStringRefCreateFromCString(s);
}

static void printRef(MlirStringRef s) { fwrite(s.data, 1, s.length, stdout); }

/// Uniform in [-1, 1].
static float uniform(void) {
  return (float)((double)rand() / RAND_MAX * 2 - 1);
}

static void printCallback(MlirStringRef s, void *user) {
  (void)user;
  printRef(s);
}

static const char *kAttention =
    "func.func @attn(%q: tensor<1x4x5x8xf32>, %k: tensor<1x2x9x8xf32>,\n"
    "                %v: tensor<1x2x9x8xf32>) -> tensor<1x4x5x8xf32> {\n"
    "  %o = tessera.attention %q, %k, %v {causal = true}\n"
    "      : (tensor<1x4x5x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>)\n"
    "      -> tensor<1x4x5x8xf32>\n"
    "  return %o : tensor<1x4x5x8xf32>\n"
    "}\n";

static void printDiagnostics(TesseraCompiler compiler) {
  intptr_t count = tesseraCompilerGetNumDiagnostics(compiler);
  printf("diagnostics: %ld\n", (long)count);
  for (intptr_t i = 0; i < count; ++i) {
    printf("severity %d at '",
           (int)tesseraCompilerGetDiagnosticSeverity(compiler, i));
    printRef(tesseraCompilerGetDiagnosticLocation(compiler, i));
    printf("': ");
    printRef(tesseraCompilerGetDiagnosticMessage(compiler, i));
    printf("\n");
  }
  tesseraCompilerClearDiagnostics(compiler);
}

// CHECK-LABEL: testRegistration
// CHECK: tessera.attention
// CHECK: pipeline: ok
static void testRegistration(void) {
  printf("testRegistration\n");
  MlirContext context = mlirContextCreate();
  mlirDialectHandleRegisterDialect(mlirGetDialectHandle__tessera__(), context);
  MlirDialectRegistry registry = mlirDialectRegistryCreate();
  tesseraRegisterCompilerDialects(registry);
  mlirContextAppendDialectRegistry(context, registry);
  mlirDialectRegistryDestroy(registry);
  mlirContextSetAllowUnregisteredDialects(context, false);
  // func and arith come from the compiler's dialects.
  mlirContextLoadAllAvailableDialects(context);
  MlirModule module = mlirModuleCreateParse(context, str(kAttention));
  if (mlirModuleIsNull(module)) {
    printf("parse failed\n");
    exit(1);
  }
  mlirOperationPrint(mlirModuleGetOperation(module), printCallback, NULL);

  tesseraRegisterPasses();
  MlirPassManager pm = mlirPassManagerCreate(context);
  MlirLogicalResult parsed = mlirParsePassPipeline(
      mlirPassManagerGetAsOpPassManager(pm),
      str("builtin.module(tessera-tile-attention)"), NULL, NULL);
  printf("pipeline: %s\n", mlirLogicalResultIsSuccess(parsed) ? "ok" : "bad");
  mlirPassManagerDestroy(pm);
  mlirModuleDestroy(module);
  mlirContextDestroy(context);
}

// CHECK-LABEL: testOptions
// CHECK-NEXT: target tpu: failure
// CHECK-NEXT: emit exe: failure
// CHECK-NEXT: tile size nope: failure
// CHECK-NEXT: tile size -1: failure
// CHECK-NEXT: threads on nvptx: failure
// CHECK-NEXT: diagnostics: 1
// CHECK-NEXT: severity 0 at '': the thread count is an option of the cpu target
static void testOptions(void) {
  printf("testOptions\n");
  TesseraCompilerOptions options = tesseraCompilerOptionsCreate();
  printf("target tpu: %s\n",
         mlirLogicalResultIsFailure(
             tesseraCompilerOptionsSetTarget(options, str("tpu")))
             ? "failure"
             : "success");
  printf("emit exe: %s\n",
         mlirLogicalResultIsFailure(
             tesseraCompilerOptionsSetEmit(options, str("exe")))
             ? "failure"
             : "success");
  printf("tile size nope: %s\n",
         mlirLogicalResultIsFailure(
             tesseraCompilerOptionsSetTileSize(options, str("nope"), 8))
             ? "failure"
             : "success");
  printf("tile size -1: %s\n",
         mlirLogicalResultIsFailure(
             tesseraCompilerOptionsSetTileSize(options, str("moe-k-block"), -1))
             ? "failure"
             : "success");
  tesseraCompilerOptionsSetTarget(options, str("nvptx"));
  tesseraCompilerOptionsSetEmit(options, str("ptx"));
  tesseraCompilerOptionsSetThreads(options, 4);
  TesseraCompiler compiler = tesseraCompilerCreate(options);
  tesseraCompilerOptionsDestroy(options);
  printf("threads on nvptx: %s\n",
         mlirLogicalResultIsFailure(tesseraCompilerVerifyOptions(compiler))
             ? "failure"
             : "success");
  printDiagnostics(compiler);
  tesseraCompilerDestroy(compiler);
}

// CHECK-LABEL: testParseError
// CHECK-NEXT: module is null: 1
// CHECK-NEXT: diagnostics: 1
// CHECK-NEXT: severity 0 at 'bad.mlir:2:3': custom op 'tessera.nope' is unknown
static void testParseError(void) {
  printf("testParseError\n");
  TesseraCompilerOptions options = tesseraCompilerOptionsCreate();
  TesseraCompiler compiler = tesseraCompilerCreate(options);
  tesseraCompilerOptionsDestroy(options);
  MlirModule module = tesseraCompilerParse(
      compiler, str("func.func @f() {\n  tessera.nope\n  return\n}\n"),
      str("bad.mlir"));
  printf("module is null: %d\n", mlirModuleIsNull(module));
  printDiagnostics(compiler);
  tesseraCompilerDestroy(compiler);
}

/// Softmax(q·kᵀ/sqrt(8)) v for 4 query heads on 2 KV heads, causal with the
/// band aligned bottom-right (Sq = 5, Skv = 9).
static void naiveAttention(const float *q, const float *k, const float *v,
                           float *o) {
  for (int h = 0; h < 4; ++h) {
    int g = h / 2;
    for (int i = 0; i < 5; ++i) {
      double scores[9], maximum = -INFINITY, sum = 0;
      int visible = i + 4 + 1;
      for (int j = 0; j < visible; ++j) {
        double s = 0;
        for (int c = 0; c < 8; ++c)
          s += (double)q[(h * 5 + i) * 8 + c] * k[(g * 9 + j) * 8 + c];
        scores[j] = s / sqrt(8.0);
        if (scores[j] > maximum)
          maximum = scores[j];
      }
      for (int j = 0; j < visible; ++j)
        sum += (scores[j] = exp(scores[j] - maximum));
      for (int c = 0; c < 8; ++c) {
        double acc = 0;
        for (int j = 0; j < visible; ++j)
          acc += scores[j] * v[(g * 9 + j) * 8 + c];
        o[(h * 5 + i) * 8 + c] = (float)(acc / sum);
      }
    }
  }
}

// CHECK-LABEL: testCompileAndCall
// CHECK-NEXT: object: ELF
// CHECK-NEXT: signature: 3 arguments, 1 results, result rank 4, sizes 1 4 5 8
// CHECK-NEXT: call: success, rank 4, 640 bytes, within 1e-5: yes
// clang-format off
// CHECK-NEXT: short k: failure: argument #1 (tensor<1x2x9x8xf32>): got size 8 where the type has 9
// CHECK-NEXT: stages recorded: yes, tessera-tile-attention among them: yes
// CHECK-NEXT: bad pipeline: failure
// CHECK-NEXT: diagnostics: 1
// CHECK-NEXT: severity 0 at '': invalid pass pipeline: 'nope' does not refer to a registered pass or pass pipeline
// clang-format on
static void testCompileAndCall(void) {
  printf("testCompileAndCall\n");
  TesseraCompilerOptions options = tesseraCompilerOptionsCreate();
  tesseraCompilerOptionsSetThreads(options, 1);
  tesseraCompilerOptionsSetTileSize(options, str("attention-q-block"), 2);
  tesseraCompilerOptionsSetTileSize(options, str("attention-kv-block"), 4);
  TesseraCompiler compiler = tesseraCompilerCreate(options);
  tesseraCompilerOptionsDestroy(options);

  MlirModule module =
      tesseraCompilerParse(compiler, str(kAttention), str("attn.mlir"));
  if (mlirModuleIsNull(module)) {
    printDiagnostics(compiler);
    exit(1);
  }

  // Load first: it lowers a copy. Compiling lowers the module in place.
  TesseraFunction function = tesseraCompilerLoad(compiler, module, str("attn"));
  if (tesseraFunctionIsNull(function)) {
    printDiagnostics(compiler);
    exit(1);
  }

  MlirModule copy = mlirModuleFromOperation(
      mlirOperationClone(mlirModuleGetOperation(module)));
  TesseraArtifact object = tesseraCompilerCompile(compiler, copy);
  if (tesseraArtifactIsNull(object)) {
    printDiagnostics(compiler);
    exit(1);
  }
  MlirStringRef bytes = tesseraArtifactGetBytes(object);
  printf("object: %s\n",
         bytes.length > 4 && memcmp(bytes.data, "\177ELF", 4) == 0 ? "ELF"
                                                                   : "not ELF");
  tesseraArtifactDestroy(object);
  mlirModuleDestroy(copy);

  printf("signature: %ld arguments, %ld results, result rank %ld, sizes",
         (long)tesseraFunctionGetNumArguments(function),
         (long)tesseraFunctionGetNumResults(function),
         (long)tesseraFunctionGetResultRank(function, 0));
  for (intptr_t d = 0; d < tesseraFunctionGetResultRank(function, 0); ++d)
    printf(" %ld", (long)tesseraFunctionGetResultSize(function, 0, d));
  printf("\n");

  static float q[4 * 5 * 8], k[2 * 9 * 8], v[2 * 9 * 8], expected[4 * 5 * 8];
  srand(7);
  for (int i = 0; i < 4 * 5 * 8; ++i)
    q[i] = uniform();
  for (int i = 0; i < 2 * 9 * 8; ++i) {
    k[i] = uniform();
    v[i] = uniform();
  }
  naiveAttention(q, k, v, expected);

  int64_t qShape[] = {1, 4, 5, 8}, kvShape[] = {1, 2, 9, 8};
  TesseraTensorView arguments[] = {
      {TesseraElementTypeF32, 4, qShape, q},
      {TesseraElementTypeF32, 4, kvShape, k},
      {TesseraElementTypeF32, 4, kvShape, v},
  };
  TesseraTensor result;
  MlirLogicalResult called =
      tesseraFunctionCall(function, arguments, 3, &result);
  if (mlirLogicalResultIsFailure(called)) {
    printRef(tesseraFunctionGetError(function));
    exit(1);
  }
  const float *o = (const float *)tesseraTensorGetData(result);
  double error = 0;
  for (int i = 0; i < 4 * 5 * 8; ++i)
    error = fmax(error, fabs(o[i] - expected[i]));
  printf("call: success, rank %ld, %zu bytes, within 1e-5: %s\n",
         (long)tesseraTensorGetRank(result), tesseraTensorGetNumBytes(result),
         error < 1e-5 ? "yes" : "no");
  tesseraTensorDestroy(result);

  int64_t shortShape[] = {1, 2, 8, 8};
  arguments[1].shape = shortShape;
  called = tesseraFunctionCall(function, arguments, 3, &result);
  printf("short k: %s: ",
         mlirLogicalResultIsFailure(called) ? "failure" : "success");
  printRef(tesseraFunctionGetError(function));
  printf("\n");
  tesseraFunctionDestroy(function);

  tesseraCompilerSetCaptureStages(compiler, true);
  MlirLogicalResult ran = tesseraCompilerRunPipeline(
      compiler, module, str("builtin.module(tessera-tile-attention, cse)"));
  int found = 0;
  for (intptr_t i = 0; i < tesseraCompilerGetNumStages(compiler); ++i) {
    MlirStringRef pass = tesseraCompilerGetStagePass(compiler, i);
    found |= pass.length == strlen("tessera-tile-attention") &&
             memcmp(pass.data, "tessera-tile-attention", pass.length) == 0;
  }
  printf("stages recorded: %s, tessera-tile-attention among them: %s\n",
         mlirLogicalResultIsSuccess(ran) &&
                 tesseraCompilerGetNumStages(compiler) == 2
             ? "yes"
             : "no",
         found ? "yes" : "no");

  printf("bad pipeline: %s\n",
         mlirLogicalResultIsFailure(tesseraCompilerRunPipeline(
             compiler, module, str("builtin.module(nope)")))
             ? "failure"
             : "success");
  printDiagnostics(compiler);

  mlirModuleDestroy(module);
  tesseraCompilerDestroy(compiler);
}

int main(void) {
  testRegistration();
  testOptions();
  testParseError();
  testCompileAndCall();
  return 0;
}
