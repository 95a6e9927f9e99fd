import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { ModelFiles } from '../model/modelFiles';
import { GenerationDefaults } from './generationDefaults';

/**
 * A short hash of everything that changes results: the model (its config, the graph file's name and size) and the run's
 * generation defaults. Batch size, threads and sharding are left out on purpose: they never change results. Written on
 * every output line so that `merge` and `--resume` can refuse to mix runs made with different settings.
 */
export function settingsFingerprint(model: ModelFiles, defaults: GenerationDefaults): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(model.folder.config));
  hash.update(JSON.stringify(model.folder.generationConfig));
  hash.update(`${model.folder.onnxPath.split(/[\\/]/).slice(-2).join('/')}:${fs.statSync(model.folder.onnxPath).size}`);
  hash.update(JSON.stringify(Object.entries(defaults).sort(([a], [b]) => a.localeCompare(b))));
  return hash.digest('hex').slice(0, 16);
}
