//===- Compiler.cpp - C API of the compiler -------------------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Thin wrappers over tessera::Compiler and CompiledEntry: every handle owns
// one C++ object; strings point into objects the handles own.
//
//===----------------------------------------------------------------------===//

#include "tessera-c/Compiler.h"
#include "tessera/Compiler/Compiler.h"

#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Support.h"
#include "mlir/CAPI/Wrap.h"
#include "mlir/IR/BuiltinTypeInterfaces.h"
#include "llvm/ADT/StringSwitch.h"

#include <optional>

using namespace mlir;
using namespace mlir::tessera;

namespace {
/// A loaded function and the reason of its last failed call.
struct FunctionHandle {
  std::unique_ptr<CompiledEntry> entry;
  std::string error;
};
} // namespace

DEFINE_C_API_PTR_METHODS(TesseraCompilerOptions, CompilerOptions)
DEFINE_C_API_PTR_METHODS(TesseraCompiler, Compiler)
DEFINE_C_API_PTR_METHODS(TesseraArtifact, CompilerArtifact)
DEFINE_C_API_PTR_METHODS(TesseraFunction, FunctionHandle)
DEFINE_C_API_PTR_METHODS(TesseraTensor, HostTensor)

static TesseraElementType wrap(HostElementType type) {
  switch (type) {
  case HostElementType::F32:
    return TesseraElementTypeF32;
  case HostElementType::F16:
    return TesseraElementTypeF16;
  case HostElementType::BF16:
    return TesseraElementTypeBF16;
  case HostElementType::I32:
    return TesseraElementTypeI32;
  case HostElementType::I64:
    return TesseraElementTypeI64;
  }
  llvm_unreachable("unknown HostElementType");
}

static std::optional<HostElementType> unwrap(TesseraElementType type) {
  switch (type) {
  case TesseraElementTypeF32:
    return HostElementType::F32;
  case TesseraElementTypeF16:
    return HostElementType::F16;
  case TesseraElementTypeBF16:
    return HostElementType::BF16;
  case TesseraElementTypeI32:
    return HostElementType::I32;
  case TesseraElementTypeI64:
    return HostElementType::I64;
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

TesseraCompilerOptions tesseraCompilerOptionsCreate(void) {
  return wrap(new CompilerOptions());
}

void tesseraCompilerOptionsDestroy(TesseraCompilerOptions options) {
  delete unwrap(options);
}

MlirLogicalResult
tesseraCompilerOptionsSetTarget(TesseraCompilerOptions options,
                                MlirStringRef target) {
  llvm::Expected<CompileTarget> parsed = parseCompileTarget(unwrap(target));
  if (!parsed) {
    llvm::consumeError(parsed.takeError());
    return mlirLogicalResultFailure();
  }
  unwrap(options)->target = *parsed;
  return mlirLogicalResultSuccess();
}

MlirLogicalResult tesseraCompilerOptionsSetEmit(TesseraCompilerOptions options,
                                                MlirStringRef emit) {
  llvm::Expected<EmitKind> parsed = parseEmitKind(unwrap(emit));
  if (!parsed) {
    llvm::consumeError(parsed.takeError());
    return mlirLogicalResultFailure();
  }
  unwrap(options)->emit = *parsed;
  return mlirLogicalResultSuccess();
}

void tesseraCompilerOptionsSetCPU(TesseraCompilerOptions options,
                                  MlirStringRef cpu) {
  unwrap(options)->cpu = unwrap(cpu).str();
}

void tesseraCompilerOptionsSetChip(TesseraCompilerOptions options,
                                   MlirStringRef chip) {
  unwrap(options)->chip = unwrap(chip).str();
}

void tesseraCompilerOptionsSetToolkitPath(TesseraCompilerOptions options,
                                          MlirStringRef path) {
  unwrap(options)->toolkitPath = unwrap(path).str();
}

void tesseraCompilerOptionsSetPassPipeline(TesseraCompilerOptions options,
                                           MlirStringRef pipeline) {
  unwrap(options)->passPipeline = unwrap(pipeline).str();
}

void tesseraCompilerOptionsSetPipelineOptions(TesseraCompilerOptions options,
                                              MlirStringRef pipelineOptions) {
  unwrap(options)->pipelineOptions = unwrap(pipelineOptions).str();
}

void tesseraCompilerOptionsSetThreads(TesseraCompilerOptions options,
                                      unsigned threads) {
  unwrap(options)->threads = threads;
}

MlirLogicalResult
tesseraCompilerOptionsSetTileSize(TesseraCompilerOptions options,
                                  MlirStringRef name, int64_t size) {
  TileSizes &tiles = unwrap(options)->tileSizes;
  int64_t *field = llvm::StringSwitch<int64_t *>(unwrap(name))
                       .Case("attention-q-block", &tiles.attentionQueryBlock)
                       .Case("attention-kv-block", &tiles.attentionKVBlock)
                       .Case("moe-column-block", &tiles.moeColumnBlock)
                       .Case("moe-k-block", &tiles.moeKBlock)
                       .Default(nullptr);
  if (!field || size < 0)
    return mlirLogicalResultFailure();
  *field = size;
  return mlirLogicalResultSuccess();
}

//===----------------------------------------------------------------------===//
// Compiler
//===----------------------------------------------------------------------===//

TesseraCompiler tesseraCompilerCreate(TesseraCompilerOptions options) {
  return wrap(new Compiler(*unwrap(options)));
}

TesseraCompiler tesseraCompilerCreateInContext(MlirContext context,
                                               TesseraCompilerOptions options) {
  return wrap(new Compiler(*unwrap(context), *unwrap(options)));
}

void tesseraCompilerDestroy(TesseraCompiler compiler) {
  delete unwrap(compiler);
}

MlirContext tesseraCompilerGetContext(TesseraCompiler compiler) {
  return wrap(&unwrap(compiler)->getContext());
}

MlirLogicalResult tesseraCompilerVerifyOptions(TesseraCompiler compiler) {
  if (llvm::Error error = unwrap(compiler)->verifyOptions()) {
    // The reason is among the diagnostics.
    llvm::consumeError(std::move(error));
    return mlirLogicalResultFailure();
  }
  return mlirLogicalResultSuccess();
}

MlirModule tesseraCompilerParse(TesseraCompiler compiler, MlirStringRef source,
                                MlirStringRef name) {
  llvm::Expected<OwningOpRef<ModuleOp>> module =
      unwrap(compiler)->parse(unwrap(source), unwrap(name));
  if (!module) {
    llvm::consumeError(module.takeError());
    return MlirModule{nullptr};
  }
  return wrap(module->release());
}

MlirLogicalResult tesseraCompilerRunPipeline(TesseraCompiler compiler,
                                             MlirModule module,
                                             MlirStringRef pipeline) {
  if (llvm::Error error =
          unwrap(compiler)->runPipeline(unwrap(module), unwrap(pipeline))) {
    llvm::consumeError(std::move(error));
    return mlirLogicalResultFailure();
  }
  return mlirLogicalResultSuccess();
}

TesseraArtifact tesseraCompilerCompile(TesseraCompiler compiler,
                                       MlirModule module) {
  llvm::Expected<CompilerArtifact> artifact =
      unwrap(compiler)->compile(unwrap(module));
  if (!artifact) {
    llvm::consumeError(artifact.takeError());
    return TesseraArtifact{nullptr};
  }
  return wrap(new CompilerArtifact(std::move(*artifact)));
}

TesseraFunction tesseraCompilerLoad(TesseraCompiler compiler, MlirModule module,
                                    MlirStringRef entry) {
  llvm::Expected<std::unique_ptr<CompiledEntry>> loaded =
      unwrap(compiler)->load(unwrap(module), unwrap(entry));
  if (!loaded) {
    llvm::consumeError(loaded.takeError());
    return TesseraFunction{nullptr};
  }
  return wrap(new FunctionHandle{std::move(*loaded), ""});
}

void tesseraCompilerSetCaptureStages(TesseraCompiler compiler, bool enable) {
  unwrap(compiler)->setCaptureStages(enable);
}

intptr_t tesseraCompilerGetNumStages(TesseraCompiler compiler) {
  return unwrap(compiler)->getStages().size();
}

MlirStringRef tesseraCompilerGetStagePass(TesseraCompiler compiler,
                                          intptr_t index) {
  return wrap(StringRef(unwrap(compiler)->getStages()[index].pass));
}

MlirStringRef tesseraCompilerGetStageIR(TesseraCompiler compiler,
                                        intptr_t index) {
  return wrap(StringRef(unwrap(compiler)->getStages()[index].ir));
}

intptr_t tesseraCompilerGetNumDiagnostics(TesseraCompiler compiler) {
  return unwrap(compiler)->getDiagnostics().size();
}

MlirDiagnosticSeverity
tesseraCompilerGetDiagnosticSeverity(TesseraCompiler compiler, intptr_t index) {
  switch (unwrap(compiler)->getDiagnostics()[index].severity) {
  case DiagnosticSeverity::Note:
    return MlirDiagnosticNote;
  case DiagnosticSeverity::Warning:
    return MlirDiagnosticWarning;
  case DiagnosticSeverity::Error:
    return MlirDiagnosticError;
  case DiagnosticSeverity::Remark:
    return MlirDiagnosticRemark;
  }
  llvm_unreachable("unknown DiagnosticSeverity");
}

MlirStringRef tesseraCompilerGetDiagnosticLocation(TesseraCompiler compiler,
                                                   intptr_t index) {
  return wrap(StringRef(unwrap(compiler)->getDiagnostics()[index].location));
}

MlirStringRef tesseraCompilerGetDiagnosticMessage(TesseraCompiler compiler,
                                                  intptr_t index) {
  return wrap(StringRef(unwrap(compiler)->getDiagnostics()[index].message));
}

MlirStringRef tesseraCompilerGetDiagnosticRendered(TesseraCompiler compiler,
                                                   intptr_t index) {
  return wrap(StringRef(unwrap(compiler)->getDiagnostics()[index].rendered));
}

void tesseraCompilerClearDiagnostics(TesseraCompiler compiler) {
  unwrap(compiler)->clearDiagnostics();
}

//===----------------------------------------------------------------------===//
// Artifacts
//===----------------------------------------------------------------------===//

MlirStringRef tesseraArtifactGetBytes(TesseraArtifact artifact) {
  return wrap(StringRef(unwrap(artifact)->bytes));
}

void tesseraArtifactDestroy(TesseraArtifact artifact) {
  delete unwrap(artifact);
}

//===----------------------------------------------------------------------===//
// Functions and tensors
//===----------------------------------------------------------------------===//

void tesseraFunctionDestroy(TesseraFunction function) {
  delete unwrap(function);
}

static const EntrySignature &getSignature(TesseraFunction function) {
  return unwrap(function)->entry->getSignature();
}

static int64_t wrapSize(int64_t size) {
  return ShapedType::isDynamic(size) ? TESSERA_DYNAMIC_SIZE : size;
}

intptr_t tesseraFunctionGetNumArguments(TesseraFunction function) {
  return getSignature(function).arguments.size();
}

intptr_t tesseraFunctionGetNumResults(TesseraFunction function) {
  return getSignature(function).results.size();
}

TesseraElementType
tesseraFunctionGetArgumentElementType(TesseraFunction function,
                                      intptr_t index) {
  return wrap(getSignature(function).arguments[index].elementType);
}

intptr_t tesseraFunctionGetArgumentRank(TesseraFunction function,
                                        intptr_t index) {
  return getSignature(function).arguments[index].shape.size();
}

int64_t tesseraFunctionGetArgumentSize(TesseraFunction function, intptr_t index,
                                       intptr_t dim) {
  return wrapSize(getSignature(function).arguments[index].shape[dim]);
}

TesseraElementType tesseraFunctionGetResultElementType(TesseraFunction function,
                                                       intptr_t index) {
  return wrap(getSignature(function).results[index].elementType);
}

intptr_t tesseraFunctionGetResultRank(TesseraFunction function,
                                      intptr_t index) {
  return getSignature(function).results[index].shape.size();
}

int64_t tesseraFunctionGetResultSize(TesseraFunction function, intptr_t index,
                                     intptr_t dim) {
  return wrapSize(getSignature(function).results[index].shape[dim]);
}

MlirLogicalResult tesseraFunctionCall(TesseraFunction function,
                                      const TesseraTensorView *arguments,
                                      intptr_t numArguments,
                                      TesseraTensor *results) {
  FunctionHandle &handle = *unwrap(function);
  handle.error.clear();
  SmallVector<HostTensorRef> refs;
  for (intptr_t i = 0; i < numArguments; ++i) {
    const TesseraTensorView &view = arguments[i];
    std::optional<HostElementType> type = unwrap(view.elementType);
    if (!type || view.rank < 0 || (view.rank > 0 && !view.shape)) {
      handle.error = "argument #" + std::to_string(i) +
                     ": not a valid tensor view (element type, rank, shape)";
      return mlirLogicalResultFailure();
    }
    refs.push_back(
        {*type, ArrayRef<int64_t>(view.shape, view.rank), view.data});
  }
  llvm::Expected<std::vector<HostTensor>> outputs = handle.entry->invoke(refs);
  if (!outputs) {
    handle.error = llvm::toString(outputs.takeError());
    return mlirLogicalResultFailure();
  }
  for (auto [index, output] : llvm::enumerate(*outputs))
    results[index] = wrap(new HostTensor(std::move(output)));
  return mlirLogicalResultSuccess();
}

MlirStringRef tesseraFunctionGetError(TesseraFunction function) {
  return wrap(StringRef(unwrap(function)->error));
}

void tesseraTensorDestroy(TesseraTensor tensor) { delete unwrap(tensor); }

TesseraElementType tesseraTensorGetElementType(TesseraTensor tensor) {
  return wrap(unwrap(tensor)->getElementType());
}

intptr_t tesseraTensorGetRank(TesseraTensor tensor) {
  return unwrap(tensor)->getShape().size();
}

int64_t tesseraTensorGetSize(TesseraTensor tensor, intptr_t dim) {
  return unwrap(tensor)->getShape()[dim];
}

void *tesseraTensorGetData(TesseraTensor tensor) {
  return unwrap(tensor)->getData();
}

size_t tesseraTensorGetNumBytes(TesseraTensor tensor) {
  return unwrap(tensor)->getNumBytes();
}
