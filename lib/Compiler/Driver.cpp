//===- Driver.cpp - The compiler as a library -----------------------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// `Compiler`: a context, options and a record of diagnostics around the
// stages of Compiler.cpp (parse, pipeline, code generation) and the JIT of
// CPURunner.h. Diagnostics are caught by a handler that lives for the length
// of one call; each is rendered as a tool would print it (source line and
// caret from the compiler's own source manager) and kept for the caller.
//
//===----------------------------------------------------------------------===//

#include "tessera/Compiler/Compiler.h"
#include "tessera/Dialect/Tessera/IR/TesseraDialect.h"
#include "tessera/Target/CPU/CPUPipeline.h"
#include "tessera/Target/GPU/GPUPipeline.h"
#include "tessera/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>

using namespace mlir;
using namespace mlir::tessera;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

//===----------------------------------------------------------------------===//
// Diagnostics and stages
//===----------------------------------------------------------------------===//

/// `file:line:col` of the first file location within `location`.
static std::string formatLocation(Location location) {
  auto fileLocation = location->findInstanceOf<FileLineColLoc>();
  if (!fileLocation)
    return "";
  return (fileLocation.getFilename().getValue() + ":" +
          llvm::Twine(fileLocation.getLine()) + ":" +
          llvm::Twine(fileLocation.getColumn()))
      .str();
}

namespace {
/// A source-manager handler whose formatting can be borrowed.
struct DiagnosticRenderer : SourceMgrDiagnosticHandler {
  using SourceMgrDiagnosticHandler::emitDiagnostic;
  using SourceMgrDiagnosticHandler::SourceMgrDiagnosticHandler;
};
} // namespace

/// Records every diagnostic of the context while it lives. The renderer is a
/// source-manager handler that prints into a string; it is registered first,
/// so the recorder (registered last, asked first) consumes each diagnostic
/// and only borrows the renderer's formatting.
class Compiler::DiagnosticRecorder {
public:
  DiagnosticRecorder(MLIRContext &context, llvm::SourceMgr &sourceMgr,
                     std::vector<CompilerDiagnostic> &diagnostics)
      : renderStream(rendered), renderer(sourceMgr, &context, renderStream),
        recorder(&context, [&diagnostics, this](Diagnostic &diagnostic) {
          CompilerDiagnostic recorded;
          recorded.severity = diagnostic.getSeverity();
          recorded.location = formatLocation(diagnostic.getLocation());
          recorded.message = diagnostic.str();
          rendered.clear();
          renderer.emitDiagnostic(diagnostic);
          recorded.rendered = rendered;
          diagnostics.push_back(std::move(recorded));
          return success();
        }) {}

private:
  std::string rendered;
  llvm::raw_string_ostream renderStream;
  DiagnosticRenderer renderer;
  ScopedDiagnosticHandler recorder;
};

namespace {
/// Keeps the module after every pass.
class StageRecorder : public PassManager::IRPrinterConfig {
public:
  explicit StageRecorder(std::vector<CompilerStage> &stages)
      : IRPrinterConfig(/*printModuleScope=*/false,
                        /*printAfterOnlyOnChange=*/false,
                        /*printAfterOnlyOnFailure=*/false),
        stages(stages) {}

  void printAfterIfEnabled(Pass *pass, Operation *op,
                           PrintCallbackFn) override {
    // The pass manager runs on one thread while stages are recorded, so the
    // whole module is stable here.
    Operation *top = op;
    while (Operation *parent = top->getParentOp())
      top = parent;
    CompilerStage stage;
    stage.pass = pass->getArgument().empty() ? pass->getName().str()
                                             : pass->getArgument().str();
    llvm::raw_string_ostream os(stage.ir);
    top->print(os, getOpPrintingFlags());
    stages.push_back(std::move(stage));
  }

private:
  std::vector<CompilerStage> &stages;
};
} // namespace

//===----------------------------------------------------------------------===//
// Compiler
//===----------------------------------------------------------------------===//

/// Every upstream dialect (inputs may use any of them), the tessera dialect
/// and what the pipelines and translations need.
static DialectRegistry getCompilerRegistry() {
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<TesseraDialect>();
  registerCompilerDialects(registry);
  return registry;
}

void mlir::tessera::registerCompilerPasses() {
  static std::once_flag once;
  std::call_once(once, [] {
    registerAllPasses();
    registerTesseraPasses();
    registerTesseraCPUPipeline();
    registerTesseraGPUPipelines();
  });
}

Compiler::Compiler(CompilerOptions options)
    : ownedContext(std::make_unique<MLIRContext>(getCompilerRegistry())),
      context(ownedContext.get()), options(std::move(options)),
      sourceMgr(std::make_unique<llvm::SourceMgr>()) {
  registerCompilerPasses();
}

Compiler::Compiler(MLIRContext &context, CompilerOptions options)
    : context(&context), options(std::move(options)),
      sourceMgr(std::make_unique<llvm::SourceMgr>()) {
  context.appendDialectRegistry(getCompilerRegistry());
  registerCompilerPasses();
}

Compiler::~Compiler() = default;

llvm::Error Compiler::record(llvm::function_ref<llvm::Error()> body) {
  size_t first = diagnostics.size();
  // Recorded stages are whole modules: one thread, so that no nested pass
  // changes a function while the module is printed.
  bool multithreaded = context->isMultithreadingEnabled();
  if (captureStages) {
    stages.clear();
    if (multithreaded)
      context->disableMultithreading();
  }
  llvm::Error error = llvm::Error::success();
  {
    DiagnosticRecorder recorder(*context, *sourceMgr, diagnostics);
    error = body();
  }
  if (captureStages && multithreaded)
    context->enableMultithreading();
  if (!error)
    return llvm::Error::success();

  // The first error diagnostic explains the failure better than the stage
  // that noticed it ("the pass pipeline failed").
  std::string message = llvm::toString(std::move(error));
  for (size_t i = first, e = diagnostics.size(); i < e; ++i) {
    const CompilerDiagnostic &diagnostic = diagnostics[i];
    if (diagnostic.severity != DiagnosticSeverity::Error)
      continue;
    StringRef text = StringRef(diagnostic.message).split('\n').first;
    if (diagnostic.location.empty())
      return makeError(text);
    return makeError(diagnostic.location + ": " + text);
  }
  CompilerDiagnostic failure;
  failure.severity = DiagnosticSeverity::Error;
  failure.message = message;
  failure.rendered = "error: " + message + "\n";
  failure.outsideIR = true;
  diagnostics.push_back(std::move(failure));
  return makeError(message);
}

CompilerOptions Compiler::getEffectiveOptions() {
  CompilerOptions effective = options;
  if (!captureStages)
    return effective;
  effective.configurePassManager =
      [this, configure = options.configurePassManager](PassManager &pm) {
        if (configure && failed(configure(pm)))
          return failure();
        pm.enableIRPrinting(std::make_unique<StageRecorder>(stages));
        return success();
      };
  return effective;
}

llvm::Error Compiler::verifyOptions() {
  return record([&] { return verifyCompilerOptions(options); });
}

llvm::Expected<OwningOpRef<ModuleOp>> Compiler::parse(StringRef source,
                                                      StringRef bufferName) {
  OwningOpRef<ModuleOp> module;
  if (llvm::Error error = record([&]() -> llvm::Error {
        // The compiler's source manager keeps a copy to render the source
        // lines of later diagnostics, which find it by name.
        sourceMgr->AddNewSourceBuffer(
            llvm::MemoryBuffer::getMemBufferCopy(source, bufferName),
            llvm::SMLoc());
        module = parseSourceString<ModuleOp>(source, ParserConfig(context),
                                             bufferName);
        if (!module)
          return makeError("cannot parse '" + bufferName + "'");
        return llvm::Error::success();
      }))
    return std::move(error);
  return std::move(module);
}

llvm::Expected<OwningOpRef<ModuleOp>> Compiler::parseFile(StringRef fileName) {
  std::string message;
  std::unique_ptr<llvm::MemoryBuffer> file = openInputFile(fileName, &message);
  if (!file)
    return record([&] { return makeError(StringRef(message)); });
  return parse(file->getBuffer(), fileName);
}

llvm::Error Compiler::runPipeline(ModuleOp module, StringRef pipeline) {
  CompilerOptions effective = getEffectiveOptions();
  return record([&]() -> llvm::Error {
    std::string message;
    llvm::raw_string_ostream errorStream(message);
    FailureOr<OpPassManager> parsed = parsePassPipeline(pipeline, errorStream);
    if (failed(parsed))
      return makeError("invalid pass pipeline: " +
                       getPipelineParserMessage(message));
    if (parsed->getOpAnchorName() != OpPassManager::getAnyOpAnchorName() &&
        parsed->getOpAnchorName() != module->getName().getStringRef())
      return makeError("the pass pipeline is anchored on '" +
                       parsed->getOpAnchorName() + "', not on '" +
                       module->getName().getStringRef() + "'");
    PassManager pm(context, module->getName().getStringRef());
    if (effective.configurePassManager &&
        failed(effective.configurePassManager(pm)))
      return makeError("invalid pass manager options");
    static_cast<OpPassManager &>(pm) = std::move(*parsed);
    if (failed(pm.run(module)))
      return makeError("the pass pipeline failed");
    return llvm::Error::success();
  });
}

llvm::Expected<CompilerArtifact> Compiler::compile(ModuleOp module,
                                                   TimingScope &timing) {
  CompilerOptions effective = getEffectiveOptions();
  CompilerArtifact artifact;
  artifact.target = options.target;
  artifact.kind = options.emit;
  if (llvm::Error error = record([&] {
        llvm::raw_string_ostream os(artifact.bytes);
        return compileModule(module, effective, os, timing);
      }))
    return std::move(error);
  return std::move(artifact);
}

llvm::Expected<CompilerArtifact> Compiler::compile(ModuleOp module) {
  TimingScope timing;
  return compile(module, timing);
}

llvm::Expected<std::unique_ptr<CompiledEntry>> Compiler::load(ModuleOp module,
                                                              StringRef entry) {
  CompilerOptions effective = getEffectiveOptions();
  std::unique_ptr<CompiledEntry> compiled;
  if (llvm::Error error = record([&]() -> llvm::Error {
        if (options.target != CompileTarget::CPU)
          return makeError("only the cpu target loads functions to call; "
                           "compile GPU modules to an artifact and run it "
                           "with the GPU runtime");
        if (!options.passPipeline.empty())
          return makeError("a loaded function is lowered with the default "
                           "CPU pipeline, not a given pass pipeline");
        if (llvm::Error error = verifyCompilerOptions(options))
          return error;
        auto func = module.lookupSymbol<func::FuncOp>(entry);
        if (!func)
          return makeError("no function '" + entry + "' in the module");
        llvm::Expected<EntrySignature> signature = getEntrySignature(func);
        if (!signature)
          return signature.takeError();
        llvm::Expected<std::unique_ptr<TesseraCPUPipelineOptions>>
            pipelineOptions = getCPUPipelineOptions(options);
        if (!pipelineOptions)
          return pipelineOptions.takeError();
        llvm::Expected<std::unique_ptr<CompiledEntry>> loaded =
            CompiledEntry::compile(
                module, *signature,
                [&](OpPassManager &pm) {
                  buildTesseraCPUPipeline(pm, **pipelineOptions);
                },
                effective.configurePassManager);
        if (!loaded)
          return loaded.takeError();
        compiled = std::move(*loaded);
        return llvm::Error::success();
      }))
    return std::move(error);
  return std::move(compiled);
}
