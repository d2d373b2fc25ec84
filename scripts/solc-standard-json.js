#!/usr/bin/env node
/*
 * A native-solc look-alike over the npm `solc` package (solcjs, wasm), for tools that
 * expect a `solc` binary: py-solc-x (`compile_standard`), forge (`solc = ...` / `--use`)
 * and crytic-compile/slither.
 *
 * Answers:
 *   --version                      "Version: X.Y.Z+commit..." like native solc
 *   --standard-json [FILE]         Standard JSON on stdin (or FILE) -> Standard JSON on stdout
 *   --combined-json abi,bin,...    legacy combined JSON for source files given as arguments
 * Accepts and uses --base-path, --include-path, --allow-paths (imports are read from the
 * base path, the include paths, the current directory, or as absolute paths) and ignores
 * other flags native solc tools pass (e.g. --optimize with --combined-json is honoured).
 * No network access: the wasm compiler ships in node_modules.
 */
'use strict';

const fs = require('fs');
const path = require('path');

function loadSolc() {
  const candidates = [
    path.join(__dirname, '..', 'node_modules', 'solc'),
    'solc',
  ];
  for (const c of candidates) {
    try {
      return require(c);
    } catch (e) {
      // try next
    }
  }
  process.stderr.write('solc-standard-json: npm package "solc" not found\n');
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { basePath: null, includePaths: [], allowPaths: [], positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const takeValue = () => {
      if (a.includes('=')) return a.slice(a.indexOf('=') + 1);
      i += 1;
      return argv[i];
    };
    if (a === '--version' || a === '-v') opts.version = true;
    else if (a === '--standard-json') opts.standardJson = true;
    else if (a.startsWith('--combined-json')) opts.combinedJson = takeValue();
    else if (a.startsWith('--base-path')) opts.basePath = takeValue();
    else if (a.startsWith('--include-path')) opts.includePaths.push(takeValue());
    else if (a.startsWith('--allow-paths')) opts.allowPaths.push(...takeValue().split(','));
    else if (a === '--optimize') opts.optimize = true;
    else if (a.startsWith('--optimize-runs')) opts.optimizeRuns = parseInt(takeValue(), 10);
    else if (a.startsWith('--evm-version')) opts.evmVersion = takeValue();
    else if (a === '--via-ir') opts.viaIR = true;
    else if (a.startsWith('--')) {
      // flags without a value we do not model (e.g. --no-color, --pretty-json)
    } else if (a.includes('=') && !fs.existsSync(a)) {
      // a remapping (prefix=target) given on the command line
      opts.remappings = opts.remappings || [];
      opts.remappings.push(a);
    } else opts.positional.push(a);
  }
  return opts;
}

function makeImportCallback(opts) {
  const roots = [];
  if (opts.basePath) roots.push(path.resolve(opts.basePath));
  for (const p of opts.includePaths) roots.push(path.resolve(p));
  roots.push(process.cwd());
  return function findImports(importPath) {
    const tries = path.isAbsolute(importPath)
      ? [importPath]
      : roots.map((r) => path.join(r, importPath));
    for (const t of tries) {
      try {
        return { contents: fs.readFileSync(t, 'utf8') };
      } catch (e) {
        // try next root
      }
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(', ')})` };
  };
}

function readStdin() {
  return fs.readFileSync(0, 'utf8');
}

function main() {
  const solc = loadSolc();
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    process.stdout.write(
      'solc, the solidity compiler commandline interface\nVersion: ' + solc.version() + '\n'
    );
    return;
  }
  const findImports = makeImportCallback(opts);
  if (opts.standardJson) {
    const input = opts.positional.length ? fs.readFileSync(opts.positional[0], 'utf8') : readStdin();
    process.stdout.write(solc.compile(input, { import: findImports }));
    return;
  }
  if (opts.combinedJson) {
    combined(solc, opts, findImports);
    return;
  }
  process.stderr.write(
    'usage: solc-standard-json.js --version | --standard-json [FILE] | --combined-json KEYS FILES\n'
  );
  process.exit(2);
}

function combined(solc, opts, findImports) {
  // Translate a legacy --combined-json call into standard JSON and back.
  const sources = {};
  for (const f of opts.positional) sources[f] = { content: fs.readFileSync(f, 'utf8') };
  const keys = opts.combinedJson.split(',');
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      optimizer: { enabled: !!opts.optimize, runs: opts.optimizeRuns || 200 },
      outputSelection: {
        '*': {
          '*': ['abi', 'evm.bytecode', 'evm.deployedBytecode', 'userdoc', 'devdoc', 'metadata'],
          '': ['ast'],
        },
      },
      remappings: opts.remappings || [],
    },
  };
  if (opts.evmVersion) input.settings.evmVersion = opts.evmVersion;
  if (opts.viaIR) input.settings.viaIR = true;
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (out.errors || []).filter((e) => e.severity === 'error');
  if (errors.length) {
    for (const e of errors) process.stderr.write((e.formattedMessage || e.message) + '\n');
    process.exit(1);
  }
  const result = { contracts: {}, sources: {}, version: solc.version() };
  for (const [file, contracts] of Object.entries(out.contracts || {})) {
    for (const [name, c] of Object.entries(contracts)) {
      const entry = {};
      if (keys.includes('abi')) entry.abi = c.abi;
      if (keys.includes('bin')) entry.bin = c.evm.bytecode.object;
      if (keys.includes('bin-runtime')) entry['bin-runtime'] = c.evm.deployedBytecode.object;
      if (keys.includes('srcmap')) entry.srcmap = c.evm.bytecode.sourceMap;
      if (keys.includes('srcmap-runtime')) entry['srcmap-runtime'] = c.evm.deployedBytecode.sourceMap;
      if (keys.includes('userdoc')) entry.userdoc = c.userdoc;
      if (keys.includes('devdoc')) entry.devdoc = c.devdoc;
      if (keys.includes('metadata')) entry.metadata = c.metadata;
      if (keys.includes('hashes')) entry.hashes = (c.evm.methodIdentifiers || {});
      result.contracts[`${file}:${name}`] = entry;
    }
  }
  for (const [file, s] of Object.entries(out.sources || {})) {
    result.sources[file] = { AST: s.ast, id: s.id };
  }
  result.sourceList = Object.keys(out.sources || {});
  process.stdout.write(JSON.stringify(result));
}

main();
