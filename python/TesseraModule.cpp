//===- TesseraModule.cpp - Python bindings over the C API -----------------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// The `tessera._tessera` extension: the compiler of tessera-c/Compiler.h for
// Python, with numpy arrays in and out. Built on the C API only (no MLIR or
// LLVM C++ headers), so that it compiles with exceptions, as pybind11 needs,
// while the libraries do not.
//
//===----------------------------------------------------------------------===//

#include "tessera-c/Compiler.h"

#include "mlir-c/IR.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

MlirStringRef toRef(const std::string &s) {
  return mlirStringRefCreate(s.data(), s.size());
}

std::string toString(MlirStringRef s) { return std::string(s.data, s.length); }

/// Raised for every failure; `diagnostics` holds what the compiler reported.
PyObject *compilerError = nullptr;

/// Owns a TesseraCompiler (and thereby its context).
struct PyCompiler {
  TesseraCompiler compiler{nullptr};
  bool captureStages = false;
  ~PyCompiler() {
    if (compiler.ptr)
      tesseraCompilerDestroy(compiler);
  }
};

/// A module of a compiler's context; keeps the compiler alive.
struct PyModule {
  std::shared_ptr<PyCompiler> owner;
  MlirModule module{nullptr};
  ~PyModule() {
    if (!mlirModuleIsNull(module))
      mlirModuleDestroy(module);
  }
};

struct PyFunction {
  TesseraFunction function{nullptr};
  ~PyFunction() {
    if (function.ptr)
      tesseraFunctionDestroy(function);
  }
};

py::list getDiagnostics(TesseraCompiler compiler) {
  static const char *severities[] = {"error", "warning", "note", "remark"};
  py::list diagnostics;
  for (intptr_t i = 0, e = tesseraCompilerGetNumDiagnostics(compiler); i < e;
       ++i) {
    py::dict diagnostic;
    diagnostic["severity"] =
        severities[tesseraCompilerGetDiagnosticSeverity(compiler, i)];
    diagnostic["location"] =
        toString(tesseraCompilerGetDiagnosticLocation(compiler, i));
    diagnostic["message"] =
        toString(tesseraCompilerGetDiagnosticMessage(compiler, i));
    diagnostic["rendered"] =
        toString(tesseraCompilerGetDiagnosticRendered(compiler, i));
    diagnostics.append(diagnostic);
  }
  return diagnostics;
}

/// Raises CompilerError with the first error of the compiler's diagnostics
/// since `first` (or `fallback`), and clears them.
[[noreturn]] void raiseCompilerError(TesseraCompiler compiler,
                                     const std::string &fallback) {
  py::list diagnostics = getDiagnostics(compiler);
  tesseraCompilerClearDiagnostics(compiler);
  std::string message = fallback;
  for (py::handle item : diagnostics) {
    py::dict diagnostic = py::reinterpret_borrow<py::dict>(item);
    if (diagnostic["severity"].cast<std::string>() != "error")
      continue;
    std::string location = diagnostic["location"].cast<std::string>();
    message = (location.empty() ? "" : location + ": ") +
              diagnostic["message"].cast<std::string>();
    break;
  }
  py::object error = py::reinterpret_borrow<py::object>(compilerError)(message);
  error.attr("diagnostics") = diagnostics;
  PyErr_SetObject(compilerError, error.ptr());
  throw py::error_already_set();
}

/// Creates the compiler from keyword options.
std::shared_ptr<PyCompiler>
createCompiler(const std::string &target, const std::string &emit,
               const std::string &cpu, const std::string &chip,
               const std::string &toolkitPath, const std::string &passPipeline,
               const std::string &pipelineOptions, unsigned threads,
               const std::map<std::string, int64_t> &tileSizes) {
  TesseraCompilerOptions options = tesseraCompilerOptionsCreate();
  struct Destroy {
    TesseraCompilerOptions options;
    ~Destroy() { tesseraCompilerOptionsDestroy(options); }
  } destroy{options};
  if (mlirLogicalResultIsFailure(
          tesseraCompilerOptionsSetTarget(options, toRef(target))))
    throw py::value_error("unknown target '" + target +
                          "' (expected cpu, nvptx or amdgpu)");
  if (mlirLogicalResultIsFailure(
          tesseraCompilerOptionsSetEmit(options, toRef(emit))))
    throw py::value_error("unknown emit kind '" + emit +
                          "' (expected mlir, llvm, asm, obj, ptx, cubin, "
                          "hsaco or artifact)");
  tesseraCompilerOptionsSetCPU(options, toRef(cpu));
  tesseraCompilerOptionsSetChip(options, toRef(chip));
  tesseraCompilerOptionsSetToolkitPath(options, toRef(toolkitPath));
  tesseraCompilerOptionsSetPassPipeline(options, toRef(passPipeline));
  tesseraCompilerOptionsSetPipelineOptions(options, toRef(pipelineOptions));
  tesseraCompilerOptionsSetThreads(options, threads);
  for (const auto &[name, size] : tileSizes)
    if (mlirLogicalResultIsFailure(
            tesseraCompilerOptionsSetTileSize(options, toRef(name), size)))
      throw py::value_error(
          "unknown tile size '" + name +
          "' or a negative size (expected attention-q-block, "
          "attention-kv-block, moe-column-block or moe-k-block)");

  auto compiler = std::make_shared<PyCompiler>();
  compiler->compiler = tesseraCompilerCreate(options);
  if (mlirLogicalResultIsFailure(
          tesseraCompilerVerifyOptions(compiler->compiler)))
    raiseCompilerError(compiler->compiler, "invalid options");
  return compiler;
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

const char *getTypeName(TesseraElementType type) {
  switch (type) {
  case TesseraElementTypeF32:
    return "f32";
  case TesseraElementTypeF16:
    return "f16";
  case TesseraElementTypeBF16:
    return "bf16";
  case TesseraElementTypeI32:
    return "i32";
  case TesseraElementTypeI64:
    return "i64";
  }
  return "?";
}

/// The numpy dtype that holds `type` (bf16: its bits as uint16).
py::dtype getStorageDtype(TesseraElementType type) {
  switch (type) {
  case TesseraElementTypeF32:
    return py::dtype::of<float>();
  case TesseraElementTypeF16:
    return py::dtype("float16");
  case TesseraElementTypeBF16:
    return py::dtype::of<uint16_t>();
  case TesseraElementTypeI32:
    return py::dtype::of<int32_t>();
  case TesseraElementTypeI64:
    return py::dtype::of<int64_t>();
  }
  throw py::value_error("unknown element type");
}

/// Rounds f32 to bf16 bits, to nearest even (NaN stays NaN).
uint16_t toBF16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return uint16_t((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return uint16_t(bits >> 16);
}

/// Converts argument `index` to the dense array of its element type: f32
/// data is rounded for f16 (by numpy) and bf16 arguments; otherwise the
/// dtype must match. The result is C-contiguous and aligned.
py::array prepareArgument(py::handle object, TesseraElementType type,
                          size_t index) {
  auto fail = [&](const std::string &what) {
    return py::type_error("argument #" + std::to_string(index) + " (" +
                          getTypeName(type) + "): " + what);
  };
  py::array array = py::array::ensure(object);
  if (!array)
    throw fail("not an array");
  py::dtype dtype = array.dtype();
  py::dtype f32 = py::dtype::of<float>();
  if (type == TesseraElementTypeBF16 && dtype.equal(f32)) {
    py::array_t<float, py::array::c_style | py::array::forcecast> source(array);
    py::array_t<uint16_t> converted(std::vector<py::ssize_t>(
        source.shape(), source.shape() + source.ndim()));
    const float *in = source.data();
    uint16_t *out = converted.mutable_data();
    for (py::ssize_t i = 0, e = source.size(); i < e; ++i)
      out[i] = toBF16(in[i]);
    return std::move(converted);
  }
  py::dtype storage = getStorageDtype(type);
  if (type == TesseraElementTypeF16 && dtype.equal(f32))
    array = array.attr("astype")(storage);
  else if (!array.dtype().equal(storage))
    throw fail("got dtype " + py::str(array.dtype()).cast<std::string>() +
               (type == TesseraElementTypeBF16
                    ? " (pass float32, or bf16 bits as uint16)"
                    : ""));
  return py::array::ensure(array, py::array::c_style | py::array::forcecast);
}

/// Wraps a result tensor as a numpy array that owns it (no copy); bf16 is
/// widened to float32.
py::array wrapResult(TesseraTensor tensor) {
  std::vector<py::ssize_t> shape;
  for (intptr_t d = 0, e = tesseraTensorGetRank(tensor); d < e; ++d)
    shape.push_back(tesseraTensorGetSize(tensor, d));
  TesseraElementType type = tesseraTensorGetElementType(tensor);
  if (type == TesseraElementTypeBF16) {
    py::array_t<float> widened(shape);
    const auto *in =
        static_cast<const uint16_t *>(tesseraTensorGetData(tensor));
    float *out = widened.mutable_data();
    for (py::ssize_t i = 0, e = widened.size(); i < e; ++i) {
      uint32_t bits = uint32_t(in[i]) << 16;
      std::memcpy(&out[i], &bits, 4);
    }
    tesseraTensorDestroy(tensor);
    return std::move(widened);
  }
  py::capsule owner(tensor.ptr, [](void *pointer) {
    tesseraTensorDestroy(TesseraTensor{pointer});
  });
  return py::array(getStorageDtype(type), shape, tesseraTensorGetData(tensor),
                   owner);
}

py::list describe(TesseraFunction function, bool results) {
  py::list list;
  intptr_t count = results ? tesseraFunctionGetNumResults(function)
                           : tesseraFunctionGetNumArguments(function);
  for (intptr_t i = 0; i < count; ++i) {
    TesseraElementType type =
        results ? tesseraFunctionGetResultElementType(function, i)
                : tesseraFunctionGetArgumentElementType(function, i);
    intptr_t rank = results ? tesseraFunctionGetResultRank(function, i)
                            : tesseraFunctionGetArgumentRank(function, i);
    py::list shape;
    for (intptr_t d = 0; d < rank; ++d) {
      int64_t size = results ? tesseraFunctionGetResultSize(function, i, d)
                             : tesseraFunctionGetArgumentSize(function, i, d);
      if (size == TESSERA_DYNAMIC_SIZE)
        shape.append(py::none());
      else
        shape.append(size);
    }
    list.append(py::make_tuple(getTypeName(type), py::tuple(shape)));
  }
  return list;
}

py::object call(PyFunction &self, py::args args) {
  TesseraFunction function = self.function;
  size_t count = tesseraFunctionGetNumArguments(function);
  if (args.size() != count)
    throw py::type_error("the function takes " + std::to_string(count) +
                         " arguments, got " + std::to_string(args.size()));
  std::vector<py::array> arrays;
  std::vector<std::vector<int64_t>> shapes(count);
  std::vector<TesseraTensorView> views(count);
  for (size_t i = 0; i < count; ++i) {
    TesseraElementType type =
        tesseraFunctionGetArgumentElementType(function, i);
    arrays.push_back(prepareArgument(args[i], type, i));
    py::array &array = arrays.back();
    shapes[i].assign(array.shape(), array.shape() + array.ndim());
    views[i] = {type, (intptr_t)array.ndim(), shapes[i].data(), array.data()};
  }
  std::vector<TesseraTensor> results(tesseraFunctionGetNumResults(function));
  MlirLogicalResult status;
  {
    // The compiled code does not touch Python objects.
    py::gil_scoped_release release;
    status = tesseraFunctionCall(function, views.data(), views.size(),
                                 results.data());
  }
  if (mlirLogicalResultIsFailure(status))
    throw py::value_error(toString(tesseraFunctionGetError(function)));
  if (results.size() == 1)
    return wrapResult(results[0]);
  py::tuple tuple(results.size());
  for (size_t i = 0; i < results.size(); ++i)
    tuple[i] = wrapResult(results[i]);
  return std::move(tuple);
}

std::string printModule(const PyModule &module) {
  std::string text;
  mlirOperationPrint(
      mlirModuleGetOperation(module.module),
      [](MlirStringRef chunk, void *user) {
        static_cast<std::string *>(user)->append(chunk.data, chunk.length);
      },
      &text);
  return text;
}

} // namespace

PYBIND11_MODULE(_tessera, m) {
  m.doc() = "Tessera: attention and mixture-of-experts compiler (C API "
            "bindings; see the tessera package)";

  compilerError =
      PyErr_NewException("tessera.CompilerError", PyExc_RuntimeError, nullptr);
  m.attr("CompilerError") = py::handle(compilerError);

  py::class_<PyModule, std::shared_ptr<PyModule>>(m, "Module",
                                                  "A parsed MLIR module")
      .def("__str__", &printModule)
      .def("clone", [](const PyModule &self) {
        auto copy = std::make_shared<PyModule>();
        copy->owner = self.owner;
        copy->module = mlirModuleFromOperation(
            mlirOperationClone(mlirModuleGetOperation(self.module)));
        return copy;
      });

  py::class_<PyFunction, std::shared_ptr<PyFunction>>(
      m, "Function", "A JIT-compiled CPU function on numpy arrays")
      .def("__call__", &call)
      .def_property_readonly(
          "arguments",
          [](const PyFunction &self) { return describe(self.function, false); },
          "(element type, shape) per argument; None for a dynamic size")
      .def_property_readonly("results", [](const PyFunction &self) {
        return describe(self.function, true);
      });

  py::class_<PyCompiler, std::shared_ptr<PyCompiler>>(m, "Compiler")
      .def(py::init(&createCompiler), py::kw_only(), py::arg("target") = "cpu",
           py::arg("emit") = "obj", py::arg("cpu") = "native",
           py::arg("chip") = "", py::arg("toolkit_path") = "",
           py::arg("pass_pipeline") = "", py::arg("pipeline_options") = "",
           py::arg("threads") = 0,
           py::arg("tile_sizes") = std::map<std::string, int64_t>())
      .def(
          "parse",
          [](std::shared_ptr<PyCompiler> self, const std::string &source,
             const std::string &name) {
            MlirModule module = tesseraCompilerParse(
                self->compiler, toRef(source), toRef(name));
            if (mlirModuleIsNull(module))
              raiseCompilerError(self->compiler, "cannot parse");
            auto result = std::make_shared<PyModule>();
            result->owner = self;
            result->module = module;
            return result;
          },
          py::arg("source"), py::arg("name") = "-")
      .def(
          "run_pipeline",
          [](PyCompiler &self, PyModule &module, const std::string &pipeline) {
            if (mlirLogicalResultIsFailure(tesseraCompilerRunPipeline(
                    self.compiler, module.module, toRef(pipeline))))
              raiseCompilerError(self.compiler, "the pass pipeline failed");
          },
          py::arg("module"), py::arg("pipeline"))
      .def(
          "compile",
          [](PyCompiler &self, PyModule &module) {
            TesseraArtifact artifact =
                tesseraCompilerCompile(self.compiler, module.module);
            if (tesseraArtifactIsNull(artifact))
              raiseCompilerError(self.compiler, "compilation failed");
            MlirStringRef bytes = tesseraArtifactGetBytes(artifact);
            py::bytes result(bytes.data, bytes.length);
            tesseraArtifactDestroy(artifact);
            return result;
          },
          py::arg("module"))
      .def(
          "load",
          [](PyCompiler &self, PyModule &module, const std::string &entry) {
            TesseraFunction function =
                tesseraCompilerLoad(self.compiler, module.module, toRef(entry));
            if (tesseraFunctionIsNull(function))
              raiseCompilerError(self.compiler, "cannot load '" + entry + "'");
            auto result = std::make_shared<PyFunction>();
            result->function = function;
            return result;
          },
          py::arg("module"), py::arg("entry"))
      .def_property(
          "capture_stages",
          [](const PyCompiler &self) { return self.captureStages; },
          [](PyCompiler &self, bool enable) {
            self.captureStages = enable;
            tesseraCompilerSetCaptureStages(self.compiler, enable);
          },
          "Record the module after every pass of the following pipelines")
      .def_property_readonly(
          "stages",
          [](const PyCompiler &self) {
            py::list stages;
            for (intptr_t i = 0, e = tesseraCompilerGetNumStages(self.compiler);
                 i < e; ++i)
              stages.append(py::make_tuple(
                  toString(tesseraCompilerGetStagePass(self.compiler, i)),
                  toString(tesseraCompilerGetStageIR(self.compiler, i))));
            return stages;
          })
      .def_property_readonly(
          "diagnostics",
          [](const PyCompiler &self) { return getDiagnostics(self.compiler); })
      .def("clear_diagnostics", [](PyCompiler &self) {
        tesseraCompilerClearDiagnostics(self.compiler);
      });
}
