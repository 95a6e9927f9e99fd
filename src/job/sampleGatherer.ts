import { CompletedRequest, SampleResult } from '../output/completionRecord';
import { echoedParams, PreparedRequest } from './preparedRequest';

export interface SampleGathererOptions {
  settings: string;
  echoParams: boolean;
}

/** Gathers each request's samples as its sequences finish (in any order); a request is complete once all n are in. */
export class SampleGatherer {
  private readonly samples = new Map<PreparedRequest, (SampleResult | undefined)[]>();
  private readonly failedRequests = new Set<PreparedRequest>();

  constructor(private readonly options: SampleGathererOptions) {}

  hasFailed(prepared: PreparedRequest): boolean {
    return this.failedRequests.has(prepared);
  }

  /** Marks a request failed (its other samples are then dropped); false when it already was. */
  markFailed(prepared: PreparedRequest): boolean {
    if (this.failedRequests.has(prepared)) return false;
    this.failedRequests.add(prepared);
    this.samples.delete(prepared);
    return true;
  }

  /** Adds one sample; returns the completed request once all of its samples are in, null before. */
  add(prepared: PreparedRequest, sampleIndex: number, sample: SampleResult): CompletedRequest | null {
    const samples = this.samples.get(prepared) ?? new Array<SampleResult | undefined>(prepared.settings.n).fill(undefined);
    samples[sampleIndex] = sample;
    if (samples.some((s) => s === undefined)) {
      this.samples.set(prepared, samples);
      return null;
    }
    this.samples.delete(prepared);
    return this.completed(prepared, samples as SampleResult[]);
  }

  private completed(prepared: PreparedRequest, samples: SampleResult[]): CompletedRequest {
    const { request } = prepared;
    return {
      id: request.id,
      index: request.index,
      customId: request.customId,
      promptTokens: prepared.promptIds.length,
      samples,
      settings: this.options.settings,
      metadata: request.metadata,
      extra: request.extra,
      params: this.options.echoParams ? echoedParams(prepared.settings) : undefined,
    };
  }
}
