/** The `greenlight` entry (package.json bin): runs the CLI and exits with the code it decided. The only process.exit. */
import { runCli } from './cli';
import { exitCodeOfError } from './exit-codes';

async function main(): Promise<void> {
  process.exit(await runCli(process.argv));
}

main().catch((err: unknown) => {
  console.error(`greenlight: ${(err as Error).message}`);
  process.exit(exitCodeOfError(err));
});
