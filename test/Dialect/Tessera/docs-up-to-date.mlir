// The committed ODS-generated documentation must match the TableGen sources.
// When this fails, run `ninja -C build tessera-doc` and commit docs/generated.
// RUN: diff %tessera_obj_root/docs/Tessera/TesseraDialect.md %tessera_src_root/docs/generated/TesseraDialect.md
// RUN: diff %tessera_obj_root/docs/Tessera/TesseraPasses.md %tessera_src_root/docs/generated/TesseraPasses.md
