/**
 * `tsx worker/ensure-nginx.ts [restart]`: starts greenlight's nginx if needed (used by scripts/nginx.sh);
 * `restart` restarts it without closing a port (NginxRouter.restart: after an nginx package upgrade).
 */
import { routerFromEnv } from '../host/nginx';

async function main(): Promise<void> {
  const router = routerFromEnv();
  if (process.argv[2] === 'restart') {
    const { oldPid, newPid } = await router.restart();
    console.error(`[provision] nginx restarted without closing its ports (master ${oldPid ?? 'none'} -> ${newPid})`);
    return;
  }
  if (process.argv[2] !== undefined) throw new Error(`unknown argument ${JSON.stringify(process.argv[2])}: expected nothing or "restart"`);
  await router.ensureRunning();
  console.error(`[provision] nginx running (prefix ${router.prefix}, pid ${await router.pid()})`);
}

main().catch((err) => {
  console.error(`[provision] nginx: ${(err as Error).message}`);
  process.exitCode = 1;
});
