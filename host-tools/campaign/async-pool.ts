// Runs work over items with at most `limit` at once, starting each only while mayStart() says so.

export async function runPool<T>(items: T[], limit: number, work: (item: T) => Promise<void>, mayStart: () => boolean | Promise<boolean>): Promise<void> {
  let next = 0;
  const lane = async () => {
    // Another lane may take the last item while this one asks mayStart: `next` is looked at again after.
    while (next < items.length && (await mayStart()) && next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
