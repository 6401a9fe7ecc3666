// Commander's way to let an option be given more than once (`--device A --device B`): each value is
// appended to the list so far. Use with a default of [].
export function repeatable(value: string, all: string[]): string[] {
  return [...all, value];
}
