import { LineProblem } from './errors';

/**
 * Keys refused anywhere in a line. JSON.parse itself stores "__proto__" as a plain own property, but
 * any later Object.assign / merge of such an object would rewrite a prototype, so these keys never get
 * past validation.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const MAX_PARSER_MESSAGE_CHARS = 160;

/** JSON.parse with an `invalid_json` LineProblem (and a readable reason) on failure. */
export function parseJsonLine(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const shown = reason.length > MAX_PARSER_MESSAGE_CHARS ? `${reason.slice(0, MAX_PARSER_MESSAGE_CHARS)}…` : reason;
    throw new LineProblem('invalid_json', `not valid JSON (${shown})`);
  }
}

interface WalkNode {
  value: unknown;
  parent?: WalkNode;
  /** Property name, or array index. */
  key?: string | number;
}

/** Path of the first forbidden key found anywhere in `value` (e.g. "metadata.__proto__"), or undefined. */
export function findForbiddenKey(value: unknown): string | undefined {
  // Iterative on purpose: a deeply nested line must not overflow the call stack. Paths are built only
  // for the key that is found.
  const stack: WalkNode[] = [{ value }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const current = node.value;
    if (current === null || typeof current !== 'object') continue;
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], parent: node, key: i });
      continue;
    }
    const keys = Object.keys(current);
    const forbidden = keys.find((key) => FORBIDDEN_KEYS.has(key));
    if (forbidden !== undefined) return pathOf({ value: undefined, parent: node, key: forbidden });
    for (let i = keys.length - 1; i >= 0; i--) {
      stack.push({ value: (current as Record<string, unknown>)[keys[i]], parent: node, key: keys[i] });
    }
  }
  return undefined;
}

function pathOf(node: WalkNode): string {
  const parts: string[] = [];
  for (let at: WalkNode | undefined = node; at?.key !== undefined; at = at.parent) {
    parts.push(typeof at.key === 'number' ? `[${at.key}]` : `.${at.key}`);
  }
  return parts.reverse().join('').replace(/^\./, '');
}

export function joinPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
