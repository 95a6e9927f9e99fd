import type { CompiledGrammar, GrammarCompiler } from '@mlc-ai/web-xgrammar';
import { Constraint, constraintKey } from '../params/constraintParams';
import { choiceGrammar } from './choiceGrammar';
import { GrammarVocabulary } from './grammarVocabulary';
import { StructuredStats } from './structuredStats';
import { XgrammarError, XgrammarInstance } from './xgrammarLoader';

/** A constraint compiled against the model's tokenizer: rows make their matchers from it (in its instance). */
export interface CompiledConstraint {
  key: string;
  kind: Constraint['kind'];
  grammar: CompiledGrammar;
  instance: XgrammarInstance;
}

interface Workshop {
  instance: XgrammarInstance;
  compiler: GrammarCompiler;
}

async function openWorkshop(vocabulary: GrammarVocabulary, vocabSize: number, stopTokenIds: readonly number[]): Promise<Workshop> {
  const instance = await XgrammarInstance.create();
  const { TokenizerInfo, GrammarCompiler } = instance.lib;
  const compiler = await instance.guard(async () => {
    const info = await TokenizerInfo.createTokenizerInfo(vocabulary.encodedVocab, vocabulary.vocabType, vocabulary.prependSpace, vocabSize, [...stopTokenIds]);
    return GrammarCompiler.createGrammarCompiler(info);
  });
  return { instance, compiler };
}

/**
 * How each kind becomes a grammar. JSON (a schema, or any object for `json_object`) is on one line with Python's
 * json.dumps separators (`, ` and `: `) unless `anyWhitespace`: a small model cannot fill max_tokens with newlines inside
 * an object. Schemas are compiled in xgrammar's strict mode (its default, as in vLLM): properties and items the schema
 * does not name are not generated; `json_object` allows any properties. A regex goes through a structural tag (the
 * JavaScript build has no compileRegex); a choice is an EBNF alternation of literals.
 */
function compileOn(compiler: GrammarCompiler, constraint: Constraint): Promise<CompiledGrammar> {
  switch (constraint.kind) {
    case 'json_schema':
      return compiler.compileJSONSchema(JSON.stringify(constraint.schema), constraint.anyWhitespace, -1, undefined, true);
    case 'json_object':
      return compiler.compileJSONSchema('{"type": "object"}', constraint.anyWhitespace, -1, undefined, false);
    case 'regex':
      return compiler.compileStructuralTag({ type: 'structural_tag', format: { type: 'regex', pattern: constraint.pattern } });
    case 'choice':
      return compiler.compileGrammar(choiceGrammar(constraint.choices));
    case 'grammar':
      return compiler.compileGrammar(constraint.grammar, 'root');
  }
}

/** A stand-in vocabulary for checking: printable ASCII, one character per token, and a stop token. */
const CHECK_VOCABULARY: GrammarVocabulary = {
  encodedVocab: [...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)), ''],
  vocabType: 'raw',
  prependSpace: false,
};
const CHECK_STOP_ID = 95;

/**
 * Checks constraints before any model is loaded (the input's validation, `--dry-run`, and the CLI's run-wide defaults):
 * compiles each distinct constraint in an instance of its own with a stand-in vocabulary — what xgrammar refuses (a
 * schema, regex or grammar it cannot read) does not depend on the vocabulary. An instance that refused something is
 * broken (see XgrammarInstance) and replaced for the next check.
 */
export class ConstraintChecker {
  private workshop: Workshop | null = null;
  private readonly verdicts = new Map<string, string | null>();

  /** null when xgrammar compiles it, else xgrammar's message. */
  async check(constraint: Constraint): Promise<string | null> {
    const key = constraintKey(constraint);
    if (!this.verdicts.has(key)) this.verdicts.set(key, await this.compile(constraint));
    return this.verdicts.get(key)!;
  }

  private async compile(constraint: Constraint): Promise<string | null> {
    if (!this.workshop || this.workshop.instance.broken) this.workshop = await openWorkshop(CHECK_VOCABULARY, CHECK_VOCABULARY.encodedVocab.length, [CHECK_STOP_ID]);
    const { instance, compiler } = this.workshop;
    try {
      const grammar = await instance.guard(() => compileOn(compiler, constraint));
      grammar.dispose();
      return null;
    } catch (error) {
      if (error instanceof XgrammarError) return error.message;
      throw error;
    }
  }
}

/**
 * Compiles a run's constraints against the model's tokenizer, each distinct one once (keyed by its canonical form:
 * constraintKey). xgrammar's tokenizer info is built once: the tokenizer's byte-level vocabulary with the added tokens at
 * their ids, the vocabulary size the model's logits have (151,936 for Qwen3: more than the tokenizer's 151,669 ids; the
 * unused ids are never allowed), and the model's eos ids as the tokens that end a grammar.
 */
export class ConstraintCompiler {
  private workshop: Workshop;

  private constructor(
    workshop: Workshop,
    private readonly reopen: () => Promise<Workshop>,
    readonly stats: StructuredStats,
  ) {
    this.workshop = workshop;
  }

  static async create(vocabulary: GrammarVocabulary, vocabSize: number, stopTokenIds: readonly number[], stats: StructuredStats): Promise<ConstraintCompiler> {
    if (vocabSize < vocabulary.encodedVocab.length) {
      throw new Error(`the model's vocabulary size ${vocabSize} is smaller than its tokenizer's (${vocabulary.encodedVocab.length} ids)`);
    }
    const started = performance.now();
    const reopen = () => openWorkshop(vocabulary, vocabSize, stopTokenIds);
    const workshop = await reopen();
    stats.tokenizerInfoMs += performance.now() - started;
    return new ConstraintCompiler(workshop, reopen, stats);
  }

  /**
   * Compiles every distinct constraint; one xgrammar refuses gets its error instead. Such a refusal breaks the instance,
   * so the others are compiled again in a fresh one (it does not happen for constraints ConstraintChecker accepted).
   */
  async compileAll(constraints: readonly Constraint[]): Promise<Map<string, CompiledConstraint | XgrammarError>> {
    const distinct = new Map(constraints.map((constraint) => [constraintKey(constraint), constraint]));
    const failed = new Map<string, XgrammarError>();
    const started = performance.now();
    for (;;) {
      const compiled = new Map<string, CompiledConstraint | XgrammarError>(failed);
      let aborted = false;
      for (const [key, constraint] of distinct) {
        if (failed.has(key)) continue;
        const { instance, compiler } = this.workshop;
        try {
          const grammar = await instance.guard(() => compileOn(compiler, constraint));
          compiled.set(key, { key, kind: constraint.kind, grammar, instance });
        } catch (error) {
          if (!(error instanceof XgrammarError)) throw error;
          failed.set(key, error);
          aborted = true;
          break;
        }
      }
      if (aborted) {
        this.workshop = await this.reopen();
        continue;
      }
      this.stats.compileMs += performance.now() - started;
      this.stats.grammarsCompiled += distinct.size - failed.size;
      return compiled;
    }
  }
}
