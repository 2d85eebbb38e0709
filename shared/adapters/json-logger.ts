import type { LogFields, Logger } from '../ports/logger.ts';

const SEVERITY = { debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR' } as const;
type Level = keyof typeof SEVERITY;
const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Field names that must never reach a log line, whatever a caller passes. */
const SECRET_KEYS =
  /^(api[-_]?key|x-goog-api-key|.*secret.*|password|authorization|credentials?|(access|id|refresh)[-_]?token)$/i;

function scrub(fields: LogFields): LogFields {
  const clean: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    if (SECRET_KEYS.test(key)) {
      clean[key] = '[redacted]';
    } else if (Buffer.isBuffer(value)) {
      clean[key] = `[${value.length} bytes]`;
    } else {
      clean[key] = value;
    }
  }
  return clean;
}

/**
 * One JSON object per line in the shape Cloud Logging parses from stdout: `severity` and
 * `message` become the entry's severity and summary, the rest its jsonPayload.
 */
export function createJsonLogger(
  options: { level?: Level; base?: LogFields; write?: (line: string) => void } = {},
): Logger {
  const min = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const base = options.base ?? {};
  const log =
    (level: Level) =>
    (message: string, fields: LogFields = {}) => {
      if (ORDER[level] < min) return;
      write(
        JSON.stringify({
          severity: SEVERITY[level],
          message,
          ...scrub({ ...base, ...fields }),
          time: new Date().toISOString(),
        }),
      );
    };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (fields) => createJsonLogger({ ...options, base: { ...base, ...fields } }),
  };
}
