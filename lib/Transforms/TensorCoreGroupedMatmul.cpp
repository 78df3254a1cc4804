//===- TensorCoreGroupedMatmul.cpp - Grouped GEMM on NVIDIA tensor cores --===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//
//
// Replaces an eligible `tessera.grouped_matmul` (f16 or bf16 operands,
// static shapes) by a kernel of `gpu.module @tessera_kernels` that runs on
// the tensor cores, and its launch:
//
//   %x = bufferization.to_buffer %rows read_only      (and %w, %offsets)
//   %y = memref.alloc()
//   gpu.launch_func @tessera_kernels::@f_mma0 ... args(%x, %w, %off, %y)
//   %out = bufferization.to_tensor %y restrict writable
//
// The kernel. A block of 8 warps computes 128 x tileN tiles of the output, one
// expert's each: expert e's clamped segment is cut into 128-row tiles from its
// first row, and the blocks walk the tiles of all experts in order (the grid
// has a block per row tile plus one per expert, which covers them when the
// segments hold each row once), so the blocks that read an expert's weights run
// together and share them in L2. A tile finds each of its rows' experts as the
// reference does (the last expert whose clamped segment holds the row) and
// stores the rows that are the tile expert's (times the row's scale when the op
// has scales: an f32 [M] argument before the output); rows in no segment get
// zeros from the block of their row tile. A tile issues its first K steps'
// copies before that search, which runs while they load. With a gather index
// (an i32 [M] argument after the offsets) the tile's row r is row index[r] of
// x, read with the copies of each K-tile: a row the index puts outside x is
// zeros (cp.async copies 0 of a chunk's bytes and fills it; MFMA selects
// zeros). A K loop stages 128x32 tiles of the rows and 32 x tileN tiles of the
// expert's weights in dynamic shared memory with `cp.async` (`stages` tiles in
// flight: the next tiles load while the tensor cores work on this one; one
// barrier a step; registers bounded by nvvm.minctasm), reads them with
// `ldmatrix` (`.trans` for the weights, which are K-major) and multiplies
// with `mma.sync.m16n8k16` into f32 accumulators: each warp holds a 64 x
// tileN/4 piece of the tile, 4 x tileN/32 fragments of 16x8 (tileN 256, the
// default, reads each row tile from L2 half as often as 128). Shared rows are
// padded by 8 elements, which spreads the 8 rows an `ldmatrix` reads over all
// 32 banks.
//
// On sm_90a (and K a multiple of 64) the products are Hopper's warpgroup
// MMA: the two warpgroups of a block each own 64 rows of the tile, K tiles
// are 64 deep, `cp.async` writes them 128-byte swizzled as the `wgmma`
// shared-memory descriptors describe (rows K-major, weights N-major in
// 64-column blocks), and each step issues four `wgmma.mma_async.m64nNk16`
// (N = tileN) straight from shared memory into f32 accumulators held by the
// warpgroup (tileN / 2 per thread). With `wgmma-tile-m=192` a block of three
// warpgroups computes 192-row tiles (fewer L2 reads per product; each
// thread's share of the copies is then not a whole number of chunks, and the
// last part is guarded).
//
// On the AMD CDNA chips (gfx90a, gfx940-942, gfx950) a block is 4
// wavefronts of 64 lanes, 2 x 2, each with a 64 x tileN/2 piece of 4 x
// tileN/32 MFMA fragments of 16x16. There is no asynchronous copy: each
// K-step of 32 loads the next tiles from global memory into registers
// before its products and stores them to the other of two LDS stages after
// them, so the loads are in flight while the matrix cores work. The
// products are `amdgpu.mfma 16x16x16` (v_mfma_f32_16x16x16_{f16,bf16}); lane
// l holds A[l % 16][4 (l / 16) + i], B[4 (l / 16) + i][l % 16] and the
// result D[4 (l / 16) + i][l % 16], i = 0..3.
//
// The SwiGLU epilogue (out [M, N/2] = silu(a[:, :N/2]) * a[:, N/2:]) is
// fused: a tile's product columns alternate groups of W gate and W up
// columns (W = 8, an mma/wgmma fragment's width, on NVIDIA; 16 on AMD), so
// the lane that holds a gate element also holds its up element, in the next
// fragment; the tile stores tileN / 2 output columns.
//
// Needs sm_80 or newer (cp.async, bf16 mma) or one of those AMD chips;
// other chips keep the generic lowering (tessera-gather-grouped-matmul).
// The stages are capped by the chip's shared memory.
//
//===----------------------------------------------------------------------===//

#include "TensorCoreUtils.h"
#include "tessera/Dialect/Tessera/IR/TesseraOps.h"
#include "tessera/Transforms/Passes.h"

#include "mlir/Dialect/AMDGPU/IR/AMDGPUDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir {
namespace tessera {
#define GEN_PASS_DEF_TESSERATENSORCOREGROUPEDMATMUL
#include "tessera/Transforms/Passes.h.inc"
} // namespace tessera
} // namespace mlir

#define DEBUG_TYPE "tessera-tensor-core-grouped-matmul"

using namespace mlir;
using namespace mlir::tessera;
using namespace mlir::tessera::tensor_core;

namespace {

// The tile: tileM rows x tileN columns, 2 * tileM threads. mma.sync: 128
// rows, 8 warps as 2 (rows) x 4 (columns), each with a 64 x (tileN / 4)
// piece made of 4 x (tileN / 32) mma fragments of 16x8; K in steps of 32
// (two mma k-steps). wgmma: a warpgroup per 64 rows x tileN (two, or three
// with `wgmma-tile-m=192`); K in steps of 64 (one 128-byte swizzled row of
// f16/bf16, four wgmma k-steps). tileN is 128 or 256 (the `tile-n` option).
// In every form the threads 128 h.. compute rows 64 h.. of the tile.
constexpr int64_t kTileM = 128;
constexpr int64_t kWarpsM = 2, kWarpsN = 4;
constexpr int64_t kFragsM = kTileM / kWarpsM / 16; // 4
constexpr int64_t kMmaTileK = 32, kWgmmaTileK = 64;
/// MFMA: 4 wavefronts of 64 lanes as 2 x 2, each with 4 x (tileN / 32)
/// fragments of 16x16; K in steps of 32 (two 16-deep products), two LDS
/// stages.
constexpr int64_t kWaveSize = 64, kWavesN = 2, kMfmaStages = 2;

/// The matrix unit the kernel of an op is written for.
enum class MatrixUnit { MmaSync, Wgmma, Mfma };

/// Why `op` keeps the generic lowering, or an empty string.
std::string whyNotEligible(GroupedMatmulOp op) {
  auto rows = cast<RankedTensorType>(op.getRows().getType());
  auto weights = cast<RankedTensorType>(op.getWeights().getType());
  auto out = cast<RankedTensorType>(op.getOut().getType());
  if (!rows.hasStaticShape() || !weights.hasStaticShape() ||
      !out.hasStaticShape() ||
      !cast<RankedTensorType>(op.getOffsets().getType()).hasStaticShape() ||
      (op.getGather() &&
       !cast<RankedTensorType>(op.getGather().getType()).hasStaticShape()))
    return "dynamic shapes";
  Type element = rows.getElementType();
  if (!isa<Float16Type, BFloat16Type>(element))
    return "operands are not f16 or bf16";
  if (op.getEpilogue() == Epilogue::swiglu && weights.getDimSize(2) % 16 != 0)
    return "the SwiGLU halves are not multiples of 8";
  if (rows.getDimSize(1) % kMmaTileK != 0)
    return "K is not a multiple of 32";
  if (weights.getDimSize(2) % kChunk != 0)
    return "N is not a multiple of 8";
  if (rows.getDimSize(0) == 0 || out.getDimSize(0) == 0 ||
      weights.getDimSize(0) == 0)
    return "empty operands";
  if (llvm::divideCeil(out.getDimSize(0), kTileM) > 65535)
    return "more row tiles than a grid's y dimension holds";
  return "";
}

/// The shared tiles of one kernel: `stages` row tiles and weight tiles.
/// mma.sync reads padded rows with ldmatrix; wgmma reads the swizzled
/// layouts its descriptors name: rows K-major (128 x 64), weights N-major
/// in tileN / 64 column blocks of 64 k-rows x 64 columns.
std::pair<MemRefType, MemRefType> getTileTypes(MLIRContext *ctx, Type element,
                                               int64_t stages, int64_t tileM,
                                               int64_t tileN, bool wgmma) {
  if (!wgmma)
    return {getSharedTileType(ctx, element, {stages, kTileM, kMmaTileK}),
            getSharedTileType(ctx, element, {stages, kMmaTileK, tileN})};
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  int64_t perRow = getSwizzleRowElements(element);
  return {MemRefType::get({stages, tileM, kWgmmaTileK}, element,
                          MemRefLayoutAttrInterface(), workgroup),
          MemRefType::get({stages, tileN / perRow, kWgmmaTileK, perRow},
                          element, MemRefLayoutAttrInterface(), workgroup)};
}

/// Whether the kernel of `op` uses wgmma: it needs the arch-specific sm_90a
/// and whole 64-deep K tiles.
bool usesWgmma(GroupedMatmulOp op, unsigned capability, StringRef chip) {
  return capability == 90 && chip.ends_with("a") &&
         cast<RankedTensorType>(op.getRows().getType()).getDimSize(1) %
                 kWgmmaTileK ==
             0;
}

/// The most stages (at most `stages`, at least 2) whose tiles fit in
/// `sharedBytes` of shared memory next to the row and expert tables (the
/// tiles start at a 1024-byte boundary); 0 if 2 do not.
int64_t getFittingStages(GroupedMatmulOp op, int64_t sharedBytes,
                         int64_t stages, int64_t tileM, int64_t tileN,
                         bool wgmma) {
  MLIRContext *ctx = op.getContext();
  Type element =
      cast<RankedTensorType>(op.getRows().getType()).getElementType();
  int64_t experts =
      cast<RankedTensorType>(op.getWeights().getType()).getDimSize(0);
  int64_t tables = llvm::alignTo((tileM + tileM / 64 * experts) * 4, 1024);
  for (; stages >= 2; --stages) {
    auto [typeA, typeB] =
        getTileTypes(ctx, element, stages, tileM, tileN, wgmma);
    if (tables + getBytes(typeA) + getBytes(typeB) <= sharedBytes)
      return stages;
  }
  return 0;
}

/// Builds the kernel body; see the file comment.
class KernelEmitter {
public:
  KernelEmitter(ImplicitLocOpBuilder &b, gpu::GPUFuncOp kernel, int64_t m,
                int64_t k, int64_t n, int64_t experts, int64_t stages,
                int64_t tileM, int64_t tileN, MatrixUnit unit, bool swiglu,
                bool hasGather, bool hasScale)
      : b(b), m(m), k(k), n(n), experts(experts), stages(stages), tileM(tileM),
        threads(2 * tileM), tileN(tileN),
        fragsN(unit == MatrixUnit::Mfma ? tileN / kWavesN / 16
                                        : tileN / kWarpsN / 8),
        wgmma(unit == MatrixUnit::Wgmma), mfma(unit == MatrixUnit::Mfma),
        swiglu(swiglu), tileK(wgmma ? kWgmmaTileK : kMmaTileK),
        group(mfma ? 16 : 8), nOut(swiglu ? n / 2 : n) {
    Block &entry = kernel.getBody().front();
    x = entry.getArgument(0);
    w = entry.getArgument(1);
    offsets = entry.getArgument(2);
    // Then the gather index (i32 [M]) and the row scales (f32 [M]) when the
    // op has them, and the output; the workgroup attributions follow the
    // arguments.
    unsigned next = 3;
    if (hasGather)
      gather = entry.getArgument(next++);
    if (hasScale)
      scale = entry.getArgument(next++);
    y = entry.getArgument(next);
    tableRows = cast<MemRefType>(x.getType()).getDimSize(0);
    ArrayRef<BlockArgument> shared = kernel.getWorkgroupAttributions();
    rowExpert = shared[0];
    present = shared[1];
    element = cast<MemRefType>(x.getType()).getElementType();
    outElement = cast<MemRefType>(y.getType()).getElementType();
  }

  void emit();

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value i32(int64_t v) {
    return arith::ConstantIntOp::create(b, b.getI32Type(), v);
  }
  Value i64(int64_t v) {
    return arith::ConstantIntOp::create(b, b.getI64Type(), v);
  }
  Value add(Value l, Value r) { return arith::AddIOp::create(b, l, r); }
  Value mul(Value l, Value r) { return arith::MulIOp::create(b, l, r); }
  Value div(Value l, int64_t r) {
    return arith::DivUIOp::create(b, l, index(r));
  }
  Value rem(Value l, int64_t r) {
    return arith::RemUIOp::create(b, l, index(r));
  }
  Value cmp(arith::CmpIPredicate p, Value l, Value r) {
    return arith::CmpIOp::create(b, p, l, r);
  }
  /// A loop `for (i = tid; i < count; i += threads)` around `body`.
  void forEachThread(int64_t count, function_ref<void(Value)> body);

  /// offsets[e] as an index, the clamped segment [begin, end) of expert e
  /// and its number of tileM-row tiles.
  Value getOffset(Value e);
  std::pair<Value, Value> getSegment(Value e);
  Value getTiles(Value e);
  /// One step of the walk over the experts' tiles in order that finds tile
  /// t: from (the first tile of expert e, the expert and index found so
  /// far) to the same after expert e.
  SmallVector<Value> emitFindStep(Value t, Value e, ValueRange found);
  void emitRowExperts();
  void emitZeroRows();
  void emitExpert(Value expert);
  /// cp.async: issues and commits the copies of K step `step` of `expert`
  /// (an empty group past the last step, which keeps the wait counts
  /// uniform).
  void emitLoadStep(Value expert, Value step);
  void emitLoadTiles(Value expert, Value stage, Value k0);
  void emitLoadSwizzledTiles(Value expert, Value stage, Value k0);
  SmallVector<Value> emitMultiply(Value stage, ValueRange acc);
  Value emitWgmma(Value stage, Value acc);
  void emitStore(Value expert, ValueRange acc);
  void emitWgmmaStore(Value expert, Value acc);
  void emitStorePair(Value id, Value r, Value c, Value v0, Value v1,
                     Value rowScale);
  /// The weight column of the chunk at tile column `c` (clamped to the last
  /// chunk of its matrix, or of its SwiGLU half).
  Value getWeightColumn(Value c);
  /// The output column of tile column `c` (with SwiGLU, of a gate column).
  Value getOutputColumn(Value c);
  /// silu(gate) * up in f32.
  Value emitSwiGLU(Value gate, Value up);
  /// scale[m0 + r] (f32), or null without row scales.
  Value getRowScale(Value r);
  /// The row of x that holds row `row` of the left operand, and whether it
  /// exists: `row` itself (and null), or with a gather index
  /// gather[row] clamped to 0 when it is outside x (the row is then zeros).
  std::pair<Value, Value> getSourceRow(Value row);
  /// The left operand's row `row` (clamped to the last) for the copies of
  /// a K-tile: its row of x and, with a gather, the elements of a chunk to
  /// read (all kChunk, or 0: cp.async fills the chunk with zeros).
  std::pair<Value, Value> getCopySource(Value row);
  /// The tile position of the part-th chunk (8 elements) a thread copies:
  /// (row, k) of the row tile, (k, column) of the weight tile.
  std::pair<Value, Value> getChunkA(int64_t part);
  std::pair<Value, Value> getChunkB(int64_t part);
  /// mma.sync and MFMA: the chunks each thread copies (whole numbers with
  /// 128-row tiles).
  int64_t getChunksA() const { return tileM * tileK / kChunk / threads; }
  int64_t getChunksB() const { return tileK * tileN / kChunk / threads; }
  /// Emits `body(row, c)` for each chunk (row, c) of a `rows` x `perRow`
  /// tile this thread copies: chunk tid + threads * part, at row tid /
  /// perRow + part * threads / perRow (one row per thread and part plus a
  /// constant, which keeps the addresses of the parts a base and constant
  /// offsets) and c = tid % perRow. The last part is guarded where the
  /// chunks are not a multiple of the threads.
  void forEachChunk(int64_t rows, int64_t perRow,
                    function_ref<void(Value, Value)> body);
  void emitMfmaExpert(Value expert);
  SmallVector<Value> emitLoadToRegisters(Value expert, Value k0);
  void emitStoreToShared(Value stage, ValueRange values);
  SmallVector<Value> emitMfmaMultiply(Value stage, ValueRange acc);
  void emitMfmaStore(Value expert, ValueRange acc);

  ImplicitLocOpBuilder &b;
  /// m: the left operand's (and the output's) rows; tableRows: x's rows
  /// (the same without a gather index).
  int64_t m, k, n, experts, stages, tableRows;
  /// Rows per tile and threads per block (two a row).
  int64_t tileM, threads;
  /// Output columns per block, fragments (mma: 8 columns, MFMA: 16) per
  /// warp.
  int64_t tileN, fragsN;
  bool wgmma, mfma, swiglu;
  int64_t tileK;
  /// With SwiGLU: the width of the alternating gate and up column groups.
  /// The output's columns (N, or N / 2 with SwiGLU).
  int64_t group, nOut;
  Value x, w, offsets, gather, scale, y, tileA, tileB, rowExpert, present;
  Type element, outElement;
  Value tid, lane, warpM, warpN, m0, n0;
  /// wgmma: the warpgroup, the shared addresses of the tiles (i64).
  Value warpGroup, baseA, baseB;
};

void KernelEmitter::forEachThread(int64_t count,
                                  function_ref<void(Value)> body) {
  auto loop = scf::ForOp::create(b, tid, index(count), index(threads));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  body(loop.getInductionVar());
}

void KernelEmitter::forEachChunk(int64_t rows, int64_t perRow,
                                 function_ref<void(Value, Value)> body) {
  assert(threads % perRow == 0 && "a part must cover whole rows");
  int64_t rowsPerPart = threads / perRow;
  Value firstRow = div(tid, perRow), c = rem(tid, perRow);
  for (int64_t part = 0; part * rowsPerPart < rows; ++part) {
    Value row = part ? add(firstRow, index(part * rowsPerPart)) : firstRow;
    if ((part + 1) * rowsPerPart <= rows) {
      body(row, c);
      continue;
    }
    auto ifChunk = scf::IfOp::create(
        b, cmp(arith::CmpIPredicate::ult, row, index(rows)), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifChunk.thenBlock());
    body(row, c);
  }
}

void KernelEmitter::emit() {
  // The staged tiles live in dynamic shared memory (more than the 48 KiB of
  // static shared memory with 3 stages or more).
  auto [typeA, typeB] =
      getTileTypes(b.getContext(), element, stages, tileM, tileN, wgmma);
  SmallVector<Value> tiles = createDynamicSharedViews(b, {typeA, typeB});
  tileA = tiles[0];
  tileB = tiles[1];
  tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  int64_t laneCount = mfma ? kWaveSize : 32, warpsN = mfma ? kWavesN : kWarpsN;
  lane = rem(tid, laneCount);
  Value warp = div(tid, laneCount);
  warpM = div(warp, warpsN);
  warpN = rem(warp, warpsN);
  n0 = mul(gpu::BlockIdOp::create(b, gpu::Dimension::x), index(tileN));
  if (wgmma) {
    warpGroup = div(tid, 128);
    baseA = getSharedAddress(b, tileA);
    baseB = getSharedAddress(b, tileB);
  }

  // Every thread walks the offsets (block-uniform results): the tiles of
  // all experts, whether the segments hold every row exactly once
  // (non-decreasing offsets from <= 0 to >= M), and the expert and index
  // of tile blockY, the block's first.
  Value blockY = gpu::BlockIdOp::create(b, gpu::Dimension::y);
  Value one = arith::ConstantIntOp::create(b, b.getI1Type(), 1);
  auto walk = scf::ForOp::create(b, index(0), index(experts), index(1),
                                 ValueRange{one, index(0), index(0), index(0)});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(walk.getBody());
    Value e = walk.getInductionVar();
    ValueRange args = walk.getRegionIterArgs();
    Value rising = cmp(arith::CmpIPredicate::sle, getOffset(e),
                       getOffset(add(e, index(1))));
    SmallVector<Value> results = {arith::AndIOp::create(b, args[0], rising)};
    llvm::append_range(results, emitFindStep(blockY, e, args.drop_front()));
    scf::YieldOp::create(b, results);
  }
  Value covered = arith::AndIOp::create(
      b, walk.getResult(0),
      arith::AndIOp::create(
          b, cmp(arith::CmpIPredicate::sle, getOffset(index(0)), index(0)),
          cmp(arith::CmpIPredicate::sge, getOffset(index(experts)), index(m))));

  // Rows in no segment are zeros: block y clears those of rows y * tileM...
  auto ifZero = scf::IfOp::create(
      b,
      arith::AndIOp::create(b, arith::XOrIOp::create(b, covered, one),
                            cmp(arith::CmpIPredicate::ult, blockY,
                                index(llvm::divideCeil(m, tileM)))),
      false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifZero.thenBlock());
    m0 = mul(blockY, index(tileM));
    emitRowExperts();
    emitZeroRows();
    gpu::BarrierOp::create(b);
  }

  // ... and the blocks walk the experts' tiles: tile j of expert e holds
  // rows begin(e) + tileM j.. of its segment, so the blocks that read an
  // expert's weights run at the same time (they share them in L2).
  auto tileLoop =
      scf::ForOp::create(b, blockY, walk.getResult(1),
                         gpu::GridDimOp::create(b, gpu::Dimension::y));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(tileLoop.getBody());
    Value t = tileLoop.getInductionVar();
    // The walk found the first tile; later ones (segments that overlap)
    // walk the experts again.
    Type indexType = b.getIndexType();
    auto ifFirst = scf::IfOp::create(b, TypeRange{indexType, indexType},
                                     cmp(arith::CmpIPredicate::eq, t, blockY),
                                     /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(ifFirst.thenBlock());
      scf::YieldOp::create(b, walk.getResults().drop_front(2));
      b.setInsertionPointToStart(ifFirst.elseBlock());
      auto find = scf::ForOp::create(b, index(0), index(experts), index(1),
                                     ValueRange{index(0), index(0), index(0)});
      b.setInsertionPointToStart(find.getBody());
      scf::YieldOp::create(
          b, emitFindStep(t, find.getInductionVar(), find.getRegionIterArgs()));
      b.setInsertionPointAfter(find);
      scf::YieldOp::create(b, find.getResults().drop_front());
    }
    Value expert = ifFirst.getResult(0);
    m0 = add(getSegment(expert).first, mul(ifFirst.getResult(1), index(tileM)));
    // The first K steps' copies fly while the tile finds its rows' experts
    // (they need only the expert and m0; the last tile's barriers freed
    // the stages).
    if (!mfma)
      for (int64_t s = 0; s < stages - 1; ++s)
        emitLoadStep(expert, index(s));
    emitRowExperts();
    emitExpert(expert);
    // The next tile rewrites the tables the stores read.
    gpu::BarrierOp::create(b);
  }
  gpu::ReturnOp::create(b);
}

Value KernelEmitter::getOffset(Value e) {
  Value raw = memref::LoadOp::create(b, offsets, e);
  return arith::IndexCastOp::create(b, b.getIndexType(), raw);
}

std::pair<Value, Value> KernelEmitter::getSegment(Value e) {
  auto clamp = [&](Value v, Value lo) {
    return arith::MinSIOp::create(b, arith::MaxSIOp::create(b, v, lo),
                                  index(m));
  };
  Value begin = clamp(getOffset(e), index(0));
  return {begin, clamp(getOffset(add(e, index(1))), begin)};
}

Value KernelEmitter::getTiles(Value e) {
  auto [begin, end] = getSegment(e);
  return div(add(arith::SubIOp::create(b, end, begin), index(tileM - 1)),
             tileM);
}

SmallVector<Value> KernelEmitter::emitFindStep(Value t, Value e,
                                               ValueRange found) {
  Value first = found[0], next = add(first, getTiles(e));
  Value inside =
      arith::AndIOp::create(b, cmp(arith::CmpIPredicate::uge, t, first),
                            cmp(arith::CmpIPredicate::ult, t, next));
  return {next, arith::SelectOp::create(b, inside, e, found[1]),
          arith::SelectOp::create(b, inside, arith::SubIOp::create(b, t, first),
                                  found[2])};
}

/// rowExpert[r] = the expert of row m0 + r (-1: none, -2: past the end);
/// present[h][e] = 1 for every expert with rows in part h (rows 64 h..) of
/// the tile.
void KernelEmitter::emitRowExperts() {
  forEachThread(tileM / 64 * experts, [&](Value i) {
    memref::StoreOp::create(b, i32(0), present,
                            ValueRange{div(i, experts), rem(i, experts)});
  });
  Value isRowThread = cmp(arith::CmpIPredicate::ult, tid, index(tileM));
  auto ifRow = scf::IfOp::create(b, isRowThread, false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifRow.thenBlock());
    Value row = add(m0, tid);
    Value numRows = index(m);
    auto scan = scf::ForOp::create(b, index(0), index(experts), index(1),
                                   ValueRange{i32(-1)});
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(scan.getBody());
      Value e = scan.getInductionVar();
      auto [begin, end] = getSegment(e);
      Value inside =
          arith::AndIOp::create(b, cmp(arith::CmpIPredicate::sge, row, begin),
                                cmp(arith::CmpIPredicate::slt, row, end));
      Value id = arith::IndexCastOp::create(b, b.getI32Type(), e);
      scf::YieldOp::create(b, ValueRange{arith::SelectOp::create(
                                  b, inside, id, scan.getRegionIterArgs()[0])});
    }
    Value inMatrix = cmp(arith::CmpIPredicate::ult, row, numRows);
    Value expert =
        arith::SelectOp::create(b, inMatrix, scan.getResult(0), i32(-2));
    memref::StoreOp::create(b, expert, rowExpert, tid);
  }
  gpu::BarrierOp::create(b);
  auto ifMark = scf::IfOp::create(b, isRowThread, false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifMark.thenBlock());
    Value expert = memref::LoadOp::create(b, rowExpert, tid);
    auto ifHeld = scf::IfOp::create(
        b, cmp(arith::CmpIPredicate::sge, expert, i32(0)), false);
    b.setInsertionPointToStart(ifHeld.thenBlock());
    memref::StoreOp::create(
        b, i32(1), present,
        ValueRange{div(tid, 64),
                   arith::IndexCastOp::create(b, b.getIndexType(), expert)});
  }
  gpu::BarrierOp::create(b);
}

/// Rows of the tile in no segment are zeros, 8 elements per store (over
/// the tile's tileN / 2 output columns with SwiGLU).
void KernelEmitter::emitZeroRows() {
  int64_t outTileN = swiglu ? tileN / 2 : tileN;
  int64_t chunksPerRow = outTileN / kChunk;
  auto vectorType = VectorType::get({kChunk}, outElement);
  forEachThread(tileM * chunksPerRow, [&](Value chunk) {
    Value r = div(chunk, chunksPerRow);
    Value col = add(swiglu ? div(n0, 2) : n0,
                    mul(rem(chunk, chunksPerRow), index(kChunk)));
    Value expert = memref::LoadOp::create(b, rowExpert, r);
    Value store =
        arith::AndIOp::create(b, cmp(arith::CmpIPredicate::eq, expert, i32(-1)),
                              cmp(arith::CmpIPredicate::ult, col, index(nOut)));
    auto ifStore = scf::IfOp::create(b, store, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifStore.thenBlock());
    Value zeros = arith::ConstantOp::create(
        b, vectorType,
        DenseElementsAttr::get(vectorType, b.getZeroAttr(outElement)));
    vector::StoreOp::create(b, zeros, y, ValueRange{add(m0, r), col});
  });
}

/// cp.async of the K-tile at k0: rows m0.. of x (clamped to the last row;
/// rows past the end are never stored) and rows k0.. of w[expert] (columns
/// clamped to the last chunk; columns past the end are never stored).
void KernelEmitter::emitLoadTiles(Value expert, Value stage, Value k0) {
  if (wgmma)
    return emitLoadSwizzledTiles(expert, stage, k0);
  auto bytes = b.getIndexAttr(kChunk);
  for (int64_t part = 0; part < getChunksA(); ++part) {
    auto [r, kc] = getChunkA(part);
    auto [row, copied] = getCopySource(add(m0, r));
    nvgpu::DeviceAsyncCopyOp::create(b, tileA, ValueRange{stage, r, kc}, x,
                                     ValueRange{row, add(k0, kc)}, bytes,
                                     copied, b.getUnitAttr());
  }
  for (int64_t part = 0; part < getChunksB(); ++part) {
    auto [kr, nc] = getChunkB(part);
    nvgpu::DeviceAsyncCopyOp::create(
        b, tileB, ValueRange{stage, kr, nc}, w,
        ValueRange{expert, add(k0, kr), getWeightColumn(nc)}, bytes, Value(),
        b.getUnitAttr());
  }
}

std::pair<Value, Value> KernelEmitter::getChunkA(int64_t part) {
  Value chunk = add(tid, index(part * threads));
  return {div(chunk, tileK / kChunk),
          mul(rem(chunk, tileK / kChunk), index(kChunk))};
}

std::pair<Value, Value> KernelEmitter::getSourceRow(Value row) {
  if (!gather)
    return {row, Value()};
  Value id = memref::LoadOp::create(b, gather, row);
  // Unsigned: negative ids are outside too.
  Value valid =
      cmp(arith::CmpIPredicate::ult, id, i32(static_cast<int32_t>(tableRows)));
  Value clamped = arith::SelectOp::create(b, valid, id, i32(0));
  return {arith::IndexCastUIOp::create(b, b.getIndexType(), clamped), valid};
}

std::pair<Value, Value> KernelEmitter::getCopySource(Value row) {
  auto [source, valid] =
      getSourceRow(arith::MinUIOp::create(b, row, index(m - 1)));
  if (!valid)
    return {source, Value()};
  return {source, arith::SelectOp::create(b, valid, index(kChunk), index(0))};
}

std::pair<Value, Value> KernelEmitter::getChunkB(int64_t part) {
  Value chunk = add(tid, index(part * threads));
  return {div(chunk, tileN / kChunk),
          mul(rem(chunk, tileN / kChunk), index(kChunk))};
}

/// The same copies into the swizzled wgmma layouts: chunk c of a 128-byte
/// row r goes to chunk c ^ (r % 8) of that row; weight columns are split
/// into blocks of one 128-byte row each.
void KernelEmitter::emitLoadSwizzledTiles(Value expert, Value stage, Value k0) {
  auto bytes = b.getIndexAttr(kChunk);
  auto slot = [&](Value chunk, Value row) {
    Value swizzled = arith::XOrIOp::create(b, chunk, rem(row, kSwizzleRows));
    return mul(swizzled, index(kChunk));
  };
  int64_t chunksA = tileK / kChunk;
  forEachChunk(tileM, chunksA, [&](Value r, Value c) {
    auto [row, copied] = getCopySource(add(m0, r));
    nvgpu::DeviceAsyncCopyOp::create(
        b, tileA, ValueRange{stage, r, slot(c, r)}, x,
        ValueRange{row, add(k0, mul(c, index(kChunk)))}, bytes, copied,
        b.getUnitAttr());
  });
  int64_t chunksB = tileN / kChunk;
  int64_t chunksPerBlock =
      cast<MemRefType>(tileB.getType()).getShape()[3] / kChunk;
  forEachChunk(tileK, chunksB, [&](Value kr, Value nc) {
    Value col = getWeightColumn(mul(nc, index(kChunk)));
    nvgpu::DeviceAsyncCopyOp::create(
        b, tileB,
        ValueRange{stage, div(nc, chunksPerBlock), kr,
                   slot(rem(nc, chunksPerBlock), kr)},
        w, ValueRange{expert, add(k0, kr), col}, bytes, Value(),
        b.getUnitAttr());
  });
}

/// The tensor-core work on one staged K-tile; `acc` holds kFragsM x fragsN
/// vector<4xf32> fragments, row-major.
SmallVector<Value> KernelEmitter::emitMultiply(Value stage, ValueRange acc) {
  SmallVector<Value> result(acc);
  auto fragmentType = VectorType::get({4, 2}, element);
  Value laneRow = rem(lane, 16);
  Value laneHalf = mul(div(lane, 16), index(8));
  for (int64_t kk = 0; kk < tileK; kk += 16) {
    // A: lanes 0-15 address rows 0-15 at kk, lanes 16-31 rows 0-15 at kk+8;
    // registers (rows, k) 0-7/0-7, 8-15/0-7, 0-7/8-15, 8-15/8-15.
    SmallVector<SmallVector<Value>> a;
    for (int64_t i = 0; i < kFragsM; ++i) {
      Value row =
          add(mul(warpM, index(kFragsM * 16)), add(index(i * 16), laneRow));
      a.push_back(getLdMatrixRows(
          b, nvgpu::LdMatrixOp::create(
                 b, fragmentType, tileA,
                 ValueRange{stage, row, add(index(kk), laneHalf)},
                 /*transpose=*/false, /*numTiles=*/4)));
    }
    // B (K-major): one transposed x4 load gives two 16x8 fragments; lanes
    // 0-15 address k rows kk.. of the first, lanes 16-31 of the second.
    SmallVector<SmallVector<Value>> bFrags;
    for (int64_t j = 0; j < fragsN; j += 2) {
      Value col =
          add(mul(warpN, index(fragsN * 8)), add(index(j * 8), laneHalf));
      SmallVector<Value> both = getLdMatrixRows(
          b, nvgpu::LdMatrixOp::create(
                 b, fragmentType, tileB,
                 ValueRange{stage, add(index(kk), laneRow), col},
                 /*transpose=*/true, /*numTiles=*/4));
      bFrags.push_back({both[0], both[1]});
      bFrags.push_back({both[2], both[3]});
    }
    for (int64_t i = 0; i < kFragsM; ++i)
      for (int64_t j = 0; j < fragsN; ++j)
        result[i * fragsN + j] =
            createMmaSync(b, element, a[i], bFrags[j], result[i * fragsN + j]);
  }
  return result;
}

/// One staged K-tile on the tensor cores: tileK / 16 wgmma m64nNk16 of the
/// warpgroup's 64 rows, committed as one group. A is K-major: a k-step
/// moves 32 bytes along the swizzled row, 8-row groups are 1024 bytes
/// apart. B is N-major: a k-step moves 16 rows (2048 bytes), 8-row groups
/// are 1024 bytes apart and 64-column blocks 64 rows x 128 bytes apart.
Value KernelEmitter::emitWgmma(Value stage, Value acc) {
  int64_t bytes = element.getIntOrFloatBitWidth() / 8;
  int64_t rowBytes = kSwizzleBytes, groupBytes = kSwizzleRows * rowBytes;
  Value stage64 = arith::IndexCastUIOp::create(b, b.getI64Type(), stage);
  Value group64 = arith::IndexCastUIOp::create(b, b.getI64Type(), warpGroup);
  Value offsetA = add(mul(stage64, i64(tileM * tileK * bytes)),
                      mul(group64, i64(64 * rowBytes)));
  Value offsetB = mul(stage64, i64(tileK * tileN * bytes));
  NVVM::WgmmaFenceAlignedOp::create(b);
  for (int64_t kk = 0; kk < tileK; kk += 16) {
    Value descA = createWgmmaDescriptor(b, baseA, 16, groupBytes,
                                        add(offsetA, i64(kk * bytes)));
    Value descB = createWgmmaDescriptor(b, baseB, tileK * rowBytes, groupBytes,
                                        add(offsetB, i64(kk * rowBytes)));
    acc = createWgmma(b, element, acc, descA, descB, tileN,
                      /*bMajorN=*/true);
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b);
  return acc;
}

Value KernelEmitter::getRowScale(Value r) {
  if (!scale)
    return nullptr;
  return memref::LoadOp::create(
      b, scale,
      ValueRange{arith::MinUIOp::create(b, add(m0, r), index(m - 1))});
}

Value KernelEmitter::getWeightColumn(Value c) {
  Value col = add(n0, c);
  if (!swiglu)
    return arith::MinUIOp::create(b, col, index(n - kChunk));
  // Group g of the product columns is gate (even g) or up (odd g) group
  // g / 2 of the output.
  Value g = div(col, group);
  Value outCol = add(mul(div(g, 2), index(group)), rem(col, group));
  Value gate = arith::MinUIOp::create(b, outCol, index(nOut - kChunk));
  Value up =
      arith::MinUIOp::create(b, add(outCol, index(nOut)), index(n - kChunk));
  return arith::SelectOp::create(
      b, cmp(arith::CmpIPredicate::ne, rem(g, 2), index(0)), up, gate);
}

Value KernelEmitter::getOutputColumn(Value c) {
  Value col = add(n0, c);
  if (!swiglu)
    return col;
  return add(mul(div(col, 2 * group), index(group)), rem(col, group));
}

Value KernelEmitter::emitSwiGLU(Value gate, Value up) {
  Value one = arith::ConstantOp::create(b, b.getF32FloatAttr(1.0f));
  Value sigmoid = arith::DivFOp::create(
      b, one,
      arith::AddFOp::create(
          b, one, math::ExpOp::create(b, arith::NegFOp::create(b, gate))));
  return arith::MulFOp::create(b, arith::MulFOp::create(b, gate, sigmoid), up);
}

/// Stores output elements (r, c) and (r, c + 1) of the tile (c a tile
/// column, with SwiGLU of a gate group), times the row scale if any and
/// rounded to the output type, when `held` (the row belongs to the expert)
/// and the columns are inside the matrix.
void KernelEmitter::emitStorePair(Value held, Value r, Value c, Value v0,
                                  Value v1, Value rowScale) {
  Value col = getOutputColumn(c);
  Value store = arith::AndIOp::create(
      b, held, cmp(arith::CmpIPredicate::ult, col, index(nOut)));
  auto ifStore = scf::IfOp::create(b, store, false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifStore.thenBlock());
  Value pair = vector::FromElementsOp::create(
      b, VectorType::get({2}, b.getF32Type()), ValueRange{v0, v1});
  if (rowScale)
    pair = arith::MulFOp::create(
        b, pair,
        vector::BroadcastOp::create(b, VectorType::get({2}, b.getF32Type()),
                                    rowScale));
  pair = arith::TruncFOp::create(b, VectorType::get({2}, outElement), pair);
  vector::StoreOp::create(b, pair, y, ValueRange{add(m0, r), col});
}

/// Stores the accumulators of the rows of `expert`: fragment element pairs
/// (c0, c1) at row lane/4 and (c2, c3) at row lane/4 + 8, columns
/// 2 * (lane % 4) + {0, 1}.
void KernelEmitter::emitStore(Value expert, ValueRange acc) {
  Value id = arith::IndexCastOp::create(b, b.getI32Type(), expert);
  Value laneRow = div(lane, 4);
  Value laneCol = mul(rem(lane, 4), index(2));
  for (int64_t i = 0; i < kFragsM; ++i) {
    for (int64_t half = 0; half < 2; ++half) {
      Value r = add(mul(warpM, index(kFragsM * 16)),
                    add(index(i * 16 + half * 8), laneRow));
      Value held = cmp(arith::CmpIPredicate::eq,
                       memref::LoadOp::create(b, rowExpert, r), id);
      Value rowScale = getRowScale(r);
      // With SwiGLU, fragment j + 1 holds the up columns of gate
      // fragment j.
      for (int64_t j = 0; j < fragsN; j += swiglu ? 2 : 1) {
        auto element = [&](int64_t frag, int64_t e) -> Value {
          Value v = vector::ExtractOp::create(b, acc[i * fragsN + frag], e);
          if (!swiglu)
            return v;
          return emitSwiGLU(
              v, vector::ExtractOp::create(b, acc[i * fragsN + frag + 1], e));
        };
        emitStorePair(
            held, r,
            add(mul(warpN, index(fragsN * 8)), add(index(j * 8), laneCol)),
            element(j, half * 2), element(j, half * 2 + 1), rowScale);
      }
    }
  }
}

/// The same for the wgmma accumulators: warp w of a warpgroup holds rows
/// 16 * w + lane/4 (+ 8), element 4 * j + 2 * half + {0, 1} at column
/// 8 * j + 2 * (lane % 4) + {0, 1}.
void KernelEmitter::emitWgmmaStore(Value expert, Value acc) {
  Value id = arith::IndexCastOp::create(b, b.getI32Type(), expert);
  Value warpRow = mul(rem(div(tid, 32), 4), index(16));
  Value laneRow = add(add(mul(warpGroup, index(64)), warpRow), div(lane, 4));
  Value laneCol = mul(rem(lane, 4), index(2));
  for (int64_t half = 0; half < 2; ++half) {
    Value r = add(laneRow, index(half * 8));
    Value held = cmp(arith::CmpIPredicate::eq,
                     memref::LoadOp::create(b, rowExpert, r), id);
    Value rowScale = getRowScale(r);
    // With SwiGLU, group j + 1 holds the up columns of gate group j.
    for (int64_t j = 0; j < tileN / 8; j += swiglu ? 2 : 1) {
      auto element = [&](int64_t e) -> Value {
        Value v = LLVM::ExtractValueOp::create(b, acc, e);
        if (!swiglu)
          return v;
        return emitSwiGLU(v, LLVM::ExtractValueOp::create(b, acc, e + 4));
      };
      int64_t e = 4 * j + 2 * half;
      emitStorePair(held, r, add(index(j * 8), laneCol), element(e),
                    element(e + 1), rowScale);
    }
  }
}

/// The multistage K loop of one expert and the store of its rows. Step s
/// waits for its tile (at most stages - 2 younger groups in flight), syncs
/// the block (so the stage step s - 1 read is free), issues the copies of
/// step s + stages - 1 into that stage and multiplies: one barrier a step.
/// wgmma issues its group before the copies and waits for it at the end of
/// the step; a proxy fence makes each thread's copies visible to the wgmma
/// reads (the async proxy) before the barrier. (Leaving a group in flight
/// across the barrier costs a stage of copies in flight: slower on the
/// H100, where the copies bound the kernel.) A part of the tile (the 64
/// rows of a warpgroup, or of 4 warps) without rows of the expert skips the
/// products.
void KernelEmitter::emitExpert(Value expert) {
  if (mfma)
    return emitMfmaExpert(expert);
  int64_t steps = k / tileK;
  int64_t ahead = stages - 1;
  // The copies of steps 0..ahead-1 are in flight (issued by the caller).
  SmallVector<Value> init;
  if (wgmma) {
    init.push_back(LLVM::ZeroOp::create(
        b, LLVM::LLVMStructType::getLiteral(
               b.getContext(), SmallVector<Type>(tileN / 2, b.getF32Type()))));
  } else {
    auto fragmentType = VectorType::get({4}, b.getF32Type());
    Value zero = arith::ConstantOp::create(
        b, fragmentType,
        DenseElementsAttr::get(fragmentType, b.getF32FloatAttr(0.0f)));
    init.assign(kFragsM * fragsN, zero);
  }
  Value mine =
      cmp(arith::CmpIPredicate::ne,
          memref::LoadOp::create(b, present, ValueRange{div(tid, 128), expert}),
          i32(0));
  auto loop = scf::ForOp::create(b, index(0), index(steps), index(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value step = loop.getInductionVar();
    Value stage = rem(step, stages);
    NVVM::CpAsyncWaitGroupOp::create(b, ahead - 1);
    if (wgmma)
      NVVM::FenceProxyOp::create(
          b, NVVM::ProxyKind::async_shared,
          NVVM::SharedSpaceAttr::get(b.getContext(),
                                     NVVM::SharedSpace::shared_cta));
    gpu::BarrierOp::create(b);
    if (!wgmma)
      emitLoadStep(expert, add(step, index(ahead)));
    ValueRange acc = loop.getRegionIterArgs();
    auto ifMine = scf::IfOp::create(b, acc.getTypes(), mine, true);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(ifMine.thenBlock());
      if (wgmma)
        scf::YieldOp::create(b, emitWgmma(stage, acc[0]));
      else
        scf::YieldOp::create(b, emitMultiply(stage, acc));
      b.setInsertionPointToStart(ifMine.elseBlock());
      scf::YieldOp::create(b, acc);
    }
    if (wgmma) {
      emitLoadStep(expert, add(step, index(ahead)));
      NVVM::WgmmaWaitGroupSyncOp::create(b, 0);
    }
    scf::YieldOp::create(b, ifMine.getResults());
  }
  // The next expert's first copies overwrite stages read by the last steps.
  gpu::BarrierOp::create(b);
  auto ifStore = scf::IfOp::create(b, mine, false);
  b.setInsertionPointToStart(ifStore.thenBlock());
  if (wgmma)
    emitWgmmaStore(expert, loop.getResult(0));
  else
    emitStore(expert, loop.getResults());
  b.setInsertionPointAfter(ifStore);
}

void KernelEmitter::emitLoadStep(Value expert, Value step) {
  int64_t steps = k / tileK;
  auto ifLoad = scf::IfOp::create(
      b, cmp(arith::CmpIPredicate::ult, step, index(steps)), false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifLoad.thenBlock());
    emitLoadTiles(expert, rem(step, stages), mul(step, index(tileK)));
  }
  NVVM::CpAsyncCommitGroupOp::create(b);
}

/// MFMA: the chunks of the K-tile at k0 (rows m0.. of x clamped to the
/// last row, rows k0.. of w[expert] with columns clamped to the last chunk,
/// as emitLoadTiles) loaded into registers, row chunks first.
SmallVector<Value> KernelEmitter::emitLoadToRegisters(Value expert, Value k0) {
  auto chunkType = VectorType::get({kChunk}, element);
  SmallVector<Value> values;
  for (int64_t part = 0; part < getChunksA(); ++part) {
    auto [r, kc] = getChunkA(part);
    auto [row, valid] =
        getSourceRow(arith::MinUIOp::create(b, add(m0, r), index(m - 1)));
    Value chunk =
        vector::LoadOp::create(b, chunkType, x, ValueRange{row, add(k0, kc)});
    if (valid)
      chunk = arith::SelectOp::create(
          b, valid, chunk,
          arith::ConstantOp::create(
              b, DenseElementsAttr::get(chunkType, b.getZeroAttr(element))));
    values.push_back(chunk);
  }
  for (int64_t part = 0; part < getChunksB(); ++part) {
    auto [kr, nc] = getChunkB(part);
    values.push_back(vector::LoadOp::create(
        b, chunkType, w, ValueRange{expert, add(k0, kr), getWeightColumn(nc)}));
  }
  return values;
}

/// MFMA: the chunks of emitLoadToRegisters written to LDS stage `stage`.
void KernelEmitter::emitStoreToShared(Value stage, ValueRange values) {
  for (int64_t part = 0; part < getChunksA(); ++part) {
    auto [r, kc] = getChunkA(part);
    vector::StoreOp::create(b, values[part], tileA, ValueRange{stage, r, kc});
  }
  for (int64_t part = 0; part < getChunksB(); ++part) {
    auto [kr, nc] = getChunkB(part);
    vector::StoreOp::create(b, values[getChunksA() + part], tileB,
                            ValueRange{stage, kr, nc});
  }
}

/// MFMA: the products of one staged K-tile; `acc` holds 4 x fragsN
/// vector<4xf32> fragments of 16x16, row-major. Lane l reads A row l % 16
/// and B column l % 16 at k = 4 (l / 16) + 0..3: four contiguous elements
/// of a row tile row, four rows of a weight tile column.
SmallVector<Value> KernelEmitter::emitMfmaMultiply(Value stage,
                                                   ValueRange acc) {
  SmallVector<Value> result(acc);
  auto operandType = VectorType::get({4}, element);
  Value laneIndex = rem(lane, 16);
  Value laneK = mul(div(lane, 16), index(4));
  int64_t fragsM = kTileM / 2 / 16;
  for (int64_t kk = 0; kk < tileK; kk += 16) {
    Value k0 = add(index(kk), laneK);
    SmallVector<Value> a, bFrags;
    for (int64_t i = 0; i < fragsM; ++i) {
      Value row =
          add(mul(warpM, index(fragsM * 16)), add(index(i * 16), laneIndex));
      a.push_back(vector::LoadOp::create(b, operandType, tileA,
                                         ValueRange{stage, row, k0}));
    }
    for (int64_t j = 0; j < fragsN; ++j) {
      Value col =
          add(mul(warpN, index(fragsN * 16)), add(index(j * 16), laneIndex));
      SmallVector<Value> column;
      for (int64_t t = 0; t < 4; ++t)
        column.push_back(memref::LoadOp::create(
            b, tileB, ValueRange{stage, add(k0, index(t)), col}));
      bFrags.push_back(vector::FromElementsOp::create(b, operandType, column));
    }
    for (int64_t i = 0; i < fragsM; ++i)
      for (int64_t j = 0; j < fragsN; ++j) {
        Value &c = result[i * fragsN + j];
        c = amdgpu::MFMAOp::create(b, c.getType(), /*m=*/16, /*n=*/16,
                                   /*k=*/16, /*blocks=*/1, a[i], bFrags[j], c);
      }
  }
  return result;
}

/// MFMA: stores the rows of `expert`; element i of fragment (fi, fj) of
/// lane l is row 16 fi + 4 (l / 16) + i, column 16 fj + l % 16 of the
/// wavefront's piece.
void KernelEmitter::emitMfmaStore(Value expert, ValueRange acc) {
  Value id = arith::IndexCastOp::create(b, b.getI32Type(), expert);
  Value laneRow = mul(div(lane, 16), index(4));
  Value laneCol = rem(lane, 16);
  int64_t fragsM = kTileM / 2 / 16;
  for (int64_t i = 0; i < fragsM; ++i) {
    for (int64_t e = 0; e < 4; ++e) {
      Value r =
          add(mul(warpM, index(fragsM * 16)), add(index(i * 16 + e), laneRow));
      Value held = cmp(arith::CmpIPredicate::eq,
                       memref::LoadOp::create(b, rowExpert, r), id);
      Value rowScale = getRowScale(r);
      // With SwiGLU, fragment j + 1 holds the up columns of gate
      // fragment j.
      for (int64_t j = 0; j < fragsN; j += swiglu ? 2 : 1) {
        Value col = getOutputColumn(
            add(mul(warpN, index(fragsN * 16)), add(index(j * 16), laneCol)));
        Value store = arith::AndIOp::create(
            b, held, cmp(arith::CmpIPredicate::ult, col, index(nOut)));
        auto ifStore = scf::IfOp::create(b, store, false);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(ifStore.thenBlock());
        Value v = vector::ExtractOp::create(b, acc[i * fragsN + j], e);
        if (swiglu)
          v = emitSwiGLU(
              v, vector::ExtractOp::create(b, acc[i * fragsN + j + 1], e));
        if (rowScale)
          v = arith::MulFOp::create(b, v, rowScale);
        memref::StoreOp::create(b, arith::TruncFOp::create(b, outElement, v), y,
                                ValueRange{add(m0, r), col});
      }
    }
  }
}

/// MFMA: the K loop of one expert and the store of its rows. Step s
/// multiplies the tiles in stage s % 2 while the global loads of step s + 1
/// are in flight, then stores those into the other stage (free since the
/// barrier that ended step s - 1) and syncs the block. Halves of the tile
/// without rows of the expert skip the products.
void KernelEmitter::emitMfmaExpert(Value expert) {
  int64_t steps = k / tileK;
  auto fragmentType = VectorType::get({4}, b.getF32Type());
  Value zero = arith::ConstantOp::create(
      b, fragmentType,
      DenseElementsAttr::get(fragmentType, b.getF32FloatAttr(0.0f)));
  SmallVector<Value> init(kTileM / 2 / 16 * fragsN, zero);
  Value mine =
      cmp(arith::CmpIPredicate::ne,
          memref::LoadOp::create(b, present, ValueRange{div(tid, 128), expert}),
          i32(0));
  emitStoreToShared(index(0), emitLoadToRegisters(expert, index(0)));
  gpu::BarrierOp::create(b);
  auto loop = scf::ForOp::create(b, index(0), index(steps), index(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value step = loop.getInductionVar();
    Value next = add(step, index(1));
    Value more = cmp(arith::CmpIPredicate::ult, next, index(steps));
    auto chunkType = VectorType::get({kChunk}, element);
    SmallVector<Type> chunkTypes(getChunksA() + getChunksB(), chunkType);
    auto ifLoad = scf::IfOp::create(b, chunkTypes, more, true);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(ifLoad.thenBlock());
      scf::YieldOp::create(
          b, emitLoadToRegisters(expert, mul(next, index(tileK))));
      b.setInsertionPointToStart(ifLoad.elseBlock());
      Value none = arith::ConstantOp::create(
          b, chunkType,
          DenseElementsAttr::get(chunkType, b.getZeroAttr(element)));
      scf::YieldOp::create(b, SmallVector<Value>(chunkTypes.size(), none));
    }
    ValueRange acc = loop.getRegionIterArgs();
    auto ifMine = scf::IfOp::create(b, acc.getTypes(), mine, true);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(ifMine.thenBlock());
      scf::YieldOp::create(b, emitMfmaMultiply(rem(step, kMfmaStages), acc));
      b.setInsertionPointToStart(ifMine.elseBlock());
      scf::YieldOp::create(b, acc);
    }
    auto ifStore = scf::IfOp::create(b, more, false);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(ifStore.thenBlock());
      emitStoreToShared(rem(next, kMfmaStages), ifLoad.getResults());
    }
    gpu::BarrierOp::create(b);
    scf::YieldOp::create(b, ifMine.getResults());
  }
  auto ifStore = scf::IfOp::create(b, mine, false);
  b.setInsertionPointToStart(ifStore.thenBlock());
  emitMfmaStore(expert, loop.getResults());
  b.setInsertionPointAfter(ifStore);
}

/// Replaces `op` by a launch of a new tensor-core kernel.
void rewriteGroupedMatmul(GroupedMatmulOp op, gpu::GPUModuleOp kernels,
                          StringRef name, int64_t stages, int64_t minBlocks,
                          int64_t tileM, int64_t tileN, MatrixUnit unit) {
  bool wgmma = unit == MatrixUnit::Wgmma;
  int64_t threads = 2 * tileM;
  auto rowsType = cast<RankedTensorType>(op.getRows().getType());
  auto weightsType = cast<RankedTensorType>(op.getWeights().getType());
  auto outType = cast<RankedTensorType>(op.getOut().getType());
  // With a gather index the left operand has the output's rows, x is the
  // table they are gathered from.
  int64_t m = outType.getDimSize(0), k = rowsType.getDimSize(1);
  int64_t experts = weightsType.getDimSize(0), n = weightsType.getDimSize(2);
  auto asBuffer = [](RankedTensorType type) {
    return MemRefType::get(type.getShape(), type.getElementType());
  };
  MemRefType xType = asBuffer(rowsType), wType = asBuffer(weightsType),
             offType =
                 asBuffer(cast<RankedTensorType>(op.getOffsets().getType())),
             yType = asBuffer(outType);
  // x, w, offsets[, gather index][, row scales], y.
  SmallVector<Type> argTypes = {xType, wType, offType};
  if (Value gather = op.getGather())
    argTypes.push_back(asBuffer(cast<RankedTensorType>(gather.getType())));
  if (Value scale = op.getScale())
    argTypes.push_back(asBuffer(cast<RankedTensorType>(scale.getType())));
  argTypes.push_back(yType);

  // The kernel.
  ImplicitLocOpBuilder kb =
      ImplicitLocOpBuilder::atBlockEnd(op.getLoc(), kernels.getBody());
  auto workgroup =
      gpu::AddressSpaceAttr::get(kb.getContext(), gpu::AddressSpace::Workgroup);
  Type element = rowsType.getElementType();
  SmallVector<Type> shared = {
      MemRefType::get({tileM}, kb.getI32Type(), MemRefLayoutAttrInterface(),
                      workgroup),
      MemRefType::get({tileM / 64, experts}, kb.getI32Type(),
                      MemRefLayoutAttrInterface(), workgroup)};
  auto [typeA, typeB] =
      getTileTypes(kb.getContext(), element, stages, tileM, tileN, wgmma);
  int64_t dynamicBytes = getBytes(typeA) + getBytes(typeB);
  auto kernel = gpu::GPUFuncOp::create(
      kb, name, kb.getFunctionType(argTypes, {}), shared);
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), kb.getUnitAttr());
  // Registers for `minBlocks` resident blocks per multiprocessor.
  if (unit != MatrixUnit::Mfma)
    kernel->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                    kb.getI32IntegerAttr(minBlocks));
  // Blocks for the row tiles (which clear rows in no segment) and for the
  // experts' tiles when the segments hold each row once (at most one
  // partial tile an expert); more tiles (overlapping segments) are walked.
  int64_t gridX = llvm::divideCeil(n, tileN),
          gridY =
              std::min<int64_t>(llvm::divideCeil(m, tileM) + experts, 65535);
  kernel.setKnownBlockSizeAttr(
      kb.getDenseI32ArrayAttr({static_cast<int32_t>(threads), 1, 1}));
  kernel.setKnownGridSizeAttr(kb.getDenseI32ArrayAttr(
      {static_cast<int32_t>(gridX), static_cast<int32_t>(gridY), 1}));
  kb.setInsertionPointToStart(&kernel.getBody().front());
  KernelEmitter(kb, kernel, m, k, n, experts, stages, tileM, tileN, unit,
                op.getEpilogue() == Epilogue::swiglu,
                static_cast<bool>(op.getGather()),
                static_cast<bool>(op.getScale()))
      .emit();

  // The launch.
  ImplicitLocOpBuilder b(op.getLoc(), op);
  Value xBuffer = createLaunchOperand(b, op.getRows());
  Value wBuffer = createLaunchOperand(b, op.getWeights());
  Value offBuffer = createLaunchOperand(b, op.getOffsets());
  SmallVector<Value> operands = {xBuffer, wBuffer, offBuffer};
  if (Value gather = op.getGather())
    operands.push_back(createLaunchOperand(b, gather));
  if (Value scale = op.getScale())
    operands.push_back(createLaunchOperand(b, scale));
  operands.push_back(memref::AllocOp::create(b, yType));
  createKernelLaunch(b, kernel, gridX, gridY, threads, dynamicBytes, operands);
  Value yBuffer = operands.back();
  Value result = bufferization::ToTensorOp::create(
      b, outType, yBuffer, /*restrict=*/true, /*writable=*/true);
  op.replaceAllUsesWith(result);
  op.erase();
}

struct TesseraTensorCoreGroupedMatmulPass
    : public tessera::impl::TesseraTensorCoreGroupedMatmulBase<
          TesseraTensorCoreGroupedMatmulPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<Chip> target = getChipOrError(module, getArgument(), chip);
    if (failed(target))
      return signalPassFailure();
    bool amd = target->amd;
    unsigned capability = target->capability;
    if (stages < 2 || minBlocksPerSM < 1) {
      emitError(module.getLoc(), "tessera-tensor-core-grouped-matmul: "
                                 "'stages' must be at least 2 and "
                                 "'min-blocks-per-sm' at least 1, got ")
          << static_cast<int64_t>(stages) << " and "
          << static_cast<int64_t>(minBlocksPerSM);
      return signalPassFailure();
    }
    if (tileN != 128 && tileN != 256) {
      emitError(module.getLoc(), "tessera-tensor-core-grouped-matmul: "
                                 "'tile-n' must be 128 or 256, got ")
          << static_cast<int64_t>(tileN);
      return signalPassFailure();
    }
    if (wgmmaTileM != 128 && wgmmaTileM != 192) {
      emitError(module.getLoc(), "tessera-tensor-core-grouped-matmul: "
                                 "'wgmma-tile-m' must be 128 or 192, got ")
          << static_cast<int64_t>(wgmmaTileM);
      return signalPassFailure();
    }
    // No cp.async and bf16 mma below sm_80, no MFMA on other AMD chips: the
    // generic lowering stays.
    if (amd ? !hasMfma(chip) : capability < 80)
      return;
    int64_t sharedBytes =
        amd ? kMfmaSharedBytes : getMaxSharedBytes(capability);
    auto unitOf = [&](GroupedMatmulOp op) {
      if (amd)
        return MatrixUnit::Mfma;
      return usesWgmma(op, capability, chip) ? MatrixUnit::Wgmma
                                             : MatrixUnit::MmaSync;
    };
    // Only the wgmma kernel has a warpgroup per 64 rows; the others keep
    // 128-row tiles.
    auto tileMOf = [&](GroupedMatmulOp op) {
      return unitOf(op) == MatrixUnit::Wgmma ? int64_t(wgmmaTileM) : kTileM;
    };
    auto stagesOf = [&](GroupedMatmulOp op) {
      MatrixUnit unit = unitOf(op);
      return getFittingStages(op, sharedBytes,
                              unit == MatrixUnit::Mfma ? kMfmaStages : stages,
                              tileMOf(op), tileN, unit == MatrixUnit::Wgmma);
    };
    auto why = [&](GroupedMatmulOp op) -> std::string {
      std::string reason = whyNotEligible(op);
      if (reason.empty() && !stagesOf(op))
        return "too many experts for the shared memory";
      return reason;
    };
    SmallVector<GroupedMatmulOp> ops =
        collectEligible<GroupedMatmulOp>(module, DEBUG_TYPE, why);
    if (ops.empty())
      return;
    gpu::GPUModuleOp kernels = getOrCreateKernelModule(module);
    llvm::StringMap<unsigned> next; // Kernels named <function>_mma<N>.
    for (GroupedMatmulOp op : ops) {
      std::string name = getUniqueKernelName(kernels, op, "mma", next);
      rewriteGroupedMatmul(op, kernels, name, stagesOf(op), minBlocksPerSM,
                           tileMOf(op), tileN, unitOf(op));
    }
  }
};

} // namespace
