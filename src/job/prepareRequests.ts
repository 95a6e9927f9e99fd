import { GenerationRequest } from '../input/request';
import { ModelFiles } from '../model/modelFiles';
import { GenerationDefaults } from './generationDefaults';
import { prepareRequest, PreparedRequest } from './preparedRequest';
import { RecordWriter } from './recordWriter';
import { RunDiagnostics } from './runDiagnostics';

/** Step 3: tokenizes each request and fits it to the context; one that cannot run gets its error record at once. */
export function prepareRequests(
  todo: readonly GenerationRequest[],
  defaults: GenerationDefaults,
  model: ModelFiles,
  diagnostics: RunDiagnostics,
  records: RecordWriter,
): PreparedRequest[] {
  const prepared: PreparedRequest[] = [];
  for (const request of todo) {
    const preparation = prepareRequest(request, defaults, model);
    if (preparation.ok) {
      diagnostics.addPrepared(preparation.fit);
      prepared.push(preparation.prepared);
    } else {
      diagnostics.addPrepared(preparation.fit);
      const { id, index, customId, line } = request;
      records.failure({ id, index, customId, code: preparation.code, message: preparation.message, line });
    }
  }
  return prepared;
}
