/** `ids 3, "q7", 12 and 40 more`: request ids (or line numbers) for one-line messages; strings keep their quotes. */
export function formatIds(ids: readonly (string | number)[], shown = 8): string {
  const head = ids.slice(0, shown).map((id) => (typeof id === 'number' ? String(id) : JSON.stringify(id)));
  const more = ids.length - head.length;
  return `${ids.length === 1 ? 'id' : 'ids'} ${head.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}
