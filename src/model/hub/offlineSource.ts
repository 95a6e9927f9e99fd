/** `--offline` / HF_HUB_OFFLINE=1: a hub model is taken from the cache folder as it is, or refused naming what is missing. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../errors';
import type { DeviceName } from '../../deviceName';
import { DtypeName, onnxFileForDtype } from '../../dtypeFiles';
import { DtypeRequest, listDtypeVariants, selectLocalDtype } from '../dtype';
import { inspectGraph } from '../graphInfo';
import { HubModelFiles } from './hubDownload';
import { HubSettings, hubCacheFolder } from './hubSettings';

const REQUIRED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];

export async function cachedHubModel(modelId: string, settings: HubSettings, dtype: DtypeRequest, device: DeviceName, hint?: string): Promise<HubModelFiles> {
  const dir = hubCacheFolder(settings.cacheDir, modelId, settings.revision);
  const missing = REQUIRED_FILES.filter((file) => !fs.existsSync(path.join(dir, file)));
  const variants = listDtypeVariants(dir);
  let choice: { onnxFile: string; dtype: DtypeName; dtypeReason: string } | undefined;
  if (dtype !== 'auto') {
    const onnxFile = onnxFileForDtype(dtype);
    if (fs.existsSync(path.join(dir, onnxFile))) choice = { onnxFile, dtype, dtypeReason: `--dtype ${dtype} (${onnxFile})` };
    else missing.push(onnxFile);
  } else if (variants.length > 0) {
    const selected = selectLocalDtype(dir, 'auto', device);
    choice = { onnxFile: selected.onnxFile, dtype: selected.dtype, dtypeReason: `${selected.reason} (from the cache)` };
  } else {
    missing.push('onnx/model{suffix}.onnx (no dtype variant is cached)');
  }
  if (choice) {
    const graph = await inspectGraph(path.join(dir, choice.onnxFile));
    const onnxDir = path.posix.dirname(choice.onnxFile);
    for (const location of graph.externalData.files) {
      const file = path.posix.normalize(`${onnxDir}/${location}`);
      if (!fs.existsSync(path.join(dir, file))) missing.push(file);
    }
  }
  if (missing.length > 0 || !choice) {
    const cachedVariants = variants.length ? ` Cached dtype variants: ${variants.map((variant) => variant.dtype).join(', ')}.` : '';
    throw new UserError(
      `offline (--offline or HF_HUB_OFFLINE=1): ${modelId} (revision ${settings.revision}) is not fully in the cache ${dir}: ` +
        `missing ${missing.join(', ')}.${cachedVariants} Run once without --offline to download it.${hint ? ` ${hint}` : ''}`,
    );
  }
  return { dir, ...choice };
}
