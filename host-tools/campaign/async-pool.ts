// Runs work over items with at most `limit` at once, starting each only while mayStart() says so.

export async function runPool<T>(items: T[], limit: number, work: (item: T) => Promise<void>, mayStart: () => boolean): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length && mayStart()) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
