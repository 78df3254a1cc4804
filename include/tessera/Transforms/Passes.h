//===- Passes.h - Tessera transformation passes -----------------*- C++ -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_TRANSFORMS_PASSES_H
#define TESSERA_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;

namespace tessera {

#define GEN_PASS_DECL
#include "tessera/Transforms/Passes.h.inc"

/// Reference lowering of `tessera.attention` and `tessera.latent_attention`
/// to linalg on tensors (lib/Transforms/AttentionToLinalg.cpp).
void populateTesseraAttentionToLinalgPatterns(RewritePatternSet &patterns);

/// Reference lowering of `tessera.route`, `dispatch`, `grouped_matmul` and
/// `combine` to linalg/scf on tensors (lib/Transforms/MoEToLinalg.cpp).
void populateTesseraMoEToLinalgPatterns(RewritePatternSet &patterns);

/// Rewrites `tessera.moe` into route, dispatch, grouped_matmul and combine
/// (lib/Transforms/DecomposeMoE.cpp). Layers without a static number of
/// experts are left alone.
void populateTesseraDecomposeMoEPatterns(RewritePatternSet &patterns);

/// Flash-attention tiling of `tessera.attention` and
/// `tessera.latent_attention` (lib/Transforms/TileAttention.cpp).
void populateTesseraTileAttentionPatterns(RewritePatternSet &patterns,
                                          int64_t queryBlock, int64_t kvBlock,
                                          bool prefetch = false);

/// `tessera.route` as one fused pass per token (lib/Transforms/FuseRoute.cpp).
void populateTesseraFuseRoutePatterns(RewritePatternSet &patterns);

/// Gathered rows and routing-weight scaling folded into the grouped GEMMs
/// of a decomposed MoE layer (lib/Transforms/FuseMoE.cpp).
void populateTesseraFuseMoEPatterns(RewritePatternSet &patterns,
                                    bool gatherRows, bool scaleRows);

/// Cache-blocked tiling of `tessera.grouped_matmul`
/// (lib/Transforms/TileGroupedMatmul.cpp).
void populateTesseraTileGroupedMatmulPatterns(RewritePatternSet &patterns,
                                              int64_t columnBlock,
                                              int64_t kBlock, int64_t rowBlock,
                                              bool bf16Dot = false,
                                              bool prefetch = false);

/// `tessera.grouped_matmul` as a gathering contraction with a static
/// iteration space (lib/Transforms/GatherGroupedMatmul.cpp).
void populateTesseraGatherGroupedMatmulPatterns(RewritePatternSet &patterns);

/// `tessera.dispatch` and `tessera.combine` without sequential scatter
/// loops (lib/Transforms/ParallelScatter.cpp); `chunk` 0 picks the chunk
/// size from the number of pairs.
void populateTesseraParallelScatterPatterns(RewritePatternSet &patterns,
                                            int64_t chunk = 0);

class MoEOp;
/// Reports why `op` cannot be decomposed (its number of experts is dynamic).
InFlightDiagnostic emitNotDecomposableError(MoEOp op);

#define GEN_PASS_REGISTRATION
#include "tessera/Transforms/Passes.h.inc"

} // namespace tessera
} // namespace mlir

#endif // TESSERA_TRANSFORMS_PASSES_H
