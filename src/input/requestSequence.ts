import { LineProblem } from './errors';
import { lineError, type ParsedLine } from './parseRequest';
import { idKey, type InputFormat } from './request';

/**
 * The checks that span lines, applied in input order: the file's format is the shape of its first valid
 * line, and a later valid line of the other shape is a `mixed_format` error (one output format per run);
 * an id used by an earlier line — valid or not — makes the later line a `duplicate_id` error, so no id
 * reaches the output twice through two requests.
 */
export class RequestSequenceChecker {
  private detected: { format: InputFormat; line: number } | undefined;
  private firstObjectShape: InputFormat | undefined;
  private readonly idLines = new Map<string, number>();

  /** The detected format; before any valid line, the shape of the first JSON object line, else 'qwen-gen'. */
  get format(): InputFormat {
    return this.detected?.format ?? this.firstObjectShape ?? 'qwen-gen';
  }

  check(parsed: ParsedLine): ParsedLine {
    this.firstObjectShape ??= parsed.format;
    if (!parsed.ok) {
      if (parsed.error.id !== undefined) this.claimId(parsed.error.id, parsed.error.line);
      return parsed;
    }
    const { request } = parsed;
    const problem = this.formatProblem(parsed.format) ?? this.duplicateProblem(parsed);
    this.claimId(request.id, request.line);
    if (problem) return { ok: false, error: lineError(problem, request.line, request.index, request.id), format: parsed.format };
    this.detected ??= { format: parsed.format, line: request.line };
    return parsed;
  }

  private formatProblem(format: InputFormat): LineProblem | undefined {
    if (!this.detected || this.detected.format === format) return undefined;
    const name = (f: InputFormat): string => (f === 'openai' ? 'an OpenAI Batch line' : 'a qwen-gen line');
    return new LineProblem(
      'mixed_format',
      `this is ${name(format)} but the input is in the ${this.detected.format} format (detected from line ${this.detected.line}); use one format per file`,
    );
  }

  private duplicateProblem(parsed: Extract<ParsedLine, { ok: true }>): LineProblem | undefined {
    const { id } = parsed.request;
    const earlierLine = this.idLines.get(idKey(id));
    if (earlierLine === undefined) return undefined;
    if (parsed.implicitId) {
      return new LineProblem(
        'duplicate_id',
        `this line has no "id", so its id is its line number ${id}, which line ${earlierLine} already uses; give it an explicit "id"`,
        'id',
      );
    }
    const field = parsed.format === 'openai' ? 'custom_id' : 'id';
    return new LineProblem('duplicate_id', `field "${field}": ${JSON.stringify(id)} is already used by line ${earlierLine}`, field);
  }

  private claimId(id: string | number, line: number): void {
    const key = idKey(id);
    if (!this.idLines.has(key)) this.idLines.set(key, line);
  }
}
