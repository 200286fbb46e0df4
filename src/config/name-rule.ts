/**
 * The rule for the names a spec gives (app, services, hosts, validation commands), apart from the
 * schema: the CLI checks an <app> argument with it before it loads zod and the schema (src/cli/cli.ts).
 */
export const NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;

export const NAME_HINT = 'must be 2-32 lowercase letters, digits or dashes, starting with a letter (e.g. "shop"): it names containers and nginx upstreams';
