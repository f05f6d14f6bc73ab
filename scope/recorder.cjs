// Verdict's impact recorder for Node: which tests ran which functions (the JavaScript side of scope/recorder.py).
//
// Load it with `node --require .verdict/verdict-impact.cjs …` (Mocha: `--require`, which also takes its
// root hooks) and set VERDICT_IMPACT_OUT to the JSON file to write when the process exits; without it this
// file does nothing. It asks V8 for precise function call counts through the inspector (no instrumentation,
// no transpiling) and takes them — which also resets them — around every test:
//
// - under Mocha, its root `beforeEach`/`afterEach` hooks attribute what ran during each test to that test
//   (file and full title); what ran before the first test or between tests (loading, `before` hooks) is
//   `import_time`: a change there stays with the import graph;
// - anywhere else (one process per test file, as tape runs), everything the process ran belongs to the
//   test file named by VERDICT_IMPACT_TEST.
//
// Functions are keyed by their start offset in the file as V8 compiled it; `spans` lists every function
// seen ([start, end]) and `lengths` the compiled text's length, so a file a loader rewrote (TypeScript,
// Babel) is recognised by its length and never narrowed. Tests that start processes or worker threads are
// `spawners` (their code there is not seen). The JSON has the shape scope.impact reads (format 1).
'use strict';

const OUT = process.env.VERDICT_IMPACT_OUT;
const FORMAT = 1;

function startRecorder() {
  const fs = require('fs');
  const path = require('path');
  const inspector = require('inspector');
  const root = fs.realpathSync(process.cwd());
  const session = new inspector.Session();
  session.connect();
  const post = (method, params) => {
    let result;
    session.post(method, params || {}, (error, value) => {
      if (error) throw error;
      result = value;
    });
    return result;
  };
  post('Profiler.enable');
  post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });

  const tests = [];
  const testIndex = new Map();
  const items = {};
  const executed = {};
  const importTime = {};
  const spans = {};
  const lengths = {};
  const spawners = new Set();
  const outcomes = {};
  let spawned = false;
  let sawMocha = false;
  const relative = new Map();

  function keyOf(url) {
    if (relative.has(url)) return relative.get(url);
    let key = null;
    if (url.startsWith('file://')) {
      try {
        const file = fs.realpathSync(require('url').fileURLToPath(url));
        const rel = path.relative(root, file).split(path.sep).join('/');
        if (rel && !rel.startsWith('..') && !rel.split('/').some((p) => p === 'node_modules' || p === '.verdict')) {
          key = rel;
        }
      } catch (error) {
        key = null;
      }
    }
    relative.set(url, key);
    return key;
  }

  function take(sink) {
    const { result } = post('Profiler.takePreciseCoverage');
    for (const script of result) {
      const key = keyOf(script.url);
      if (key === null) continue;
      script.functions.forEach((fn, i) => {
        const range = fn.ranges[0];
        if (i === 0 && fn.functionName === '' && range.startOffset === 0) {
          lengths[key] = range.endOffset; // the module's top level: its extent is the compiled text's length
        } else {
          const known = spans[key] || (spans[key] = new Map());
          known.set(range.startOffset, range.endOffset);
        }
        if (range.count > 0 && !(i === 0 && range.startOffset === 0)) sink(key, range.startOffset);
      });
    }
  }

  function indexOf(file, name) {
    const id = `${file}\u0000${name}`;
    if (!testIndex.has(id)) {
      testIndex.set(id, tests.length);
      tests.push([file, name]);
      items[file] = (items[file] || 0) + 1;
    }
    return testIndex.get(id);
  }

  const toImportTime = (key, start) => {
    (importTime[key] || (importTime[key] = new Set())).add(start);
  };
  const toTest = (index) => (key, start) => {
    const lines = executed[key] || (executed[key] = {});
    (lines[start] || (lines[start] = new Set())).add(index);
  };

  for (const [module, names] of [['child_process', ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile',
    'execFileSync', 'fork']], ['worker_threads', ['Worker']], ['cluster', ['fork']]]) {
    let target;
    try {
      target = require(module);
    } catch (error) {
      continue;
    }
    for (const name of names) {
      const original = target[name];
      if (typeof original !== 'function') continue;
      const wrapped = name === 'Worker'
        ? class extends original { constructor(...args) { spawned = true; super(...args); } }
        : function (...args) { spawned = true; return original.apply(this, args); };
      try {
        target[name] = wrapped;
      } catch (error) {
        // a frozen export: leave it, and the test is simply not marked
      }
    }
  }

  function currentTestName(context) {
    const test = context && context.currentTest;
    if (!test) return null;
    const file = test.file ? path.relative(root, test.file).split(path.sep).join('/') : '(unknown)';
    return [file, test.fullTitle()];
  }

  const hooks = {
    beforeEach() {
      sawMocha = true;
      take(toImportTime);
      spawned = false;
    },
    afterEach() {
      const name = currentTestName(this);
      if (!name) return;
      const index = indexOf(name[0], name[1]);
      take(toTest(index));
      if (spawned) spawners.add(index);
      const state = this.currentTest.state;
      outcomes[`${name[0]}::${name[1]}`] = state === 'failed' ? 'failed' : state === 'passed' ? 'passed' : 'skipped';
    },
  };

  function write() {
    const single = process.env.VERDICT_IMPACT_TEST;
    if (!sawMocha && single) {
      const index = indexOf(single, '');
      take(toTest(index));
      if (spawned) spawners.add(index);
    } else {
      take(toImportTime);
    }
    const sets = (object) => Object.fromEntries(Object.entries(object).map(([k, v]) => [k, [...v].sort((a, b) => a - b)]));
    const report = {
      format: FORMAT,
      traced: true,
      language: 'js',
      node: process.version,
      tests,
      items,
      partial: [],
      executed: Object.fromEntries(Object.entries(executed).map(([k, lines]) => [k, sets(lines)])),
      import_time: sets(importTime),
      spans: Object.fromEntries(Object.entries(spans).map(([k, m]) => [k, [...m.entries()].sort((a, b) => a[0] - b[0])])),
      lengths,
      spawners: [...spawners].sort((a, b) => a - b),
      untracked: [],
      outcomes,
      collect_errors: [],
      preloaded: [],
    };
    const out = path.resolve(root, OUT);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(`${out}.tmp`, JSON.stringify(report));
    fs.renameSync(`${out}.tmp`, out);
  }

  process.on('exit', () => {
    try {
      write();
    } catch (error) {
      process.stderr.write(`verdict: could not write the impact data to ${OUT}: ${error}\n`);
    }
  });
  return hooks;
}

const hooks = OUT ? startRecorder() : {};
exports.mochaHooks = OUT ? { beforeEach: hooks.beforeEach, afterEach: hooks.afterEach } : {};
