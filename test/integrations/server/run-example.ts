// Runs an example server the way its docs say (tsx), with EXAMPLE_SELFTEST=1, killed if it overruns.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

export interface ExampleRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runExample(file: string, limitMs: number): Promise<ExampleRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', file],
      { cwd: root, env: { ...process.env, EXAMPLE_SELFTEST: '1' }, timeout: limitMs, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, signal: error?.signal ?? null, stdout, stderr });
      },
    );
  });
}

/** The line of the self-test's output that starts with `label`, without the label. */
export function line(stdout: string, label: string): string {
  const found = stdout.split('\n').find((l) => l.startsWith(label));
  if (found === undefined) throw new Error(`no "${label}" line in:\n${stdout}`);
  return found.slice(label.length).trim();
}
