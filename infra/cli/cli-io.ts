/** Where the CLI writes: results to `out`, progress and diagnostics to `err`. */
export interface CliIo {
  out: TextSink;
  err: TextSink;
}

/** A stream the CLI writes text to; `isTTY` and `columns` as Node's TTY streams have them. */
export interface TextSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}
