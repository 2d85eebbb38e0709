/** "1 job", "3 jobs", "1 entry"/"2 entries": the count with the right form of the noun. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
