/**
 * DockerHost (host/docker.ts) on a fake dockerode: which Docker answers mean "already done" (so every call
 * is safe to repeat) and which errors pass through, and the one-off run's time-out and clean-up.
 */
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { ContainerNameTakenError, demuxLogs, DockerHost, HostPortInUseError } from '../../host/docker';
import { InfrastructureError } from '../../src/errors';

/** An error as dockerode raises it for an HTTP status of the engine. */
function dockerError(statusCode: number, message = `(HTTP code ${statusCode})`): Error {
  return Object.assign(new Error(message), { statusCode });
}

type Behaviour = (...args: unknown[]) => Promise<unknown>;

/** A dockerode stand-in: every container call is recorded as "<name>.<method>" and answered by `behaviour`. */
function fakeDocker(behaviour: Record<string, Behaviour> = {}) {
  const calls: Array<[string, ...unknown[]]> = [];
  const call = (what: string, ...args: unknown[]) => {
    calls.push([what, ...args]);
    return behaviour[what.split('.').pop()!]?.(...args) ?? Promise.resolve(undefined);
  };
  const container = (name: string) =>
    Object.fromEntries(['inspect', 'start', 'stop', 'remove', 'update', 'logs', 'wait'].map((method) => [method, (...args: unknown[]) => call(`${name}.${method}`, ...args)]));
  const docker = {
    ping: () => call('ping'),
    version: () => call('version'),
    getImage: (image: string) => ({ inspect: () => call(`${image}.imageInspect`) }),
    getContainer: container,
    listContainers: (options: unknown) => call('listContainers', options),
    createContainer: async (options: { name: string }) => {
      await call('createContainer', options);
      return { id: `id-of-${options.name}`, ...container(options.name) };
    },
  };
  return { host: new DockerHost(docker as unknown as Docker), calls };
}

/** The owner labels greenlight gives an app container. */
function appLabels(app: string, service: string, color: string): Record<string, string> {
  return { 'greenlight.managed': 'true', 'greenlight.app': app, 'greenlight.service': service, 'greenlight.color': color, 'greenlight.role': 'app' };
}

const rejects = (err: Error): Behaviour => () => Promise.reject(err);
const resolves = (value: unknown): Behaviour => () => Promise.resolve(value);

/** A docker log stream frame: 8-byte header (stream type, size) and the payload. */
function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header.writeUInt8(stream, 0);
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('DockerHost', () => {
  it.each([
    { name: 'removed', remove: resolves(undefined), result: true },
    { name: 'no such container', remove: rejects(dockerError(404)), result: false },
    { name: 'a removal already in progress', remove: rejects(dockerError(409, 'removal of container web is already in progress')), result: true },
  ])('remove: $name -> $result', async ({ remove, result }) => {
    const { host, calls } = fakeDocker({ remove });
    expect(await host.remove('web')).toBe(result);
    expect(calls).toEqual([['web.remove', { force: true }]]);
  });

  it.each([
    { name: 'another conflict', err: dockerError(409, 'container is paused') },
    { name: 'an engine error', err: dockerError(500) },
  ])('remove: $name passes through', async ({ err }) => {
    const { host } = fakeDocker({ remove: rejects(err) });
    await expect(host.remove('web')).rejects.toBe(err);
  });

  it.each([
    { name: 'started', start: resolves(undefined), result: true },
    { name: 'already running (304)', start: rejects(dockerError(304)), result: false },
  ])('start: $name -> $result', async ({ start, result }) => {
    const { host } = fakeDocker({ start });
    expect(await host.start('web')).toBe(result);
  });

  it.each(['Bind for 127.0.0.1:5002 failed: port is already allocated', 'listen tcp 127.0.0.1:5002: bind: address already in use'])(
    'start: "%s" is a HostPortInUseError with Docker\'s message',
    async (message) => {
      const { host } = fakeDocker({ start: rejects(dockerError(500, message)) });
      const err = await host.start('web').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostPortInUseError);
      expect((err as Error).message).toBe(message);
    },
  );

  it('start: other errors pass through', async () => {
    const err = dockerError(404, 'no such container');
    const { host } = fakeDocker({ start: rejects(err) });
    await expect(host.start('web')).rejects.toBe(err);
  });

  it('stopGracefully: no restart policy, then SIGTERM with 10 s to finish', async () => {
    const { host, calls } = fakeDocker();
    expect(await host.stopGracefully('web')).toBe(true);
    expect(calls).toEqual([
      ['web.update', { RestartPolicy: { Name: 'no' } }],
      ['web.stop', { t: 10 }],
    ]);
  });

  it.each<{ name: string; behaviour: Record<string, Behaviour>; result: boolean }>([
    { name: 'already stopped (304)', behaviour: { stop: rejects(dockerError(304)) }, result: false },
    { name: 'gone (404)', behaviour: { update: rejects(dockerError(404)) }, result: false },
  ])('stopGracefully: $name -> $result', async ({ behaviour, result }) => {
    const { host } = fakeDocker(behaviour);
    expect(await host.stopGracefully('web')).toBe(result);
  });

  it('stopGracefully: an engine error passes through', async () => {
    const err = dockerError(500);
    const { host } = fakeDocker({ stop: rejects(err) });
    await expect(host.stopGracefully('web')).rejects.toBe(err);
  });

  it.each([
    { name: 'found', inspect: resolves({ Id: 'abc' }), result: { Id: 'abc' } },
    { name: 'no such container', inspect: rejects(dockerError(404)), result: null },
  ])('inspectOrNull: $name', async ({ inspect, result }) => {
    const { host } = fakeDocker({ inspect });
    expect(await host.inspectOrNull('web')).toEqual(result);
  });

  it.each([
    { name: 'present', imageInspect: resolves({}), result: true },
    { name: 'missing', imageInspect: rejects(dockerError(404)), result: false },
  ])('imageExists: $name -> $result', async ({ imageInspect, result }) => {
    const { host } = fakeDocker({ imageInspect });
    expect(await host.imageExists('shop-web:v2')).toBe(result);
  });

  it('ping: an unreachable engine is an InfrastructureError saying how to start it', async () => {
    const { host } = fakeDocker({ ping: rejects(new Error('connect ENOENT /var/run/docker.sock')) });
    const err = await host.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfrastructureError);
    expect((err as Error).message).toBe('Docker engine unreachable (connect ENOENT /var/run/docker.sock): start dockerd (scripts/docker.sh)');
  });

  it("version: the engine's version and API version; Docker's own error when it does not answer", async () => {
    const { host } = fakeDocker({ version: resolves({ Version: '20.10.24+dfsg1', ApiVersion: '1.41', Os: 'linux' }) });
    expect(await host.version()).toEqual({ version: '20.10.24+dfsg1', apiVersion: '1.41' });
    const refused = new Error('connect EACCES /var/run/docker.sock');
    const { host: unreachable } = fakeDocker({ version: rejects(refused) });
    await expect(unreachable.version()).rejects.toBe(refused);
  });

  it("appContainers: one color's (and service's) app containers by greenlight's labels, whatever their name, sorted", async () => {
    const summary = (name: string, State: string, fixed?: string) => ({
      Id: `id-${name}`,
      Names: [`/${name}`],
      State,
      Labels: { 'greenlight.service': 'web' },
      NetworkSettings: { Networks: { greenlight: { IPAMConfig: fixed ? { IPv4Address: fixed } : null, IPAddress: '172.30.0.9' } } },
    });
    const { host, calls } = fakeDocker({ listContainers: resolves([summary('shop_web_blue', 'exited'), summary('shop-web-blue', 'running', '172.30.0.254')]) });
    // Only a fixed address counts (the one Docker gave the older container changes at its restart).
    expect(await host.appContainers('shop', 'blue', 'web')).toEqual([
      { id: 'id-shop-web-blue', name: 'shop-web-blue', running: true, labels: { 'greenlight.service': 'web' }, addresses: { greenlight: '172.30.0.254' } },
      { id: 'id-shop_web_blue', name: 'shop_web_blue', running: false, labels: { 'greenlight.service': 'web' }, addresses: {} },
    ]);
    await host.appContainers('shop', 'blue');
    expect(calls).toEqual([
      ['listContainers', { all: true, filters: { label: ['greenlight.managed=true', 'greenlight.app=shop', 'greenlight.color=blue', 'greenlight.role=app', 'greenlight.service=web'] } }],
      ['listContainers', { all: true, filters: { label: ['greenlight.managed=true', 'greenlight.app=shop', 'greenlight.color=blue', 'greenlight.role=app'] } }],
    ]);
  });

  const webBlue = appLabels('shop', 'web', 'blue');
  it.each([
    { name: 'no container of that name', held: null, ok: true },
    { name: 'a previous attempt of the same app, service and color', held: { ...webBlue, 'greenlight.deploy-id': 'deploy-0' }, ok: true },
    { name: "another app's container (app shop-api, service web)", held: appLabels('shop-api', 'web', 'blue'), ok: false },
    { name: "the same app's other color", held: appLabels('shop', 'web', 'green'), ok: false },
    { name: "the same app's validation one-off", held: { 'greenlight.managed': 'true', 'greenlight.app': 'shop', 'greenlight.role': 'validate' }, ok: false },
    { name: 'a container without labels', held: {}, ok: false },
  ])('claimName: $name -> ok $ok', async ({ held, ok }) => {
    const { host } = fakeDocker({ inspect: held === null ? rejects(dockerError(404)) : resolves({ Config: { Labels: held } }) });
    const claimed = host.claimName('shop_web_blue', webBlue);
    if (ok) await expect(claimed).resolves.toEqual(held === null ? null : { Config: { Labels: held } });
    else await expect(claimed).rejects.toBeInstanceOf(ContainerNameTakenError);
  });

  it("claimName: the error names the container, whose it is, and the fix", async () => {
    const { host } = fakeDocker({ inspect: resolves({ Config: { Labels: appLabels('shop-api', 'web', 'blue') } }) });
    const err = await host.claimName('shop_web_blue', webBlue).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'container name "shop_web_blue" is taken by another container (app=shop-api, role=app, service=web, color=blue; greenlight\'s would be app=shop, role=app, service=web, color=blue), ' +
        'which greenlight never removes: rename or remove that container (docker rename shop_web_blue <other name>), or choose another app name',
    );
    const { host: unlabelled } = fakeDocker({ inspect: resolves({ Config: { Labels: null } }) });
    expect(((await unlabelled.claimName('shop_web_blue', webBlue).catch((e: unknown) => e)) as Error).message).toContain("(not labelled as greenlight's; greenlight's would be app=shop");
  });

  const validateUnit = { 'greenlight.managed': 'true', 'greenlight.app': 'shop', 'greenlight.role': 'validate' };
  it('runOneOff: removes a previous attempt, runs to the end, returns exit code and log tail, removes the container', async () => {
    const { host, calls } = fakeDocker({
      inspect: resolves({ Config: { Labels: validateUnit } }),
      wait: resolves({ StatusCode: 3 }),
      logs: resolves(Buffer.concat([frame(1, 'ok 1\n'), frame(2, 'not ok 2\n')])),
    });
    expect(await host.runOneOff({ name: 'shop.validate_unit', Image: 'shop-web:v2', Labels: validateUnit }, 1_000)).toEqual({ exitCode: 3, output: 'ok 1\nnot ok 2' });
    expect(calls.map(([what]) => what)).toEqual(['shop.validate_unit.inspect', 'shop.validate_unit.remove', 'createContainer', 'shop.validate_unit.start', 'shop.validate_unit.wait', 'shop.validate_unit.logs', 'shop.validate_unit.remove']);
    expect(calls[5]).toEqual(['shop.validate_unit.logs', { stdout: true, stderr: true, tail: 20, follow: false }]);
  });

  it("runOneOff: a same-named container of another app (or none) is never removed: ContainerNameTakenError, nothing created", async () => {
    for (const labels of [{ ...validateUnit, 'greenlight.app': 'shop-api' }, {}]) {
      const { host, calls } = fakeDocker({ inspect: resolves({ Config: { Labels: labels } }) });
      await expect(host.runOneOff({ name: 'shop.validate_unit', Labels: validateUnit }, 1_000)).rejects.toBeInstanceOf(ContainerNameTakenError);
      expect(calls.map(([what]) => what)).toEqual(['shop.validate_unit.inspect']);
    }
  });

  it('runOneOff: a run that outlasts its time-out ends with exit code null, and is removed', async () => {
    const { host, calls } = fakeDocker({ inspect: rejects(dockerError(404)), wait: () => new Promise(() => undefined) });
    expect(await host.runOneOff({ name: 'shop.migrate' }, 20)).toEqual({ exitCode: null, output: '' });
    expect(calls.at(-1)).toEqual(['shop.migrate.remove', { force: true }]);
  });

  it('runOneOff: a container that cannot start is removed, and the error passes through', async () => {
    const err = dockerError(500, 'exec format error');
    const { host, calls } = fakeDocker({ inspect: rejects(dockerError(404)), start: rejects(err) });
    await expect(host.runOneOff({ name: 'shop.migrate' }, 1_000)).rejects.toBe(err);
    expect(calls.at(-1)).toEqual(['shop.migrate.remove', { force: true }]);
  });

  it("logTail: '' when the logs cannot be read", async () => {
    const { host } = fakeDocker({ logs: rejects(dockerError(404)) });
    expect(await host.logTail('web')).toBe('');
  });
});

describe('demuxLogs', () => {
  it.each([
    { name: 'stdout and stderr frames in order', buffer: Buffer.concat([frame(1, 'listening\n'), frame(2, 'warn: x\n'), frame(1, 'héllo')]), text: 'listening\nwarn: x\nhéllo' },
    { name: 'an empty stream', buffer: Buffer.alloc(0), text: '' },
    { name: 'a cut-off header is ignored', buffer: Buffer.concat([frame(1, 'a'), Buffer.from([1, 0, 0])]), text: 'a' },
  ])('$name', ({ buffer, text }) => {
    expect(demuxLogs(buffer)).toBe(text);
  });
});

describe('DockerHost.identity', () => {
  it("is the engine's ID, name and data root from docker info, asked once; a failed ask is asked again", async () => {
    let calls = 0;
    const docker = {
      info: async () => {
        calls++;
        if (calls === 1) throw new Error('connect ENOENT /var/run/docker.sock');
        return { ID: 'AAAA:1111', Name: 'host-a', DockerRootDir: '/var/lib/docker', Containers: 3 };
      },
    };
    const host = new DockerHost(docker as unknown as Docker);
    await expect(host.identity()).rejects.toThrow('ENOENT');
    expect(await host.identity()).toEqual({ id: 'AAAA:1111 host-a /var/lib/docker', name: 'host-a' });
    expect(await host.identity()).toEqual({ id: 'AAAA:1111 host-a /var/lib/docker', name: 'host-a' });
    expect(calls).toBe(2);
  });

  it('tells apart two engines of one machine (one ID, from /etc/docker/key.json) by their data roots', async () => {
    const engine = (root: string) => new DockerHost({ info: async () => ({ ID: 'PQYW:QQFJ', Name: 'vm', DockerRootDir: root }) } as unknown as Docker);
    const [one, two] = await Promise.all([engine('/srv/web-1/docker').identity(), engine('/srv/web-2/docker').identity()]);
    expect(one.id).not.toBe(two.id);
  });
});
