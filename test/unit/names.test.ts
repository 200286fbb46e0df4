/**
 * Container names (src/names.ts): no two different apps, services, colors or one-offs share a name or
 * a DNS alias, so a deploy of one app never meets another app's container under the name it needs.
 */
import { describe, expect, it } from 'vitest';
import { COLORS, containerAlias, containerName, migrationContainerName, validationContainerName } from '../../src/names';

describe('container names', () => {
  it.each([
    // The pair: joined by "-", both were shop-api-web-blue.
    { a: containerName('shop-api', 'web', 'blue'), b: containerName('shop', 'api-web', 'blue') },
    // A validation command named like a color took the service container's name (shop-validate-blue).
    { a: validationContainerName('shop', 'blue'), b: containerName('shop', 'validate', 'blue') },
    { a: migrationContainerName('shop'), b: containerName('shop', 'migrate', 'blue') },
    { a: migrationContainerName('shop-api'), b: validationContainerName('shop', 'api-migrate') },
    { a: containerAlias('shop-api', 'web', 'blue'), b: containerAlias('shop', 'api-web', 'blue') },
  ])('$a and $b are distinct', ({ a, b }) => {
    expect(a).not.toBe(b);
  });

  it('names the issue pair with a separator no name contains', () => {
    expect([containerName('shop-api', 'web', 'blue'), containerName('shop', 'api-web', 'blue')]).toEqual(['shop-api_web_blue', 'shop_api-web_blue']);
    expect([validationContainerName('shop', 'blue'), migrationContainerName('shop')]).toEqual(['shop.validate_blue', 'shop.migrate']);
    expect(containerAlias('shop-api', 'web', 'blue')).toBe('web-blue.shop-api');
  });

  // Every app, service and command name from parts that join with "-" into each other's names.
  const parts = ['shop', 'api', 'web', 'blue', 'green', 'validate', 'migrate'];
  const names = [...parts, ...parts.flatMap((a) => parts.map((b) => `${a}-${b}`))];

  it(`gives ${names.length ** 2 * 2 + names.length ** 2 + names.length} different containers ${names.length ** 2 * 2 + names.length ** 2 + names.length} different names`, () => {
    const all = [
      ...names.flatMap((app) => names.flatMap((service) => COLORS.map((color) => containerName(app, service, color)))),
      ...names.flatMap((app) => names.map((command) => validationContainerName(app, command))),
      ...names.map((app) => migrationContainerName(app)),
    ];
    expect(new Set(all).size).toBe(all.length);
  });

  it('gives every app container its own alias, a valid DNS name Docker accepts as a container name too', () => {
    const aliases = names.flatMap((app) => names.flatMap((service) => COLORS.map((color) => containerAlias(app, service, color))));
    expect(new Set(aliases).size).toBe(aliases.length);
    for (const alias of aliases) expect(alias).toMatch(/^[a-z0-9-]{1,63}\.[a-z0-9-]{1,63}$/);
    for (const name of [containerName('shop-api', 'web', 'blue'), validationContainerName('shop', 'blue'), migrationContainerName('shop')]) {
      expect(name).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
    }
  });
});
