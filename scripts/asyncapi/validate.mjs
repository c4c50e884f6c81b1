// Checks an AsyncAPI document with the official parser (@asyncapi/parser, pinned in
// package-lock.json). Prints one JSON line {"errors": [...], "warnings": [...]} and exits 1
// when the parser reports an error or returns no document.
//   node scripts/asyncapi/validate.mjs protocol/asyncapi.json
import { readFileSync } from "node:fs";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const path = process.argv[2];
const source = readFileSync(path, "utf8");
const { document, diagnostics } = await new Parser().parse(source, { source: path });
const describe = (d) => ({ code: d.code, path: d.path.join("."), message: d.message });
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).map(describe);
const warnings = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Warning).map(describe);
console.log(JSON.stringify({ errors, warnings, parsed: document !== undefined }));
process.exit(errors.length === 0 && document !== undefined ? 0 : 1);
