/** An error in how the CLI was invoked: printed without a stack, exit code 2. */
export class CliUsageError extends Error {
  static readonly NAME = 'CliUsageError'
  override readonly name = CliUsageError.NAME
}
