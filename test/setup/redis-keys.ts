import Redis from 'ioredis';

/** Deletes every key under `prefix` (a run's own), a page of SCAN at a time. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** `deleteKeys` on a connection of its own to the Redis at `url`, closed afterwards. */
export async function deleteKeysAt(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await deleteKeys(redis, prefix);
  } finally {
    redis.disconnect();
  }
}
