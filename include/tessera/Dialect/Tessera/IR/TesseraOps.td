//===- TesseraOps.td - Tessera operations ------------------*- tablegen -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_DIALECT_TESSERA_IR_TESSERAOPS_TD
#define TESSERA_DIALECT_TESSERA_IR_TESSERAOPS_TD

include "tessera/Dialect/Tessera/IR/TesseraDialect.td"
include "tessera/Dialect/Tessera/IR/TesseraEnums.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/OpBase.td"

class Tessera_Op<string mnemonic, list<Trait> traits = []>
    : Op<Tessera_Dialect, mnemonic, !listconcat(traits, [Pure])> {
  let hasVerifier = 1;
}

// Element types the ops compute on; reductions accumulate in f32.
def Tessera_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;
def Tessera_I32Tensor : RankedTensorOf<[I32]>;
def Tessera_F32Tensor : RankedTensorOf<[F32]>;

include "tessera/Dialect/Tessera/IR/AttentionOps.td"
include "tessera/Dialect/Tessera/IR/MoEOps.td"

#endif // TESSERA_DIALECT_TESSERA_IR_TESSERAOPS_TD
