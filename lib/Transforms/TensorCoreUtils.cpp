//===- TensorCoreUtils.cpp - Helpers of the tensor-core kernels -----------===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#include "TensorCoreUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace mlir::tessera;

unsigned tensor_core::getComputeCapability(StringRef chip) {
  unsigned version = 0;
  if (!chip.consume_front("sm_"))
    return 0;
  chip.consume_back("a");
  return chip.getAsInteger(10, version) ? 0 : version;
}

int64_t tensor_core::getMaxSharedBytes(unsigned capability) {
  switch (capability) {
  case 80:
  case 87:
    return 163 * 1024;
  case 90:
  case 100:
  case 103:
    return 227 * 1024;
  default:
    return 99 * 1024;
  }
}

int64_t tensor_core::getMultiprocessorCount(unsigned capability) {
  switch (capability) {
  case 80:
    return 108;
  case 90:
    return 132;
  case 100:
    return 148;
  default:
    return 64;
  }
}

bool tensor_core::hasMfma(StringRef chip) {
  return llvm::is_contained({"gfx90a", "gfx940", "gfx941", "gfx942", "gfx950"},
                            chip);
}

int64_t tensor_core::getComputeUnitCount(StringRef chip) {
  if (chip == "gfx90a")
    return 110; // One MI250X die.
  if (chip == "gfx950")
    return 256; // MI355X.
  if (chip.starts_with("gfx94"))
    return 304; // MI300X.
  return 64;
}

FailureOr<tensor_core::Chip>
tensor_core::getChipOrError(ModuleOp module, StringRef pass, StringRef chip) {
  Chip result;
  StringRef amdVersion = chip;
  result.amd = amdVersion.consume_front("gfx");
  result.capability = getComputeCapability(chip);
  if (result.amd
          ? amdVersion.size() >= 3 && llvm::all_of(amdVersion, llvm::isAlnum)
          : result.capability != 0)
    return result;
  return emitError(module.getLoc()) << pass << ": unknown chip '" << chip
                                    << "' (expected sm_<NN>[a] or gfx<NNN>)";
}

gpu::GPUModuleOp tensor_core::getOrCreateKernelModule(ModuleOp module) {
  constexpr StringLiteral name = "tessera_kernels";
  if (auto existing = module.lookupSymbol<gpu::GPUModuleOp>(name))
    return existing;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  b.getUnitAttr());
  return gpu::GPUModuleOp::create(b, module.getLoc(), name);
}

std::string tensor_core::getUniqueKernelName(gpu::GPUModuleOp kernels,
                                             Operation *op, StringRef suffix,
                                             llvm::StringMap<unsigned> &next) {
  StringRef func = op->getParentOfType<FunctionOpInterface>().getName();
  std::string name;
  do {
    name = (func + "_" + suffix + Twine(next[func]++)).str();
  } while (kernels.lookupSymbol(name));
  return name;
}

MemRefType tensor_core::getSharedTileType(MLIRContext *ctx, Type element,
                                          ArrayRef<int64_t> shape) {
  SmallVector<int64_t> padded(shape);
  padded.back() += kPad;
  return MemRefType::get(
      padded, element, MemRefLayoutAttrInterface(),
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
}

int64_t tensor_core::getBytes(MemRefType type) {
  return type.getNumElements() * type.getElementTypeBitWidth() / 8;
}

SmallVector<Value>
tensor_core::createDynamicSharedViews(ImplicitLocOpBuilder &b,
                                      ArrayRef<MemRefType> types) {
  Value dynamic = gpu::DynamicSharedMemoryOp::create(
      b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                         MemRefLayoutAttrInterface(),
                         gpu::AddressSpaceAttr::get(
                             b.getContext(), gpu::AddressSpace::Workgroup)));
  SmallVector<Value> views;
  int64_t offset = 0;
  for (MemRefType type : types) {
    views.push_back(memref::ViewOp::create(
        b, type, dynamic, arith::ConstantIndexOp::create(b, offset),
        ValueRange{}));
    offset += getBytes(type);
  }
  return views;
}

SmallVector<Value> tensor_core::getLdMatrixRows(ImplicitLocOpBuilder &b,
                                                Value fragment) {
  SmallVector<Value> rows;
  for (int64_t q = 0; q < 4; ++q)
    rows.push_back(vector::ExtractOp::create(b, fragment, q));
  return rows;
}

Value tensor_core::createMmaSync(ImplicitLocOpBuilder &b, Type element,
                                 ArrayRef<Value> a, ArrayRef<Value> bRegs,
                                 Value c) {
  bool isBF16 = isa<BFloat16Type>(element);
  auto registers = [&](ArrayRef<Value> pairs) {
    SmallVector<Value> regs;
    for (Value pair : pairs) {
      if (isBF16) {
        // bf16 pairs travel as i32.
        Value cast = vector::BitCastOp::create(
            b, VectorType::get({1}, b.getI32Type()), pair);
        pair = vector::ExtractOp::create(b, cast, 0);
      }
      regs.push_back(pair);
    }
    return regs;
  };
  SmallVector<Value> accumulators;
  for (int64_t i = 0; i < 4; ++i)
    accumulators.push_back(vector::ExtractOp::create(b, c, i));
  Type f32 = b.getF32Type();
  auto resultType =
      LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  NVVM::MMATypes type = isBF16 ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
  auto mma = NVVM::MmaOp::create(
      b, resultType, registers(a), registers(bRegs), accumulators,
      ArrayRef<int64_t>{16, 8, 16}, std::nullopt, std::nullopt,
      std::array<NVVM::MMATypes, 2>{type, type},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value> parts;
  for (int64_t i = 0; i < 4; ++i)
    parts.push_back(LLVM::ExtractValueOp::create(b, mma, i));
  return vector::FromElementsOp::create(b, VectorType::get({4}, f32), parts);
}

Value tensor_core::getSharedAddress(ImplicitLocOpBuilder &b, Value tile) {
  Value pointer = memref::ExtractAlignedPointerAsIndexOp::create(b, tile);
  return arith::IndexCastUIOp::create(b, b.getI64Type(), pointer);
}

Value tensor_core::createWgmmaDescriptor(ImplicitLocOpBuilder &b, Value base,
                                         int64_t lbo, int64_t sbo,
                                         Value offset) {
  auto i64 = [&](int64_t value) -> Value {
    return arith::ConstantIntOp::create(b, b.getI64Type(), value);
  };
  Value address = arith::AddIOp::create(b, base, offset);
  Value start = arith::ShRUIOp::create(
      b, arith::AndIOp::create(b, address, i64(0x3FFFF)), i64(4));
  int64_t fields = ((lbo >> 4) << 16) | ((sbo >> 4) << 32) | (int64_t(1) << 62);
  return arith::OrIOp::create(b, start, i64(fields));
}

Value tensor_core::createWgmma(ImplicitLocOpBuilder &b, Type element, Value acc,
                               Value descA, Value descB, int64_t n,
                               bool bMajorN) {
  auto type = element.isF16() ? NVVM::WGMMATypes::f16 : NVVM::WGMMATypes::bf16;
  return NVVM::WgmmaMmaAsyncOp::create(
      b, acc.getType(), acc, descA, descB,
      NVVM::MMAShapeAttr::get(b.getContext(), 64, n, 16), type, type,
      NVVM::WGMMATypes::f32, NVVM::WGMMAScaleOut::one, NVVM::WGMMAScaleIn::one,
      NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row,
      bMajorN ? NVVM::MMALayout::row : NVVM::MMALayout::col,
      NVVM::MMAIntOverflowAttr());
}

SmallVector<Value> tensor_core::unpackWgmmaAccumulators(ImplicitLocOpBuilder &b,
                                                        Value acc) {
  auto structType = cast<LLVM::LLVMStructType>(acc.getType());
  auto fragmentType = VectorType::get({4}, b.getF32Type());
  SmallVector<Value> fragments;
  for (int64_t j = 0, e = structType.getBody().size() / 4; j < e; ++j) {
    SmallVector<Value> elements;
    for (int64_t i = 0; i < 4; ++i)
      elements.push_back(LLVM::ExtractValueOp::create(b, acc, 4 * j + i));
    fragments.push_back(
        vector::FromElementsOp::create(b, fragmentType, elements));
  }
  return fragments;
}

Value tensor_core::packWgmmaAccumulators(ImplicitLocOpBuilder &b,
                                         ValueRange fragments) {
  Value acc = LLVM::ZeroOp::create(
      b, LLVM::LLVMStructType::getLiteral(
             b.getContext(),
             SmallVector<Type>(4 * fragments.size(), b.getF32Type())));
  for (auto [j, fragment] : llvm::enumerate(fragments))
    for (int64_t i = 0; i < 4; ++i)
      acc = LLVM::InsertValueOp::create(
          b, acc, vector::ExtractOp::create(b, fragment, i),
          static_cast<int64_t>(4 * j + i));
  return acc;
}

Value tensor_core::createExp2(ImplicitLocOpBuilder &b, Value x, bool amd) {
  if (amd)
    return math::Exp2Op::create(b, x);
  return LLVM::CallIntrinsicOp::create(
             b, b.getF32Type(), b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f32"),
             ValueRange{x})
      .getResult(0);
}

Value tensor_core::createLog2(ImplicitLocOpBuilder &b, Value x, bool amd) {
  if (amd)
    return math::Log2Op::create(b, x);
  return LLVM::CallIntrinsicOp::create(
             b, b.getF32Type(), b.getStringAttr("llvm.nvvm.lg2.approx.f"),
             ValueRange{x})
      .getResult(0);
}

void tensor_core::createKernelLaunch(ImplicitLocOpBuilder &b,
                                     gpu::GPUFuncOp kernel, int64_t gridX,
                                     int64_t gridY, int64_t threads,
                                     int64_t sharedBytes, ValueRange args,
                                     int64_t gridZ) {
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  gpu::LaunchFuncOp::create(
      b, kernel, gpu::KernelDim3{index(gridX), index(gridY), index(gridZ)},
      gpu::KernelDim3{index(threads), index(1), index(1)},
      /*dynamicSharedMemorySize=*/
      arith::ConstantIntOp::create(b, b.getI32Type(), sharedBytes), args);
}

Value tensor_core::createLaunchOperand(ImplicitLocOpBuilder &b, Value tensor) {
  auto tensorType = cast<RankedTensorType>(tensor.getType());
  auto type =
      MemRefType::get(tensorType.getShape(), tensorType.getElementType());
  if (matchPattern(tensor, m_Constant())) {
    Value empty =
        tensor::EmptyOp::create(b, type.getShape(), type.getElementType());
    tensor = linalg::CopyOp::create(b, tensor, empty).getResult(0);
  }
  return bufferization::ToBufferOp::create(b, type, tensor,
                                           /*read_only=*/b.getUnitAttr());
}
