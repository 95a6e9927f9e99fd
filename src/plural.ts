/** `1 request`, `2 requests`; `plural(n, 'line is', 'lines are')` for irregular forms. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
