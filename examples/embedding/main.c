/* main.c - An application that embeds Tessera through the C API: compiles
 * the same attention to an object file in memory. */

#include "tessera-c/Compiler.h"

#include <stdio.h>
#include <string.h>

static const char *kSource =
    "func.func @attn(%q: tensor<1x2x3x4xf32>, %k: tensor<1x1x9x4xf32>,\n"
    "                %v: tensor<1x1x9x4xf32>) -> tensor<1x2x3x4xf32> {\n"
    "  %o = tessera.attention %q, %k, %v\n"
    "      : (tensor<1x2x3x4xf32>, tensor<1x1x9x4xf32>, tensor<1x1x9x4xf32>)\n"
    "      -> tensor<1x2x3x4xf32>\n"
    "  return %o : tensor<1x2x3x4xf32>\n"
    "}\n";

int main(void) {
  TesseraCompilerOptions options = tesseraCompilerOptionsCreate();
  TesseraCompiler compiler = tesseraCompilerCreate(options);
  tesseraCompilerOptionsDestroy(options);
  MlirModule module =
      tesseraCompilerParse(compiler, mlirStringRefCreateFromCString(kSource),
                           mlirStringRefCreateFromCString("attn.mlir"));
  if (mlirModuleIsNull(module))
    return 1;
  TesseraArtifact object = tesseraCompilerCompile(compiler, module);
  if (tesseraArtifactIsNull(object))
    return 1;
  MlirStringRef bytes = tesseraArtifactGetBytes(object);
  printf("C API: object of %s\n",
         bytes.length > 4 && memcmp(bytes.data, "\177ELF", 4) == 0
             ? "ELF"
             : "unknown format");
  tesseraArtifactDestroy(object);
  mlirModuleDestroy(module);
  tesseraCompilerDestroy(compiler);
  return 0;
}
