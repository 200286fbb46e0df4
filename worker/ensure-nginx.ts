/** `tsx worker/ensure-nginx.ts`: starts greenlight's nginx if needed (used by scripts/nginx.sh). */
import { routerFromEnv } from '../host/nginx';

async function main(): Promise<void> {
  const router = routerFromEnv();
  await router.ensureRunning();
  console.error(`[provision] nginx running (prefix ${router.prefix}, pid ${await router.pid()})`);
}

main().catch((err) => {
  console.error(`[provision] nginx: ${(err as Error).message}`);
  process.exitCode = 1;
});
