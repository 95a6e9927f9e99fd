import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import type * as Xgrammar from '@mlc-ai/web-xgrammar';

export type XgrammarLibrary = typeof Xgrammar;

/**
 * One WebAssembly instance of xgrammar (`@mlc-ai/web-xgrammar`, its JavaScript build).
 *
 * Why it is loaded by hand: the package's package.json says `"type": "module"`, but `lib/index.js` is a UMD bundle (an
 * Emscripten module with the WebAssembly inlined), so Node refuses both `import` ("require is not defined in ES module
 * scope") and `require` (ERR_REQUIRE_ESM). Compiled as a CommonJS module from its own path it works, and every
 * compilation is a fresh, independent instance.
 *
 * Why instances are disposable: xgrammar reports bad input (an invalid schema, regex or grammar) by aborting — it prints
 * "[FATAL] file:line: message" and throws `Aborted()` — and the aborted call leaves that instance's stack unbalanced: a few
 * dozen such errors later it fails with "memory access out of bounds" (measured). So an instance that aborted is marked
 * `broken`, and its owner replaces it.
 *
 * What the instance prints (warnings, the fatal message) must never reach stdout, where the JSONL goes: the bundle is
 * compiled with a `console` of its own (one declaration put before its source), whose lines are kept here.
 */
export class XgrammarInstance {
  /** Lines the instance printed since the last `guard` began. */
  private printed: string[] = [];
  broken = false;
  readonly lib: XgrammarLibrary;

  private constructor() {
    const print = (...args: unknown[]) => void this.printed.push(args.map(String).join(' '));
    this.lib = evaluateBundle({ log: print, error: print, warn: print, info: print, debug: print });
  }

  /** A fresh instance, started (its WebAssembly compiled and running). */
  static async create(): Promise<XgrammarInstance> {
    const instance = new XgrammarInstance();
    await instance.guard(() => instance.lib.Testings.ebnfToGrammarNoNormalization('root ::= "a"'));
    return instance;
  }

  /**
   * Runs xgrammar calls. An abort becomes an XgrammarError with xgrammar's own message ("Regex parsing error at position
   * 4: Unclosed '['") and marks the instance broken.
   */
  async guard<T>(call: () => T | Promise<T>): Promise<T> {
    if (this.broken) throw new Error('xgrammar instance used after it aborted');
    this.printed = [];
    try {
      return await call();
    } catch (error) {
      this.broken = true;
      const fatal = this.printed.find((line) => line.startsWith('[FATAL]'));
      throw new XgrammarError(fatal ? fatalMessage(fatal) : error instanceof Error ? error.message : String(error));
    }
  }
}

/** xgrammar refused its input; the message is xgrammar's, without its source location. */
export class XgrammarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XgrammarError';
  }
}

/** "[FATAL] /path/json_schema_converter.cc:902: Unsupported type "objec"" → "Unsupported type "objec"". */
function fatalMessage(line: string): string {
  return line.replace(/^\[FATAL\]\s+\S+:\d+:\s*/, '').replace(/^Check failed: \(.*?\) is false:\s*/, '').trim();
}

let bundle: { file: string; source: string } | null = null;

type Console = Record<'log' | 'error' | 'warn' | 'info' | 'debug', (...args: unknown[]) => void>;

function evaluateBundle(console: Console): XgrammarLibrary {
  if (!bundle) {
    const file = require.resolve('@mlc-ai/web-xgrammar/lib/index.js');
    bundle = { file, source: fs.readFileSync(file, 'utf8') };
  }
  const compiled = new Module(bundle.file, module) as Module & { _compile(source: string, filename: string): void; xgrammarConsole?: Console };
  compiled.filename = bundle.file;
  compiled.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(bundle.file));
  compiled.xgrammarConsole = console;
  // On the first line, so the bundle's own line numbers only shift by one.
  compiled._compile(`var console = module.xgrammarConsole; ${bundle.source}`, bundle.file);
  return compiled.exports as XgrammarLibrary;
}
