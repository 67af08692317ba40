/*
 * Secrets Manager's GetSecretValue on 127.0.0.1, as @aws-sdk/client-secrets-manager speaks it (AWS JSON 1.1,
 * `X-Amz-Target: secretsmanager.GetSecretValue`), with its error for an unknown secret, so that the real client's
 * serialization and error parsing run.
 */
import { startAwsJsonEndpoint } from './aws-json-endpoint.ts';

export interface SecretsManagerEndpoint {
  readonly endpoint: string;
  /** SecretIds asked for, in order. */
  readonly asked: string[];
  close(): Promise<void>;
}

export async function startSecretsManagerEndpoint(secrets: Record<string, string>): Promise<SecretsManagerEndpoint> {
  const asked: string[] = [];
  const local = await startAwsJsonEndpoint((request, body, response) => {
    const answer = (status: number, payload: object, errorType?: string) => {
      response.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        ...(errorType === undefined ? {} : { 'x-amzn-errortype': errorType }),
      });
      response.end(JSON.stringify(payload));
    };
    if (request.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
      answer(400, { __type: 'UnknownOperationException' }, 'UnknownOperationException');
      return;
    }
    const { SecretId } = JSON.parse(body.toString('utf8')) as { SecretId: string };
    asked.push(SecretId);
    const value = secrets[SecretId];
    if (value === undefined) {
      answer(
        400,
        { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." },
        'ResourceNotFoundException',
      );
      return;
    }
    answer(200, { ARN: SecretId, Name: SecretId.split(':').at(-1), SecretString: value, VersionId: 'v1' });
  });
  return { ...local, asked };
}
