import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { redisAdapter } from '../adapters/redis/index.js';
import { startRedis, redisOrSkip, type TestRedis } from './support/redis.js';
import { basicAuth } from '../support/http.js';
import { baseConfiguration, buildProvider, serve, serviceClient } from './support/provider.js';

describe.runIf(redisOrSkip())('smoke', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('issues and introspects a client_credentials token on the Redis adapter', async () => {
    const client = redis.client();
    const provider = buildProvider(
      baseConfiguration({
        adapter: redisAdapter({ client, prefix: redis.namespace() }),
        clients: [serviceClient('svc', 'svc-secret-svc-secret-svc-secret')],
      }),
    );
    const server = serve(provider);
    try {
      const token = await request(server)
        .post('/token')
        .set('Authorization', basicAuth('svc', 'svc-secret-svc-secret-svc-secret'))
        .type('form')
        .send({ grant_type: 'client_credentials', scope: 'api:read' });
      expect(token.status).toBe(200);
      const intro = await request(server)
        .post('/token/introspection')
        .set('Authorization', basicAuth('svc', 'svc-secret-svc-secret-svc-secret'))
        .type('form')
        .send({ token: token.body.access_token });
      expect(intro.body.active).toBe(true);
    } finally {
      server.close();
    }
  });
});
