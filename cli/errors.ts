// Exit codes and the one error type commands throw: scripts branch on the code, people read the message.
export const EXIT = { ok: 0, error: 1, badInput: 2, needsDecision: 3, interrupted: 130 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(message: string, readonly exitCode: ExitCode = EXIT.error) {
    super(message);
  }
}

export const badInput = (message: string) => new CliError(message, EXIT.badInput);
