// Node half of constructs_lib/_provider_import.py, preloaded into the jsii kernel through
// NODE_OPTIONS=--require once install() has checked the provider version. The provider's
// lib/index.js is ~2,100 lines of `exports.s3Bucket = require("./s3-bucket");`, about 2 s per
// synth. Each becomes a getter that requires its file on first access: jsii finds a class by
// walking those exports by name, and the assembly's jsii 5.6 compiler writes type info into each
// class, so the kernel never walks them all (it only does for jsii < 1.19 assemblies). Unless
// every `require(` in the file is such a line, the file runs unchanged.
"use strict";
const fs = require("fs");
const Module = require("module");
const path = require("path");

const PACKAGE_NAME = "@cdktf/provider-aws";
const EAGER_EXPORT = /^exports\.(\w+) = require\(("\.\/[\w-]+")\);$/gm;

function lazyExport(_line, name, file) {
  return (
    `Object.defineProperty(exports, "${name}", { configurable: true, enumerable: true, get() {` +
    ` const value = require(${file});` +
    ` Object.defineProperty(exports, "${name}", { enumerable: true, writable: true, value });` +
    " return value; } });"
  );
}

function isProviderIndex(filename) {
  if (path.basename(filename) !== "index.js" || path.basename(path.dirname(filename)) !== "lib") {
    return false;
  }
  try {
    const manifest = path.join(path.dirname(filename), "..", "package.json");
    return JSON.parse(fs.readFileSync(manifest, "utf8")).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

const compile = Module.prototype._compile;
function compileProviderIndexLazily(content, filename) {
  if (isProviderIndex(filename)) {
    const requires = content.split("require(").length - 1;
    const eager = content.match(EAGER_EXPORT) || [];
    if (eager.length > 0 && eager.length === requires) {
      content = content.replace(EAGER_EXPORT, lazyExport);
    }
  }
  return compile.call(this, content, filename);
}

// NODE_OPTIONS reaches child processes too; the stock switch must win there as well.
if (process.env.PIPELINE_STOCK_PROVIDER_IMPORT !== "1") {
  Module.prototype._compile = compileProviderIndexLazily;
}
