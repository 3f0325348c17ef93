/**
 * Reply shapes, checked before they are trusted: ioredis and node-redis RESP2 answer a hash as a flat
 * list, node-redis RESP3 as an object; a script's table arrives as a list.
 */

/** A hash reply as a plain record (empty when the key does not exist). */
export function hashFields(reply: unknown): Record<string, string> {
  if (Array.isArray(reply)) {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) fields[String(reply[i])] = String(reply[i + 1]);
    return fields;
  }
  if (reply && typeof reply === 'object') return { ...(reply as Record<string, string>) };
  throw new Error('unexpected reply shape for a hash');
}
