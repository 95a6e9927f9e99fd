/**
 * `guided_choice` as an xgrammar EBNF grammar: `root ::= "yes" | "no"`. Each choice is one string literal; quotes,
 * backslashes and every character outside printable ASCII are written as escapes (\", \\, \uXXXX, \UXXXXXXXX), so
 * any text is matched exactly, byte for byte.
 */
export function choiceGrammar(choices: readonly string[]): string {
  return `root ::= ${choices.map(ebnfString).join(' | ')}`;
}

function ebnfString(text: string): string {
  let literal = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '"' || char === '\\') literal += `\\${char}`;
    else if (code >= 0x20 && code < 0x7f) literal += char;
    else if (code <= 0xffff) literal += `\\u${code.toString(16).padStart(4, '0')}`;
    else literal += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${literal}"`;
}
