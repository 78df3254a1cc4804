//===- TesseraEnums.td - Tessera enum attributes -----------*- tablegen -*-===//
//
// Part of the Tessera project.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_DIALECT_TESSERA_IR_TESSERAENUMS_TD
#define TESSERA_DIALECT_TESSERA_IR_TESSERAENUMS_TD

include "mlir/IR/EnumAttr.td"
include "tessera/Dialect/Tessera/IR/TesseraDialect.td"

def Tessera_ScoringSoftmax : I32EnumAttrCase<"softmax", 0>;
def Tessera_ScoringSigmoid : I32EnumAttrCase<"sigmoid", 1>;
def Tessera_Scoring : I32EnumAttr<"Scoring",
    "how router logits become expert scores",
    [Tessera_ScoringSoftmax, Tessera_ScoringSigmoid]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::tessera";
}
def Tessera_ScoringAttr : EnumAttr<Tessera_Dialect, Tessera_Scoring, "scoring"> {
  let assemblyFormat = "`<` $value `>`";
}

def Tessera_EpilogueNone : I32EnumAttrCase<"none", 0>;
def Tessera_EpilogueSwiGLU : I32EnumAttrCase<"swiglu", 1>;
def Tessera_Epilogue : I32EnumAttr<"Epilogue",
    "element-wise epilogue fused into a grouped matmul",
    [Tessera_EpilogueNone, Tessera_EpilogueSwiGLU]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::tessera";
}
def Tessera_EpilogueAttr : EnumAttr<Tessera_Dialect, Tessera_Epilogue, "epilogue"> {
  let assemblyFormat = "`<` $value `>`";
}

#endif // TESSERA_DIALECT_TESSERA_IR_TESSERAENUMS_TD
