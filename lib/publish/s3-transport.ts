// An S3 bucket (any S3-compatible store: AWS S3, Ceph RGW, MinIO, R2) through the
// official SDK (@aws-sdk/client-s3, SigV4). Host paths are object keys under the
// host's prefix. A PUT is atomic per object, so files are written in place
// (writeInPlace), in the publishing order apply.ts keeps: an object is there whole or
// not at all.
//
// Immutable paths are never overwritten: a HEAD first ("check before write"), then the
// PUT (or multipart completion) carries `If-None-Match: *`, which the store answers
// 412 when the key exists. Measured on Ceph RGW 16: honoured in unversioned buckets,
// ignored in versioned ones and on multipart completion — there only the HEAD and the
// read-back stand between two racing publishers (docs/publishing.md: use an unversioned
// bucket, or one publisher). Every object is read back and its SHA-256 compared by
// apply.ts: an ETag is not a SHA-256 (and a multipart ETag is not even an MD5).
//
// Large files go up as multipart uploads, each part streamed from its range of the
// local file (constant memory, a few parts in flight); a cut upload is resumed by the
// next publish from the parts the store already holds (ListMultipartUploads, ListParts;
// a part is kept only if its size and MD5 ETag match the local range).
//
// The SDK's default request checksums send streamed bodies as `aws-chunked` with a
// trailer, which Ceph RGW 16 refuses (411 MissingContentLength): checksums are sent
// only where the API requires them, and every body has a Content-Length.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Transform, type Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
  type MultipartUpload,
  type Part,
} from '@aws-sdk/client-s3';
import { hashStream } from '../core/digest.js';
import { AirlockError, fromSystemError } from '../core/errors.js';
import type { HostLocation, S3HostOptions } from './host-url.js';
import { httpHeadersFor } from './http-caching.js';
import { s3Credentials, type S3Credentials } from './s3-credentials.js';
import { assertTreePath, type RemoteDigest, type RemoteFile, type RenameOptions, type Transport, type WriteInPlaceOptions } from './transport.js';

type S3Location = Extract<HostLocation, { kind: 's3' }>;

/** Files from this size up go as multipart uploads (resumable; parts in parallel). */
export const MULTIPART_THRESHOLD = 64 * 1024 * 1024;
/** Part size: 16 MiB, raised for files past 10 000 parts (the S3 limit). */
const PART_SIZE = 16 * 1024 * 1024;
const MAX_PARTS = 10_000;
/** Parts in flight per file: the memory an upload holds is about this many socket buffers. */
const PARTS_IN_FLIGHT = 4;

export interface S3TransportOptions {
  /** Credentials (default: s3-credentials.ts, from the environment or the shared file). */
  credentials?: S3Credentials;
  /** Per-request socket timeout in milliseconds. */
  timeoutMs?: number;
  /** Fault injection for tests: a multipart upload stops (as a cut connection would) after this many parts. */
  failAfterParts?: number;
  /** Multipart from this size up, in parts of partSize (tests use small ones; S3's minimum part is 5 MiB). */
  multipartThreshold?: number;
  partSize?: number;
}

interface S3ErrorLike {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

function statusOf(err: unknown): number | undefined {
  return (err as S3ErrorLike | undefined)?.$metadata?.httpStatusCode;
}

function nameOf(err: unknown): string | undefined {
  return (err as S3ErrorLike | undefined)?.name;
}

function isMissing(err: unknown): boolean {
  const n = nameOf(err);
  return n === 'NoSuchKey' || n === 'NotFound' || statusOf(err) === 404;
}

function isPreconditionFailed(err: unknown): boolean {
  return statusOf(err) === 412 || nameOf(err) === 'PreconditionFailed';
}

/** Parts of `length` bytes: sizes equal but the last, at most MAX_PARTS of them. */
export function partLayout(length: number, minPartSize = PART_SIZE): { partSize: number; count: number } {
  const mib = 1024 * 1024;
  const partSize = Math.max(minPartSize, Math.ceil(length / MAX_PARTS / mib) * mib);
  return { partSize, count: Math.max(1, Math.ceil(length / partSize)) };
}

function md5OfRange(file: string, start: number, size: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('md5');
    createReadStream(file, { start, end: start + size - 1, highWaterMark: 1 << 20 })
      .on('data', (c) => h.update(c as Buffer))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

export class S3Transport implements Transport {
  /** Parts sent and parts reused by multipart uploads on this connection (for tests and the bench). */
  readonly stats = { partsUploaded: 0, partsReused: 0 };

  private constructor(
    readonly host: string,
    private readonly client: S3Client,
    private readonly writer: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly options: S3HostOptions,
    private readonly tuning: Pick<S3TransportOptions, 'failAfterParts' | 'multipartThreshold' | 'partSize'>,
  ) {}

  /** Connects and checks that the bucket is there and the credentials are accepted; writes nothing. */
  static async open(host: { name: string; s3?: S3HostOptions }, loc: S3Location, opts: S3TransportOptions = {}): Promise<S3Transport> {
    const s3 = host.s3;
    if (s3 === undefined) {
      throw new AirlockError('E_CONFIG', `host ${host.name} is an S3 bucket with no endpoint recorded; add it again with \`airlock host add ${host.name} URL --endpoint URL --replace\``, {
        details: { host: host.name },
      });
    }
    const credentials = opts.credentials ?? (await s3Credentials());
    // The SDK warns on stderr, with a link, that its future releases drop Node 20; the
    // version here is pinned, and the notice would only puzzle someone publishing.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const timeout = opts.timeoutMs ?? 60_000;
    const agentOptions = { keepAlive: true, maxSockets: 16 };
    const handler = {
      connectionTimeout: timeout,
      requestTimeout: timeout,
      // Node's https agent verifies the endpoint's certificate and name (rejectUnauthorized defaults to true).
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
    };
    const config = {
      endpoint: s3.endpoint,
      region: s3.region ?? 'us-east-1',
      forcePathStyle: Boolean(s3.pathStyle),
      credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: handler,
    } as const;
    const client = new S3Client({ ...config, maxAttempts: 3 });
    // A streamed body cannot be sent twice, so PUTs and parts are never retried by the
    // SDK: a failed one fails the publish, and the re-run resumes (its parts are kept).
    const writer = new S3Client({ ...config, maxAttempts: 1 });
    const t = new S3Transport(host.name, client, writer, loc.bucket, loc.prefix, s3, opts);
    try {
      await client.send(new HeadBucketCommand({ Bucket: loc.bucket }));
    } catch (err) {
      await t.close();
      throw t.failure(err, `reaching bucket ${loc.bucket}`);
    }
    return t;
  }

  /** An SDK or network error as an AirlockError, with the S3 error name and status in details. */
  private failure(err: unknown, what: string): AirlockError {
    if (err instanceof AirlockError) return err;
    const status = statusOf(err);
    // A HEAD has no body to name the error: the SDK calls it "Unknown", so the status says it.
    const s3Code = nameOf(err) === 'Unknown' ? undefined : nameOf(err);
    const details = { host: this.host, bucket: this.bucket, status: status ?? null, s3Code: s3Code ?? null };
    if (s3Code === 'NoSuchBucket' || (status === 404 && what.startsWith('reaching bucket'))) {
      return new AirlockError('E_CONFIG', `host ${this.host}: bucket ${this.bucket} does not exist at ${this.options.endpoint}; create it (docs/publishing.md gives its policy) or fix the host's URL`, {
        cause: err,
        details,
      });
    }
    if (status === 403 || status === 401 || s3Code === 'InvalidAccessKeyId' || s3Code === 'SignatureDoesNotMatch' || s3Code === 'AccessDenied') {
      return new AirlockError('E_HOST_AUTH', `host ${this.host} refused the S3 credentials while ${what} (${s3Code ?? `HTTP ${status}`}); check the access key and its rights on bucket ${this.bucket}`, {
        cause: err,
        details,
      });
    }
    // The local file, not the host: an error of the file system names the path it failed on.
    if (status === undefined && typeof (err as NodeJS.ErrnoException | undefined)?.path === 'string') return fromSystemError(err, what);
    return new AirlockError('E_NETWORK', `host ${this.host} (${this.options.endpoint}) failed while ${what}${s3Code ? ` (${s3Code})` : ''}; check the endpoint and the network, then run the publish again`, {
      cause: err,
      details,
    });
  }

  private key(path: string): string {
    assertTreePath(path);
    return this.prefix === '' ? path : `${this.prefix}/${path}`;
  }

  async *list(): AsyncGenerator<RemoteFile> {
    const start = this.prefix === '' ? '' : `${this.prefix}/`;
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: start, ContinuationToken: token }));
      } catch (err) {
        throw this.failure(err, 'listing the bucket');
      }
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined || o.Size === undefined) continue;
        const path = o.Key.slice(start.length);
        try {
          assertTreePath(path);
        } catch {
          continue; // "a//b", "dir/": no file of the host tree has such a name
        }
        const f: RemoteFile = { path, size: o.Size };
        if (o.LastModified) f.mtime = Math.floor(o.LastModified.getTime() / 1000);
        if (o.ETag) f.version = o.ETag;
        yield f;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** The object's body as a stream and its metadata; undefined if absent. */
  private async get(path: string) {
    try {
      return await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) }));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw this.failure(err, `reading ${path}`);
    }
  }

  async digest(path: string): Promise<RemoteDigest | undefined> {
    const got = await this.get(path);
    if (got === undefined) return undefined;
    try {
      const { length, digests } = await hashStream(got.Body as Readable, ['sha256']);
      const d: RemoteDigest = { length, sha256: digests.sha256! };
      if (got.LastModified) d.mtime = Math.floor(got.LastModified.getTime() / 1000);
      if (got.ETag) d.version = got.ETag;
      return d;
    } catch (err) {
      throw this.failure(err, `reading ${path} back`);
    }
  }

  async readSmall(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const got = await this.get(path);
    if (got === undefined) return undefined;
    const body = got.Body as Readable;
    const tooLarge = () => new AirlockError('E_TOO_LARGE', `${path} on host ${this.host} is larger than ${maxBytes} bytes`);
    if (got.ContentLength !== undefined && got.ContentLength > maxBytes) {
      body.destroy();
      throw tooLarge();
    }
    const chunks: Buffer[] = [];
    let n = 0;
    try {
      for await (const c of body) {
        n += (c as Buffer).length;
        if (n > maxBytes) {
          body.destroy();
          throw tooLarge();
        }
        chunks.push(c as Buffer);
      }
    } catch (err) {
      throw this.failure(err, `reading ${path}`);
    }
    return new Uint8Array(Buffer.concat(chunks));
  }

  private async exists(path: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(path) }));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw this.failure(err, `looking for ${path}`);
    }
  }

  /** A counted read stream over [start, start+size) of the local file. */
  private body(localFile: string, start: number, size: number, onBytes: (n: number) => void): Readable {
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        onBytes(chunk.length);
        cb(null, chunk);
      },
    });
    const src = size === 0 ? createReadStream(localFile, { start: 0, end: -1 }) : createReadStream(localFile, { start, end: start + size - 1, highWaterMark: 1 << 20 });
    src.on('error', (err) => count.destroy(err));
    return src.pipe(count);
  }

  async writeInPlace(localFile: string, path: string, options: WriteInPlaceOptions, onProgress?: (bytesSent: number) => void): Promise<'written' | 'exists'> {
    const key = this.key(path);
    if (!options.overwrite && (await this.exists(path))) return 'exists';
    const headers = httpHeadersFor(path, this.options.mutableMaxAge === undefined ? {} : { mutableMaxAge: this.options.mutableMaxAge });
    if (options.length >= (this.tuning.multipartThreshold ?? MULTIPART_THRESHOLD)) return this.writeMultipart(localFile, path, key, options, headers, onProgress);
    let sent = 0;
    try {
      await this.writer.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: this.body(localFile, 0, options.length, (n) => onProgress?.((sent += n))),
          ContentLength: options.length,
          ContentType: headers.contentType,
          CacheControl: headers.cacheControl,
          ...(options.overwrite ? {} : { IfNoneMatch: '*' }),
        }),
      );
    } catch (err) {
      if (!options.overwrite && isPreconditionFailed(err)) return 'exists';
      throw this.failure(err, `writing ${path}`);
    }
    return 'written';
  }

  /** The newest unfinished multipart upload of `key` and the parts it holds, if any. */
  private async pendingUpload(key: string): Promise<{ upload: MultipartUpload; parts: Map<number, Part>; others: MultipartUpload[] } | undefined> {
    const uploads: MultipartUpload[] = [];
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: key, KeyMarker: keyMarker, UploadIdMarker: idMarker }));
      uploads.push(...(page.Uploads ?? []).filter((u) => u.Key === key && u.UploadId !== undefined));
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      idMarker = page.NextUploadIdMarker;
    }
    if (uploads.length === 0) return undefined;
    uploads.sort((a, b) => (b.Initiated?.getTime() ?? 0) - (a.Initiated?.getTime() ?? 0));
    const [upload, ...others] = uploads as [MultipartUpload, ...MultipartUpload[]];
    const parts = new Map<number, Part>();
    let marker: string | undefined;
    for (;;) {
      const page = await this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: upload.UploadId, PartNumberMarker: marker }));
      for (const p of page.Parts ?? []) if (p.PartNumber !== undefined) parts.set(p.PartNumber, p);
      if (!page.IsTruncated) break;
      marker = page.NextPartNumberMarker;
    }
    return { upload, parts, others };
  }

  private async writeMultipart(
    localFile: string,
    path: string,
    key: string,
    options: WriteInPlaceOptions,
    headers: { contentType: string; cacheControl: string },
    onProgress?: (bytesSent: number) => void,
  ): Promise<'written' | 'exists'> {
    const { partSize, count } = partLayout(options.length, this.tuning.partSize);
    let uploadId: string;
    let have = new Map<number, Part>();
    let stale: MultipartUpload[] = [];
    try {
      const pending = await this.pendingUpload(key);
      if (pending) {
        uploadId = pending.upload.UploadId!;
        have = pending.parts;
        stale = pending.others;
      } else {
        const made = await this.client.send(
          new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: headers.contentType, CacheControl: headers.cacheControl }),
        );
        uploadId = made.UploadId!;
      }
    } catch (err) {
      throw this.failure(err, `starting the upload of ${path}`);
    }

    const done: CompletedPart[] = new Array(count);
    let sent = 0;
    const progress = (n: number) => onProgress?.((sent += n));
    let next = 1;
    let uploadedHere = 0;
    let stopped = false;
    const worker = async (): Promise<void> => {
      try {
        await parts();
      } catch (err) {
        stopped = true;
        throw err;
      }
    };
    const parts = async (): Promise<void> => {
      while (next <= count && !stopped) {
        const number = next++;
        const start = (number - 1) * partSize;
        const size = Math.min(partSize, options.length - start);
        const there = have.get(number);
        // A part of a cut upload is kept when it holds this range: same size, MD5 ETag equal.
        if (there?.Size === size && there.ETag !== undefined && there.ETag.replaceAll('"', '') === (await md5OfRange(localFile, start, size))) {
          done[number - 1] = { PartNumber: number, ETag: there.ETag };
          this.stats.partsReused++;
          progress(size);
          continue;
        }
        if (this.tuning.failAfterParts !== undefined && uploadedHere >= this.tuning.failAfterParts) {
          throw new AirlockError('E_PUBLISH_INTERRUPTED', `upload of ${path} to ${this.host} cut after ${uploadedHere} parts (injected fault); run the same publish again to resume it`, {
            details: { host: this.host, injected: true, path },
          });
        }
        uploadedHere++;
        const r = await this.writer.send(
          new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: number, Body: this.body(localFile, start, size, progress), ContentLength: size }),
        );
        this.stats.partsUploaded++;
        done[number - 1] = { PartNumber: number, ETag: r.ETag };
      }
    };
    // Every worker settles before this returns: no request is left running after a failure.
    const settled = await Promise.allSettled(Array.from({ length: Math.min(PARTS_IN_FLIGHT, count) }, worker));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    // The parts sent stay with the store: the next publish resumes from them.
    if (failed) throw this.failure(failed.reason, `uploading ${path}`);

    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: done },
          ...(options.overwrite ? {} : { IfNoneMatch: '*' }),
        }),
      );
    } catch (err) {
      if (!options.overwrite && isPreconditionFailed(err)) {
        await this.abort(key, uploadId);
        return 'exists';
      }
      throw this.failure(err, `completing the upload of ${path}`);
    }
    // Older unfinished uploads of the same key hold storage for nothing.
    for (const u of stale) await this.abort(key, u.UploadId!);
    return 'written';
  }

  private async abort(key: string, uploadId: string): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
  }

  /** A plain PUT of the whole file (overwriting); publishing uses writeInPlace. */
  async put(localFile: string, path: string, onProgress?: (bytesSent: number) => void): Promise<void> {
    let length: number;
    try {
      length = (await stat(localFile)).size;
    } catch (err) {
      throw fromSystemError(err, `reading ${localFile}`);
    }
    await this.writeInPlace(localFile, path, { overwrite: true, length }, onProgress);
  }

  /** A server-side copy (atomic at the destination), then removal of the source. */
  async rename(from: string, to: string, options: RenameOptions): Promise<'renamed' | 'exists'> {
    if (!options.overwrite && (await this.exists(to))) return 'exists';
    const headers = httpHeadersFor(to, this.options.mutableMaxAge === undefined ? {} : { mutableMaxAge: this.options.mutableMaxAge });
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: this.key(to),
          CopySource: `${this.bucket}/${encodeURIComponent(this.key(from)).replaceAll('%2F', '/')}`,
          MetadataDirective: 'REPLACE',
          ContentType: headers.contentType,
          CacheControl: headers.cacheControl,
          ...(options.overwrite ? {} : { IfNoneMatch: '*' }),
        }),
      );
    } catch (err) {
      if (!options.overwrite && isPreconditionFailed(err)) return 'exists';
      throw this.failure(err, `copying ${from} to ${to}`);
    }
    await this.remove(from);
    return 'renamed';
  }

  async remove(path: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(path) }));
    } catch (err) {
      if (!isMissing(err)) throw this.failure(err, `removing ${path}`);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.writer.destroy();
  }
}
