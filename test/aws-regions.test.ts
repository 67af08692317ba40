import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createHandler } from '../lambda/handler.ts';
import { readRedisSecret } from '../lambda/secret.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { lambdaContext, sqsEvent, sqsRecord, stateChange } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';

const STS_ACCOUNT = '444455556666';

/** The region a signed request was signed for: `Credential=KEY/DATE/REGION/SERVICE/aws4_request`. */
function signedRegion(authorization: string | undefined): string | undefined {
  return /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(authorization ?? '')?.[1];
}

/** Secrets Manager and STS on one local stub, behind AWS_ENDPOINT_URL_<SERVICE>; it notes where each was signed. */
describe('the region of each AWS call', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();
  const signed: { service: string; region: string | undefined }[] = [];
  let stub: Server;
  const saved = { ...process.env };
  before(async () => {
    stub = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        const isSts = body.includes('Action=GetCallerIdentity');
        signed.push({ service: isSts ? 'sts' : 'secretsmanager', region: signedRegion(request.headers.authorization) });
        if (isSts) {
          response.setHeader('content-type', 'text/xml');
          response.end(
            `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::${STS_ACCOUNT}:user/poller</Arn><UserId>AIDA</UserId><Account>${STS_ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
          );
        } else {
          response.setHeader('content-type', 'application/x-amz-json-1.1');
          response.end(JSON.stringify({ SecretString: 'pw', Name: 'redis' }));
        }
      });
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    const address = stub.address();
    const endpoint = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
      AWS_ENDPOINT_URL_STS: endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
  });
  after(async () => {
    process.env = saved;
    await new Promise<void>((resolve) => stub.close(() => resolve()));
  });

  it("reads a secret in the region its ARN names, not the function's", async () => {
    process.env.AWS_REGION = 'eu-west-1';
    signed.length = 0;

    const credentials = await readRedisSecret('arn:aws:secretsmanager:us-east-1:123456789012:secret:redis-AbCdEf');

    assert.deepEqual(credentials, { password: 'pw' });
    assert.deepEqual(signed, [{ service: 'secretsmanager', region: 'us-east-1' }]);
  });

  it("asks STS in the records' region when no AWS_REGION is set (poll mode), and publishes to that account", async () => {
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    signed.length = 0;
    const channel = `topic-account-management-events-${STS_ACCOUNT}`;
    const subscriber = track(await subscribe(redis.url, channel));
    const handler = track(createHandler({ env: { REDIS_URL: redis.url }, logger: captureLogs().logger }));
    const record = { ...sqsRecord({ body: stateChange('i-1', 'running', null) }), awsRegion: 'eu-central-1' };

    const response = await handler(sqsEvent([record]), lambdaContext(null));
    await subscriber.waitFor(1);

    assert.deepEqual(response, { batchItemFailures: [] });
    assert.deepEqual(signed, [{ service: 'sts', region: 'eu-central-1' }]);
    assert.deepEqual(subscriber.received, [{ channel, message: record.body }]);
  });
});
