import { fieldProblem, LineProblem } from './errors';
import { CHAT_ROLES, type ChatMessage, type ChatRole, type InputWarning } from './request';
import { isPlainObject } from './safeJson';
import { unknownFieldProblem } from './unknownField';

const MESSAGE_KEYS = ['role', 'content'];

/** Roles other tools accept that Qwen3's chat template would silently drop, with what to use instead. */
const ROLE_HINTS: Record<string, string> = {
  developer: 'system',
  human: 'user',
  model: 'assistant',
  bot: 'assistant',
  function: 'tool',
};

/**
 * Validates a chat `messages` array. Unknown roles are errors because Qwen3's chat template skips
 * messages with a role it does not know, without any error. An empty content is valid (a chat can
 * legitimately send an empty user turn) but is reported as an `empty_content` warning.
 */
export function checkMessages(value: unknown, field: string, warnings: InputWarning[]): ChatMessage[] {
  if (!Array.isArray(value)) throw fieldProblem(field, 'must be an array of {"role", "content"} objects', value);
  if (value.length === 0) throw new LineProblem('empty_messages', `field "${field}" is an empty array; it needs at least one message`, field);
  return value.map((message, i) => checkMessage(message, `${field}[${i}]`, warnings));
}

function checkMessage(message: unknown, field: string, warnings: InputWarning[]): ChatMessage {
  if (!isPlainObject(message)) throw fieldProblem(field, 'must be an object {"role", "content"}', message);
  for (const key of Object.keys(message)) {
    if (!MESSAGE_KEYS.includes(key)) throw unknownFieldProblem(key, field, MESSAGE_KEYS);
  }
  if (!Object.hasOwn(message, 'role')) throw new LineProblem('missing_field', `field "${field}.role" is missing`, `${field}.role`);
  if (!Object.hasOwn(message, 'content')) throw new LineProblem('missing_field', `field "${field}.content" is missing`, `${field}.content`);
  const role = checkRole(message.role, `${field}.role`);
  const content = message.content;
  if (typeof content !== 'string') {
    const hint = Array.isArray(content) ? ' (content-part arrays are not supported)' : '';
    throw fieldProblem(`${field}.content`, `must be a string${hint}`, content);
  }
  if (content === '') {
    warnings.push({ code: 'empty_content', field: `${field}.content`, message: `field "${field}.content" is an empty string` });
  }
  return { role, content };
}

function checkRole(role: unknown, field: string): ChatRole {
  if (typeof role !== 'string') throw fieldProblem(field, `must be one of ${quotedRoles()}`, role);
  if ((CHAT_ROLES as readonly string[]).includes(role)) return role as ChatRole;
  const hint = ROLE_HINTS[role.toLowerCase()] ?? CHAT_ROLES.find((known) => known === role.toLowerCase());
  const suggestion = hint ? ` (use "${hint}")` : '';
  throw fieldProblem(field, `must be one of ${quotedRoles()}${suggestion}`, role, 'unknown_role');
}

function quotedRoles(): string {
  return CHAT_ROLES.map((role) => `"${role}"`).join(', ');
}
