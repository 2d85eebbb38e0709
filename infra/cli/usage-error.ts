/** A mistake on the command line: printed with the usage, exit code 2, before anything starts. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage to show; undefined for the top level. */
    readonly command?: string,
  ) {
    super(message);
  }
}
