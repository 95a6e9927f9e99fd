import { ParamName } from './generationParams';

/** The camelCase key of a parameter in resolved settings ("top_p" → "topP"). */
export function settingKey(name: ParamName): string {
  return name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}
