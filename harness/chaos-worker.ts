/**
 * The real worker entry plus one fault: it SIGKILLs itself at a chosen point of a chosen activity, so
 * a crash lands exactly where a test wants it (e.g. after nginx switched but before Temporal heard).
 *   GREENLIGHT_CHAOS_KILL=<activity>:<before|after|during>[:<nth call>][:<ms into the activity>]
 */
import type { Context } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import { runWorker } from '../worker/main';

const [activity, when = 'before', nth = '1', delayMs = '1000'] = (process.env.GREENLIGHT_CHAOS_KILL ?? '').split(':');
let calls = 0;

function die(): never {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
}

class KillAt implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: Context) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    if (this.ctx.info.activityType !== activity || ++calls !== Number(nth)) return next(input);
    console.error(`chaos: SIGKILL ${when} ${activity} (call ${nth})`);
    if (when === 'before') die();
    const run = next(input);
    if (when === 'during') {
      // Dies after delayMs, or right as the activity ends if that comes first: never at a later step.
      await Promise.race([run.catch(() => undefined), new Promise((r) => setTimeout(r, Number(delayMs)))]);
      die();
    }
    const result = await run;
    if (when === 'after') die();
    return result;
  }
}

runWorker(activity ? { interceptors: { activity: [(ctx) => ({ inbound: new KillAt(ctx) })] } } : {}).catch((err) => {
  console.error(`chaos worker: ${(err as Error).message}`);
  process.exitCode = 1;
});
