// Where an S3 host's access key comes from: the standard places the AWS tools read
// (https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html), narrowed to the
// ones that need nothing but the terminal itself. AWS_PROFILE names a profile of the
// shared credentials file; otherwise AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and
// AWS_SESSION_TOKEN); otherwise the file's [default] profile.
//
// The SDK's default chain goes further — the EC2 instance metadata service, container
// credential endpoints, SSO, web identity tokens, credential_process — and each of
// those reaches a network service or runs a program the profile names. On an
// airgapped terminal none of them exists, and a request to 169.254.169.254 or a
// configured URL is exactly the traffic that must not leave it, so they are not used:
// a profile that relies on them is refused with a message that says so. The secret is
// read from the environment or the file, never from argv, and never logged.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AirlockError, fromSystemError } from '../core/errors.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Whole-line INI: `[profile]` headers, `key = value` pairs, `#` and `;` comments. */
function profileFrom(text: string, profile: string): Record<string, string> | undefined {
  let current: string | undefined;
  let found: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (header) {
      current = header[1];
      if (current === profile) found ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (current !== profile || eq < 0 || found === undefined) continue;
    found[line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim();
  }
  return found;
}

export async function s3Credentials(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): Promise<S3Credentials> {
  const profile = env.AWS_PROFILE;
  if (profile === undefined && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    const creds: S3Credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY };
    if (env.AWS_SESSION_TOKEN) creds.sessionToken = env.AWS_SESSION_TOKEN;
    return creds;
  }
  const file = env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, '.aws', 'credentials');
  const name = profile ?? 'default';
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(err, `reading ${file}`);
  }
  const p = text === undefined ? undefined : profileFrom(text, name);
  if (p === undefined) {
    throw new AirlockError(
      'E_CONFIG',
      `no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put a [${name}] profile with aws_access_key_id and aws_secret_access_key in ${file}`,
      { details: { file, profile: name } },
    );
  }
  const id = p.aws_access_key_id;
  const secret = p.aws_secret_access_key;
  if (!id || !secret) {
    throw new AirlockError(
      'E_CONFIG',
      `profile [${name}] in ${file} has no aws_access_key_id and aws_secret_access_key; on the terminal only static keys are used (no SSO, role, credential_process or instance metadata, which reach the network or run programs)`,
      { details: { file, profile: name } },
    );
  }
  const creds: S3Credentials = { accessKeyId: id, secretAccessKey: secret };
  if (p.aws_session_token) creds.sessionToken = p.aws_session_token;
  return creds;
}
