import { describe, expect, it } from 'vitest';
import { parseGsUrl, withCredentialsHint } from '../../infra/cli/cloud/cloud-target.ts';
import { BananaError } from '../../shared/errors.ts';

describe('gs:// targets of the cloud commands', () => {
  it.each([
    ['gs://bf-input', { bucket: 'bf-input', prefix: '' }],
    ['gs://bf-input/', { bucket: 'bf-input', prefix: '' }],
    ['gs://bf-input/shoot-42', { bucket: 'bf-input', prefix: 'shoot-42/' }],
    ['gs://bf-input/a/b/', { bucket: 'bf-input', prefix: 'a/b/' }],
  ])('%s', (url, expected) => {
    expect(parseGsUrl(url, 'status <url>')).toEqual(expected);
  });

  it.each([undefined, 'bf-input', 's3://bucket', 'gs://', 'gs://UPPER'])(
    'refuses %s naming the argument',
    (url) => {
      expect(() => parseGsUrl(url, 'status <gs://OUTPUT>')).toThrow(
        /status <gs:\/\/OUTPUT> must be a gs:\/\/BUCKET\[\/prefix\] URL/,
      );
    },
  );

  it('turns missing credentials into the command that fixes them', async () => {
    const noAdc = new Error(
      'Could not load the default credentials. Browse to https://cloud.google.com/docs/authentication/getting-started for more information.',
    );
    const failure = await withCredentialsHint('bf-output', () => Promise.reject(noAdc)).catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(BananaError);
    expect((failure as BananaError).code).toBe('CONFIG_INVALID');
    expect((failure as BananaError).fix).toContain('gcloud auth application-default login');
  });

  it('lets every other error through unchanged', async () => {
    const other = new Error('socket hang up');
    await expect(withCredentialsHint('b', () => Promise.reject(other))).rejects.toBe(other);
  });
});
