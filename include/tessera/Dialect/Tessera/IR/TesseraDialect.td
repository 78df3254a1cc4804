//===- TesseraDialect.td - Tessera dialect definition ------*- tablegen -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_DIALECT_TESSERA_IR_TESSERADIALECT_TD
#define TESSERA_DIALECT_TESSERA_IR_TESSERADIALECT_TD

include "mlir/IR/OpBase.td"

def Tessera_Dialect : Dialect {
  let name = "tessera";
  let summary = "Attention and mixture-of-experts operators for LLM compilers";
  let description = [{
    The `tessera` dialect states the two operators that dominate the cost of
    large language models at the level a model author thinks in: scaled
    dot-product attention (with GQA, causal and sliding-window masks, softcap,
    additive bias and per-sequence KV lengths), DeepSeek's multi-head latent
    attention in its absorbed form, and the mixture-of-experts pipeline of
    routing, dispatch, grouped expert GEMMs and combine.

    All ops work on ranked tensors with static or dynamic dimensions and
    f32, f16 or bf16 elements; reductions are computed in f32. Every op has a
    reference lowering to `linalg` (`convert-tessera-to-linalg`) that serves as
    the oracle for optimized code paths.
  }];
  let cppNamespace = "::mlir::tessera";
  let useDefaultAttributePrinterParser = 1;
}

#endif // TESSERA_DIALECT_TESSERA_IR_TESSERADIALECT_TD
