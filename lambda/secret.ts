import { AWS_MAX_ATTEMPTS, AWS_REQUEST_TIMEOUTS, awsCallOptions, regionOfArn } from './aws-clients.ts';

export interface RedisCredentials {
  readonly username?: string;
  readonly password: string;
}

export class RedisSecretError extends Error {
  override name = 'RedisSecretError';
}

/**
 * The secret holds the password alone, or JSON `{"password": "...", "username": "..."}` (the shape of an
 * ElastiCache user's rotated secret). No error message ever quotes the secret's value.
 */
export function parseRedisSecret(secretString: string | undefined): RedisCredentials {
  if (secretString === undefined || secretString === '') {
    throw new RedisSecretError('the Redis secret has no SecretString');
  }
  if (!secretString.trimStart().startsWith('{')) return { password: secretString };
  let value: unknown;
  try {
    value = JSON.parse(secretString);
  } catch {
    throw new RedisSecretError('the Redis secret starts with "{" but is not valid JSON');
  }
  const { password, username } = value as { password?: unknown; username?: unknown };
  if (typeof password !== 'string' || password === '') {
    throw new RedisSecretError('the Redis secret is JSON without a non-empty "password" string');
  }
  if (username !== undefined && typeof username !== 'string') {
    throw new RedisSecretError('the Redis secret\'s "username" must be a string');
  }
  return username === undefined || username === '' ? { password } : { username, password };
}

/** Reads the secret from the region its ARN names, whatever region the function runs in. */
export async function readRedisSecret(secretArn: string, budgetMs?: number): Promise<RedisCredentials> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient({
    region: regionOfArn(secretArn),
    requestHandler: AWS_REQUEST_TIMEOUTS,
    maxAttempts: AWS_MAX_ATTEMPTS,
  });
  try {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretArn }), awsCallOptions(budgetMs));
    return parseRedisSecret(SecretString);
  } catch (error) {
    if (error instanceof RedisSecretError) throw error;
    const { name, message } = error as Error;
    throw new RedisSecretError(`could not read the Redis secret: ${name}: ${message}`);
  } finally {
    client.destroy();
  }
}
