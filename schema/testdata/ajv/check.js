// check.js compiles JSON Schemas with Ajv (draft 2020-12, strict mode, the
// standard formats of ajv-formats asserted) and validates JSON documents
// with them: an independent validator for runplan's schemas, run by
// schema/ajv_test.go. One process does a whole job.
//
// Usage: node check.js JOB.json
//
// JOB is {"schemas": {"NAME": "schema.json", ...},
//         "documents": [{"schema": "NAME", "path": "doc.json"}, ...]}
// (paths relative to the working directory). The result, on stdout, is
// {"schemas": {"NAME": "" or the compile error},
//  "documents": [{"schema", "path", "errors": [...]}]}, a document's
// errors empty when it is valid. The exit status is 0 when the job ran,
// whatever it found, and 2 when it could not (bad job, missing file).
"use strict";

const fs = require("fs");

let Ajv2020, addFormats;
try {
  Ajv2020 = require("ajv/dist/2020");
  addFormats = require("ajv-formats");
} catch (e) {
  process.stderr.write("check.js: " + e.message + "\nrun ./test.sh (it runs npm ci in schema/testdata/ajv)\n");
  process.exit(2);
}

function readJSON(path) {
  return JSON.parse(fs.readFileSync(path, "utf8"));
}

function main(argv) {
  if (argv.length !== 1) {
    process.stderr.write("usage: node check.js JOB.json\n");
    return 2;
  }
  const job = readJSON(argv[0]);
  const out = { schemas: {}, documents: [] };
  const validators = {};
  for (const [name, path] of Object.entries(job.schemas || {})) {
    // An instance per schema: two documents may share an $id (the report
    // schema and the report schema with step metrics declared).
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(ajv);
    try {
      validators[name] = ajv.compile(readJSON(path));
      out.schemas[name] = "";
    } catch (e) {
      out.schemas[name] = e.message;
    }
  }
  for (const d of job.documents || []) {
    const validate = validators[d.schema];
    let errors;
    if (!validate) {
      errors = ["schema " + d.schema + " did not compile"];
    } else if (validate(readJSON(d.path))) {
      errors = [];
    } else {
      errors = validate.errors.map((e) => (e.instancePath || "/") + " " + e.message +
        (e.params && Object.keys(e.params).length ? " " + JSON.stringify(e.params) : ""));
    }
    out.documents.push({ schema: d.schema, path: d.path, errors: errors });
  }
  process.stdout.write(JSON.stringify(out) + "\n");
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  process.stderr.write("check.js: " + e.message + "\n");
  process.exitCode = 2;
}
