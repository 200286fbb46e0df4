import { describe, expect, it } from 'vitest';
import { buildAppContainer, buildMigrationContainer, buildValidationContainer, ownerLabels } from '../../host/builders/container';
import { inSubnet, pickAddress } from '../../host/builders/addresses';
import {
  colorTraffic,
  configAddresses,
  parseTraffic,
  trafficQuantileMs,
  trafficSince,
  parseAppConfig,
  parseAppPorts,
  parseColorAddresses,
  parseColorPorts,
  parseRouteKey,
  renderAppConfig,
  renderMainConfig,
  routeKey,
  structureHash,
} from '../../host/builders/nginx';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpecInput } from '../../src/config/schema';
import type { Route } from '../../src/types';
import { shopSpec, webSpec } from '../../harness/specs';

// Specs go through the real schema, so every default is the one production sees.
const shopInput = (): DeploySpecInput =>
  shopSpec(
    { backend: { env: { NODE_ENV: 'production', API_URL: 'http://api.internal' }, secrets: ['DB_PASSWORD'] } },
    { validate: { commands: [{ name: 'unit', service: 'backend', run: ['npm', 'test'] }] } },
  );
const shop = () => parseDeploySpec(shopInput());

/** One service on "/", everything else defaulted. */
const web = (overrides: { blue?: number; green?: number; route?: string; image?: string } = {}) =>
  webSpec('shop', {
    image: overrides.image ?? 'shop-web:v1',
    port: 3000,
    hostPorts: { blue: overrides.blue ?? 5001, green: overrides.green ?? 5002 },
    route: overrides.route ?? '/',
  });

/** HostConfig of a service's containers (app and one-off) under the default limits: 512 MiB, no swap, 512 pids, no-new-privileges. */
const DEFAULT_LIMITS = { Memory: 536_870_912, MemorySwap: 536_870_912, PidsLimit: 512, SecurityOpt: ['no-new-privileges:true'] };

describe('buildAppContainer', () => {
  it('builds the create options of one service and color', () => {
    expect(
      buildAppContainer({ spec: shop(), service: 'backend', color: 'green', deployId: 'd-123', secretEnv: { DB_PASSWORD: 's3cret' } }),
    ).toEqual({
      name: 'shop_backend_green',
      Image: 'shop-backend:v2',
      Env: [
        'API_URL=http://api.internal',
        'DB_PASSWORD=s3cret',
        'GREENLIGHT_APP=shop',
        'GREENLIGHT_COLOR=green',
        'GREENLIGHT_DEPLOY_ID=d-123',
        'GREENLIGHT_SERVICE=backend',
        'NODE_ENV=production',
      ],
      Labels: {
        'greenlight.managed': 'true',
        'greenlight.app': 'shop',
        'greenlight.service': 'backend',
        'greenlight.color': 'green',
        'greenlight.deploy-id': 'd-123',
        'greenlight.image': 'shop-backend:v2',
        'greenlight.role': 'app',
      },
      ExposedPorts: { '4000/tcp': {} },
      StopTimeout: 10,
      HostConfig: {
        PortBindings: { '4000/tcp': [{ HostIp: '127.0.0.1', HostPort: '5002' }] },
        RestartPolicy: { Name: 'unless-stopped' },
        NetworkMode: 'greenlight',
        ExtraHosts: ['host.docker.internal:host-gateway'],
        LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
        ...DEFAULT_LIMITS,
      },
      NetworkingConfig: { EndpointsConfig: { greenlight: { Aliases: ['backend-green.shop'] } } },
    });
  });

  it("uses the blue host port, a custom network and the service's own limits (no-new-privileges off) for blue", () => {
    const s = parseDeploySpec({
      app: 'cart',
      network: 'backplane',
      services: { api: { image: 'cart-api:1', port: 8080, hostPorts: { blue: 6001, green: 6002 }, limits: { memory: '1g', pids: 100 }, noNewPrivileges: false } },
    });
    expect(buildAppContainer({ spec: s, service: 'api', color: 'blue', deployId: 'd-9', secretEnv: {} })).toEqual({
      name: 'cart_api_blue',
      Image: 'cart-api:1',
      Env: ['GREENLIGHT_APP=cart', 'GREENLIGHT_COLOR=blue', 'GREENLIGHT_DEPLOY_ID=d-9', 'GREENLIGHT_SERVICE=api'],
      Labels: {
        'greenlight.managed': 'true',
        'greenlight.app': 'cart',
        'greenlight.service': 'api',
        'greenlight.color': 'blue',
        'greenlight.deploy-id': 'd-9',
        'greenlight.image': 'cart-api:1',
        'greenlight.role': 'app',
      },
      ExposedPorts: { '8080/tcp': {} },
      StopTimeout: 10,
      HostConfig: {
        PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '6001' }] },
        RestartPolicy: { Name: 'unless-stopped' },
        NetworkMode: 'backplane',
        ExtraHosts: ['host.docker.internal:host-gateway'],
        LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
        Memory: 1_073_741_824,
        MemorySwap: 1_073_741_824,
        PidsLimit: 100,
      },
      NetworkingConfig: { EndpointsConfig: { backplane: { Aliases: ['api-blue.cart'] } } },
    });
  });

  it.each([
    [0.5, 500_000_000],
    [2, 2_000_000_000],
    [0.01, 10_000_000],
    [1.333, 1_333_000_000],
  ])('gives limits.cpus %s as NanoCpus %s (Docker\'s --cpus)', (cpus, nanoCpus) => {
    const s = webSpec('shop', { image: 'web:1', port: 3000, hostPorts: { blue: 5001, green: 5002 }, limits: { cpus } });
    expect(buildAppContainer({ spec: s, service: 'web', color: 'blue', deployId: 'd-1', secretEnv: {} }).HostConfig).toEqual({
      PortBindings: { '3000/tcp': [{ HostIp: '127.0.0.1', HostPort: '5001' }] },
      RestartPolicy: { Name: 'unless-stopped' },
      NetworkMode: 'greenlight',
      ExtraHosts: ['host.docker.internal:host-gateway'],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      ...DEFAULT_LIMITS,
      NanoCpus: nanoCpus,
    });
  });

  it('lets secrets override env, and GREENLIGHT_* override both', () => {
    const s = webSpec('shop', {
      image: 'web:1',
      port: 3000,
      hostPorts: { blue: 5001, green: 5002 },
      env: { TOKEN: 'from-env', GREENLIGHT_COLOR: 'purple' },
      secrets: ['TOKEN'],
    });
    const env = buildAppContainer({ spec: s, service: 'web', color: 'blue', deployId: 'd-1', secretEnv: { TOKEN: 'from-secret' } }).Env;
    expect(env).toEqual(['GREENLIGHT_APP=shop', 'GREENLIGHT_COLOR=blue', 'GREENLIGHT_DEPLOY_ID=d-1', 'GREENLIGHT_SERVICE=web', 'TOKEN=from-secret']);
  });

  it('fixes the container\'s address on the app network when it is given one (nginx routes to it)', () => {
    const fixed = buildAppContainer({ spec: shop(), service: 'backend', color: 'green', deployId: 'd-1', secretEnv: {}, address: '172.30.0.253' });
    expect(fixed.NetworkingConfig).toEqual({ EndpointsConfig: { greenlight: { Aliases: ['backend-green.shop'], IPAMConfig: { IPv4Address: '172.30.0.253' } } } });
    expect(buildAppContainer({ spec: shop(), service: 'backend', color: 'green', deployId: 'd-1', secretEnv: {}, address: null }).NetworkingConfig).toEqual({
      EndpointsConfig: { greenlight: { Aliases: ['backend-green.shop'] } },
    });
  });

  it('throws on an unknown service', () => {
    expect(() => buildAppContainer({ spec: shop(), service: 'worker', color: 'blue', deployId: 'd-1', secretEnv: {} })).toThrow('unknown service worker');
  });

  it('a worker publishes no port, and gets its stopTimeout (rounded up to whole seconds) as Docker\'s StopTimeout', () => {
    const s = parseDeploySpec({ ...shopInput(), services: { ...shopInput().services, jobs: { image: 'shop-jobs:v1', overlap: false, stopTimeout: '2500ms' } } });
    const jobs = buildAppContainer({ spec: s, service: 'jobs', color: 'blue', deployId: 'd-1', secretEnv: {} });
    expect(jobs.ExposedPorts).toBeUndefined();
    expect(jobs.HostConfig!.PortBindings).toBeUndefined();
    expect(jobs.StopTimeout).toBe(3);
    expect(jobs.HostConfig!.RestartPolicy).toEqual({ Name: 'unless-stopped' });
    expect(jobs.NetworkingConfig).toEqual({ EndpointsConfig: { greenlight: { Aliases: ['jobs-blue.shop'] } } });
  });
});

describe('buildValidationContainer', () => {
  it('builds a one-off container of the new image with no network', () => {
    expect(buildValidationContainer(shop(), 0, 'd-123')).toEqual({
      name: 'shop.validate_unit',
      Image: 'shop-backend:v2',
      Cmd: ['npm', 'test'],
      Env: ['GREENLIGHT_APP=shop', 'GREENLIGHT_DEPLOY_ID=d-123', 'GREENLIGHT_VALIDATION=unit'],
      Labels: {
        'greenlight.managed': 'true',
        'greenlight.app': 'shop',
        'greenlight.service': 'backend',
        'greenlight.deploy-id': 'd-123',
        'greenlight.image': 'shop-backend:v2',
        'greenlight.role': 'validate',
      },
      NetworkDisabled: true,
      HostConfig: { NetworkMode: 'none', AutoRemove: false, ...DEFAULT_LIMITS },
    });
  });

  it("takes the limits of the command's service", () => {
    const s = parseDeploySpec({ ...shopInput(), services: { ...shopInput().services, backend: { ...shopInput().services.backend!, limits: { memory: '64m', pids: 32, cpus: 1.5 } } } });
    expect(buildValidationContainer(s, 0, 'd-1').HostConfig).toEqual({
      NetworkMode: 'none',
      AutoRemove: false,
      Memory: 67_108_864,
      MemorySwap: 67_108_864,
      PidsLimit: 32,
      NanoCpus: 1_500_000_000,
      SecurityOpt: ['no-new-privileges:true'],
    });
  });

  it('gives a spec validated before limits existed (an in-flight deploy) the default limits', () => {
    const s = shop();
    const backend = s.services.backend! as Partial<typeof s.services.backend>;
    delete backend.limits;
    delete backend.noNewPrivileges;
    expect(buildValidationContainer(s, 0, 'd-1').HostConfig).toEqual({ NetworkMode: 'none', AutoRemove: false, ...DEFAULT_LIMITS });
  });

  it('throws on a command index out of range', () => {
    expect(() => buildValidationContainer(shop(), 1, 'd-1')).toThrow('no validation command #1');
  });
});

describe('buildMigrationContainer', () => {
  it("builds a one-off container of the new image on the app network, with the service's env and secrets", () => {
    const withMigrate = parseDeploySpec({ ...shopInput(), migrate: { service: 'backend', run: ['node', 'migrate.js'] } });
    expect(buildMigrationContainer(withMigrate, 'd-9', { DB_PASSWORD: 's3cret' })).toEqual({
      name: 'shop.migrate',
      Image: 'shop-backend:v2',
      Cmd: ['node', 'migrate.js'],
      Env: [
        'API_URL=http://api.internal',
        'DB_PASSWORD=s3cret',
        'GREENLIGHT_APP=shop',
        'GREENLIGHT_DEPLOY_ID=d-9',
        'GREENLIGHT_MIGRATION=true',
        'GREENLIGHT_SERVICE=backend',
        'NODE_ENV=production',
      ],
      Labels: {
        'greenlight.managed': 'true',
        'greenlight.app': 'shop',
        'greenlight.service': 'backend',
        'greenlight.deploy-id': 'd-9',
        'greenlight.image': 'shop-backend:v2',
        'greenlight.role': 'migrate',
      },
      HostConfig: { NetworkMode: 'greenlight', ExtraHosts: ['host.docker.internal:host-gateway'], AutoRemove: false, ...DEFAULT_LIMITS },
    });
  });

  it('throws when the spec has no migrate step', () => {
    expect(() => buildMigrationContainer(shop(), 'd-1', {})).toThrow('the spec has no migrate step');
  });
});

describe('ownerLabels', () => {
  it("an app container's: managed, app, role, service and color (not its deploy id or image)", () => {
    expect(ownerLabels(buildAppContainer({ spec: shop(), service: 'backend', color: 'green', deployId: 'd-9', secretEnv: {} }).Labels)).toEqual({
      'greenlight.managed': 'true',
      'greenlight.app': 'shop',
      'greenlight.role': 'app',
      'greenlight.service': 'backend',
      'greenlight.color': 'green',
    });
  });

  it("a one-off's: managed, app and role; missing labels are empty", () => {
    expect(ownerLabels(buildValidationContainer(shop(), 0, 'd-9').Labels)).toEqual({ 'greenlight.managed': 'true', 'greenlight.app': 'shop', 'greenlight.role': 'validate' });
    expect(ownerLabels(undefined)).toEqual({ 'greenlight.managed': '', 'greenlight.app': '', 'greenlight.role': '' });
  });
});

describe('routeKey / parseRouteKey', () => {
  const routes: [Route, string][] = [
    [{ live: 'blue', backup: null }, 'blue'],
    [{ live: 'green', backup: null }, 'green'],
    [{ live: 'blue', backup: 'green' }, 'blue_green'],
    [{ live: 'green', backup: 'blue' }, 'green_blue'],
  ];

  it.each(routes)('routeKey(%j) is %s, and parses back', (route, key) => {
    expect(routeKey(route)).toBe(key);
    expect(parseRouteKey(key)).toEqual(route);
  });

  it('ignores surrounding whitespace', () => {
    expect(parseRouteKey(' green_blue\n')).toEqual({ live: 'green', backup: 'blue' });
  });

  it.each(['blue_blue', 'green_green', 'red', 'green_blue_x', '', 'blue_', '_blue', 'Blue', 'blue-green'])('rejects %j', (key) => {
    expect(parseRouteKey(key)).toBeNull();
  });
});

describe('renderMainConfig', () => {
  // A checkout under a folder with a space ("/home/me/My Projects/greenlight") is common; every path
  // nginx reads is one quoted argument, or the space would end it.
  it('renders the whole main config, every path quoted (a prefix with a space)', () => {
    const text = renderMainConfig({ prefix: '/srv/my apps/gl', modulesDir: '/opt/nginx modules', appsDir: '/srv/my apps/gl/apps', workerProcesses: 2 });
    expect(text).toBe(`# Rendered by greenlight (activities/builders/nginx.ts): do not edit, it is rewritten.
load_module "/opt/nginx modules/ndk_http_module.so";
load_module "/opt/nginx modules/ngx_http_lua_module.so";
worker_processes 2;
pid "/srv/my apps/gl/nginx.pid";
error_log "/srv/my apps/gl/logs/error.log" warn;
events {
    worker_connections 4096;
}
http {
    access_log "/srv/my apps/gl/logs/access.log" combined buffer=64k flush=1s;
    client_body_temp_path "/srv/my apps/gl/tmp/client_body";
    proxy_temp_path "/srv/my apps/gl/tmp/proxy";
    fastcgi_temp_path "/srv/my apps/gl/tmp/fastcgi";
    uwsgi_temp_path "/srv/my apps/gl/tmp/uwsgi";
    scgi_temp_path "/srv/my apps/gl/tmp/scgi";
    server_tokens off;
    keepalive_timeout 65s;
    lua_shared_dict greenlight_routes 1m;
    lua_shared_dict greenlight_traffic 4m;
    init_by_lua_block {
        local buckets = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000 }
        local function list(v)
            local items = {}
            -- "a, b" between attempts, "a : b" across an internal redirect.
            for item in (v or ""):gmatch("[^, ]+") do if item ~= ":" then items[#items + 1] = item end end
            return items
        end
        -- A canary step's route ("blue|green_blue|10|1"): the canary route for weight % of requests, else
        -- the stable one. Sticky: the client's bucket (1-100) in its cookie, given one when it has none.
        function greenlight_canary(r, cookie)
            local stable, canary, weight, sticky = r:match("^(%a+)|([%a_]+)|(%d+)|(%d)$")
            if not stable then return r end
            local bucket
            if sticky == "1" then
                bucket = tonumber(ngx.var[cookie])
                if not bucket or bucket < 1 or bucket > 100 or bucket % 1 ~= 0 then
                    bucket = math.random(100)
                    ngx.var.gl_cookie = cookie:sub(8) .. "=" .. bucket .. "; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax"
                end
            else
                bucket = math.random(100)
            end
            if bucket <= tonumber(weight) then return canary end
            return stable
        end
        function greenlight_traffic(key, blue, green)
            local addr = ngx.var.upstream_addr
            if not addr then return end
            local d = ngx.shared.greenlight_traffic
            local served
            if not addr:find(" ", 1, true) then
                -- One attempt (the common case): no lists to split, the header time read only on a 5xx.
                local c = (addr == blue and "blue") or (addr == green and "green")
                if not c then return end
                served = "traffic/" .. key .. "/" .. c .. "/"
                d:incr(served .. "requests", 1, 0)
                local st = tonumber(ngx.var.upstream_status)
                if not st or st >= 500 then
                    d:incr(served .. "5xx", 1, 0)
                    if ngx.var.upstream_header_time == "-" then d:incr(served .. "upstream_errors", 1, 0) end
                end
            else
                local addrs, statuses, headers = list(addr), list(ngx.var.upstream_status), list(ngx.var.upstream_header_time)
                for i, a in ipairs(addrs) do
                    local c = (a == blue and "blue") or (a == green and "green")
                    if c then
                        local k = "traffic/" .. key .. "/" .. c .. "/"
                        local noHeaders = headers[i] == nil or headers[i] == "-"
                        -- No headers, then the same address again: a keep-alive connection the server had
                        -- closed (a container replaced at that address), which nginx retried; not the app's answer.
                        if not (noHeaders and addrs[i + 1] == a) then
                            d:incr(k .. "requests", 1, 0)
                            local st = tonumber(statuses[i])
                            if not st or st >= 500 then d:incr(k .. "5xx", 1, 0) end
                            if noHeaders then d:incr(k .. "upstream_errors", 1, 0) end
                        end
                        served = k
                    end
                end
            end
            if not served then return end
            local ms = (tonumber(ngx.var.request_time) or 0) * 1000
            d:incr(served .. "ms_sum", ms, 0)
            for _, b in ipairs(buckets) do
                if ms <= b then
                    d:incr(served .. "le_" .. b, 1, 0)
                    return
                end
            end
            d:incr(served .. "le_inf", 1, 0)
        end
    }
    # Each worker its own sequence for the canary's weighted choice.
    init_worker_by_lua_block { math.randomseed(ngx.now() * 1000 + ngx.worker.pid()) }

    # Admin listener: a unix socket, never reachable from the network. PUT/GET/DELETE /routes/<app>.
    server {
        listen "unix:/srv/my apps/gl/private/admin.sock";
        access_log off;
        location /routes/ {
            content_by_lua_block {
                local app = ngx.var.uri:match("^/routes/([a-z0-9-]+)$")
                if not app then
                    ngx.status = 404
                    ngx.say("expected /routes/<app>")
                    return
                end
                local routes = ngx.shared.greenlight_routes
                local method = ngx.req.get_method()
                if method == "PUT" then
                    ngx.req.read_body()
                    local route = ngx.req.get_body_data() or ""
                    local valid = { blue = true, green = true, blue_green = true, green_blue = true }
                    -- Or a canary step: "<stable>|<canary>_<stable>|<weight 0-99>|<sticky 0/1>".
                    local stable, canary, weight = route:match("^(%a+)|(%a+)_%a+|(%d%d?)|[01]$")
                    local canaryOk = stable and valid[stable] and valid[canary] and stable ~= canary and route:match("^%a+|%a+_(%a+)|") == stable
                    if not valid[route] and not canaryOk then
                        ngx.status = 400
                        ngx.say("invalid route: ", route)
                        return
                    end
                    -- ?unset=1: only where the dict has no route (a canary step putting its route back after an
                    -- nginx restart), never over one another step wrote (compensation's switch back).
                    local ok, err
                    if ngx.var.arg_unset == "1" then
                        ok, err = routes:add(app, route)
                        if not ok and err == "exists" then ok = true end
                    else
                        ok, err = routes:set(app, route)
                    end
                    if not ok then
                        ngx.status = 500
                        ngx.say(err)
                        return
                    end
                elseif method == "DELETE" then
                    routes:delete(app)
                end
                ngx.say(routes:get(app) or "")
            }
        }
        # GET /traffic/<app>: "<service> <color> <counter> <value>" lines; DELETE /traffic/<app>/<color>: zeroed.
        location /traffic/ {
            content_by_lua_block {
                local app, color = ngx.var.uri:match("^/traffic/([a-z0-9-]+)/?([a-z]*)$")
                if not app then
                    ngx.status = 404
                    ngx.say("expected /traffic/<app>[/<color>]")
                    return
                end
                local d = ngx.shared.greenlight_traffic
                local prefix = "traffic/" .. app .. "/"
                for _, key in ipairs(d:get_keys(0)) do
                    -- A plain prefix: "-" in an app name is a pattern character in Lua.
                    local service, c, counter
                    if key:sub(1, #prefix) == prefix then service, c, counter = key:sub(#prefix + 1):match("^([^/]*)/([a-z]+)/(.+)$") end
                    if service then
                        if ngx.req.get_method() == "DELETE" then
                            if c == color then d:delete(key) end
                        else
                            ngx.say(service, " ", c, " ", counter, " ", d:get(key) or 0)
                        end
                    end
                end
            }
        }
    }

    include "/srv/my apps/gl/apps/*.conf";
}
`);
  });

  it('escapes the quote and the backslash, which nginx unescapes inside quotes', () => {
    const text = renderMainConfig({ prefix: '/srv/a "b" \\t', modulesDir: '/m', appsDir: '/srv/a "b" \\t/apps', workerProcesses: 1 });
    expect(text).toContain('\npid "/srv/a \\"b\\" \\\\t/nginx.pid";\n');
    expect(text).toContain('\n    include "/srv/a \\"b\\" \\\\t/apps/*.conf";\n');
  });

  // nginx reads "$x" in access_log's path as a variable and "*?[" in include's as a pattern: no quoting
  // makes them literal, so such a prefix is refused up front rather than half-working.
  it.each(['/srv/$gl', '/srv/gl*', '/srv/gl?', '/srv/gl[1]', '/srv/g\nl'])('refuses the prefix %j, saying which characters', (prefix) => {
    expect(() => renderMainConfig({ prefix, modulesDir: '/m', appsDir: `${prefix}/apps`, workerProcesses: 1 })).toThrow(
      `the nginx prefix ${JSON.stringify(prefix)} has one of $ * ? [ or a line break, which nginx cannot take literally: use a folder without them (GREENLIGHT_HOME)`,
    );
  });
});

/** What every route location of the one-service app "shop" (web on 5001/5002) counts and times out with. */
const openCountLines = (route: string) => `        set_by_lua_block $gl_color { local d = ngx.shared.greenlight_routes; local m = d:get("maintenance/shop"); if m == nil then local f = io.open(ngx.config.prefix() .. "maintenance/shop.json"); m = f and f:read("*a"):match('"retryAfter":(%d+)'); if f then f:close() end; if not m then m = "" end; d:add("maintenance/shop", m) end; if m ~= "" and not (ngx.var.http_x_greenlight_probe and ngx.var.remote_addr == "127.0.0.1") then ngx.var.gl_retry_after = m; return "" end; local r = d:get("shop") or "${route}"; if r:find("|", 1, true) then r = greenlight_canary(r, "cookie_gl_canary_shop") end; ngx.var.gl_route = r; local c = r:match("^%a+"); d:incr("open/shop/web/" .. c, 1, 0); return c } # greenlight:route
        header_filter_by_lua_block { local a = (ngx.var.upstream_addr or ""):match("([^, ]+)$"); local c = (a == "127.0.0.1:5001" and "blue") or (a == "127.0.0.1:5002" and "green"); local o = ngx.var.gl_color; if c and c ~= o then local d = ngx.shared.greenlight_routes; d:incr("open/shop/web/" .. o, -1, 0); d:incr("open/shop/web/" .. c, 1, 0); ngx.var.gl_color = c end }
        log_by_lua_block { local c = ngx.var.gl_color; if c ~= "" then ngx.shared.greenlight_routes:incr("open/shop/web/" .. c, -1, 0); greenlight_traffic("shop/web", "127.0.0.1:5001", "127.0.0.1:5002") end }
        if ($gl_retry_after) { return 503; }
        proxy_read_timeout 60000ms;
        proxy_send_timeout 60000ms;
`;

describe('renderAppConfig', () => {
  it('leaves workers out: an app\'s config is the same text with or without them', () => {
    const withJobs = parseDeploySpec({ ...shopInput(), services: { ...shopInput().services, jobs: { image: 'shop-jobs:v1', overlap: false } } });
    const route: Route = { live: 'green', backup: 'blue' };
    expect(renderAppConfig(withJobs, route)).toBe(renderAppConfig(shop(), route));
    expect(structureHash(withJobs)).toBe(structureHash(shop()));
    expect(renderAppConfig(withJobs, route)).not.toContain('jobs');
  });

  it('renders the whole config of a one-service app', () => {
    const s = web();
    const hash = structureHash(s);
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(renderAppConfig(s, { live: 'green', backup: 'blue' })).toBe(`# greenlight app "shop": rendered by activities/builders/nginx.ts, swapped atomically; do not edit.
# greenlight:structure ${hash}
# WebSockets: Upgrade and "Connection: upgrade" go to the app for upgrade requests only; the others
# send no Connection header and keep the app's connection alive (a map: no Lua per request).
map $http_upgrade $gl_connection_shop {
    default upgrade;
    "" "";
}
upstream gl_shop_web__blue {
    server 127.0.0.1:5001;
    keepalive 64;
}
upstream gl_shop_web__green {
    server 127.0.0.1:5002;
    keepalive 64;
}
upstream gl_shop_web__blue_green {
    server 127.0.0.1:5001 max_fails=1 fail_timeout=2s;
    server 127.0.0.1:5002 backup;
    keepalive 64;
}
upstream gl_shop_web__green_blue {
    server 127.0.0.1:5002 max_fails=1 fail_timeout=2s;
    server 127.0.0.1:5001 backup;
    keepalive 64;
}
server {
    listen 4001;
    # Set by each route's location (its route lookup); empty on the router's own paths.
    set $gl_route "";
    set $gl_color "";
    # A sticky canary's cookie for a client that had none (nginx adds no header whose value is empty).
    set $gl_cookie "";
    add_header Set-Cookie $gl_cookie;
    add_header X-Greenlight-Route $gl_route always;
    add_header X-Greenlight-Upstream $upstream_addr always;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $gl_connection_shop;
    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_connect_timeout 2s;
    proxy_next_upstream error timeout http_500 http_502 http_503 http_504;
    proxy_next_upstream_tries 2;

    location = /health {
        access_log off;
        default_type text/plain;
        return 200 "ok\\n";
    }
    location = /.greenlight/structure {
        allow 127.0.0.1;
        deny all;
        default_type text/plain;
        content_by_lua_block { ngx.say("${hash}") }
    }
    location = /.greenlight/open {
        allow 127.0.0.1;
        deny all;
        default_type text/plain;
        content_by_lua_block { local d = ngx.shared.greenlight_routes; for _, s in ipairs({ "web" }) do for _, c in ipairs({ "blue", "green" }) do ngx.say(s, " ", c, " ", d:get("open/shop/" .. s .. "/" .. c) or 0) end end }
    }
    # Maintenance mode: the route lookup sets the Retry-After seconds, the route location answers 503,
    # and the page is the app's file under <prefix>/maintenance/.
    set $gl_retry_after "";
    error_page 503 @greenlight_maintenance;
    location = /.greenlight/maintenance {
        allow 127.0.0.1;
        deny all;
        default_type text/plain;
        content_by_lua_block { local d = ngx.shared.greenlight_routes; if ngx.req.get_method() == "POST" then local m; local f = io.open(ngx.config.prefix() .. "maintenance/shop.json"); m = f and f:read("*a"):match('"retryAfter":(%d+)'); if f then f:close() end; if not m then m = "" end; d:set("maintenance/shop", m) end; ngx.say(d:get("maintenance/shop") or "") }
    }
    location @greenlight_maintenance {
        root maintenance;
        types { }
        default_type "text/html; charset=utf-8";
        add_header Retry-After $gl_retry_after always;
        add_header Cache-Control "no-store" always;
        try_files /shop.html =503;
    }
    location = /health/blue/web {
        allow 127.0.0.1;
        deny all;
        proxy_pass http://gl_shop_web__blue/health;
    }
    location = /health/green/web {
        allow 127.0.0.1;
        deny all;
        proxy_pass http://gl_shop_web__green/health;
    }
    location / {
${openCountLines('green_blue')}        proxy_pass http://gl_shop_web__$gl_route;
    }
}
`);
  });

  it('renders a spec validated before readTimeout existed (an in-flight deploy) as one with the default', () => {
    const s = web();
    delete (s.services.web as Partial<typeof s.services.web>).readTimeout;
    expect(renderAppConfig(s, { live: 'blue', backup: null })).toBe(renderAppConfig(web(), { live: 'blue', backup: null }));
  });

  it('orders route locations longest prefix first and health locations by service name', () => {
    const text = renderAppConfig(shop(), { live: 'blue', backup: null });
    const locations = text.split('\n').filter((line) => line.trimStart().startsWith('location '));
    expect(locations).toEqual([
      '    location = /health {',
      '    location = /.greenlight/structure {',
      '    location = /.greenlight/open {',
      '    location = /.greenlight/maintenance {',
      '    location @greenlight_maintenance {',
      '    location = /health/blue/backend {',
      '    location = /health/green/backend {',
      '    location = /health/blue/frontend {',
      '    location = /health/green/frontend {',
      '    location = /api {',
      '    location /api/ {',
      '    location / {',
    ]);
  });

  it.each([
    ['/api', ['= /api', '/api/']],
    ['/api/v1', ['= /api/v1', '/api/v1/']],
    ['/api/', ['/api/']],
    ['/', ['/']],
  ])('routes %j on a path-segment boundary (never "/apiary" for "/api")', (route, matches) => {
    const text = renderAppConfig(web({ route }), { live: 'blue', backup: null });
    const routeLines = text.split('\n').filter((line) => line.startsWith('    location ') && !line.includes('health') && !line.includes('.greenlight') && !line.includes('@greenlight'));
    expect(routeLines).toEqual(matches.map((match) => `    location ${match} {`));
    for (const match of matches) expect(text).toContain(`    location ${match} {\n${openCountLines('blue')}        proxy_pass http://gl_shop_web__$gl_route;\n    }\n`);
  });

  it('probes the first health endpoint of each service', () => {
    const s = parseDeploySpec({
      app: 'shop',
      services: { api: { image: 'a:1', port: 1, hostPorts: { blue: 5001, green: 5002 }, health: { endpoints: ['/api/health', '/api/ready'] } } },
    });
    expect(renderAppConfig(s, { live: 'blue', backup: null })).toContain(
      '    location = /health/green/api {\n        allow 127.0.0.1;\n        deny all;\n        proxy_pass http://gl_shop_api__green/api/health;\n    }\n',
    );
  });
});

describe('structureHash / parseAppConfig', () => {
  const allRoutes: Route[] = [
    { live: 'blue', backup: null },
    { live: 'green', backup: null },
    { live: 'blue', backup: 'green' },
    { live: 'green', backup: 'blue' },
  ];

  it('is a 16-hex-digit hash that is stable across calls', () => {
    expect(structureHash(web())).toMatch(/^[0-9a-f]{16}$/);
    expect(structureHash(web())).toBe(structureHash(web()));
  });

  it('does not depend on the route: configs differ only in the route line', () => {
    const s = web();
    const [first, ...rest] = allRoutes.map((route) => renderAppConfig(s, route));
    const withoutRoute = (text: string) => text.replace(/ or "[a-z_]+"; if r:find/g, '');
    for (const text of rest) {
      expect(text).not.toBe(first);
      expect(withoutRoute(text)).toBe(withoutRoute(first!));
      expect(parseAppConfig(text).structure).toBe(structureHash(s));
    }
  });

  it('does not change when only an image changes (a new version needs no nginx reload)', () => {
    expect(structureHash(web({ image: 'shop-web:v2' }))).toBe(structureHash(web()));
  });

  it.each([
    ['the blue host port', { blue: 5005 }],
    ['the green host port', { green: 5006 }],
    ['the route prefix of a service', { route: '/app' }],
  ])('changes when %s changes', (_what, overrides) => {
    expect(structureHash(web(overrides))).not.toBe(structureHash(web()));
  });

  it.each(allRoutes)('parseAppConfig round-trips the route %j and the structure hash', (route) => {
    const s = shop();
    expect(parseAppConfig(renderAppConfig(s, route))).toEqual({ structure: structureHash(s), route });
  });

  it('returns nulls for text that renderAppConfig did not write', () => {
    expect(parseAppConfig('server { listen 80; }\n')).toEqual({ structure: null, route: null });
  });
});

describe('renderAppConfig with container addresses', () => {
  const addresses = { web: { blue: '172.30.0.254:3000', green: '172.30.0.253:3000' } };

  it('sends each color to its container address, its host port kept readable beside it', () => {
    const text = renderAppConfig(web(), { live: 'green', backup: 'blue' }, null, addresses);
    const upstreams = text.slice(text.indexOf('upstream '), text.indexOf('server {'));
    expect(upstreams).toBe(`upstream gl_shop_web__blue {
    server 172.30.0.254:3000; # host port 5001
    keepalive 64;
}
upstream gl_shop_web__green {
    server 172.30.0.253:3000; # host port 5002
    keepalive 64;
}
upstream gl_shop_web__blue_green {
    server 172.30.0.254:3000 max_fails=1 fail_timeout=2s; # host port 5001
    server 172.30.0.253:3000 backup; # host port 5002
    keepalive 64;
}
upstream gl_shop_web__green_blue {
    server 172.30.0.253:3000 max_fails=1 fail_timeout=2s; # host port 5002
    server 172.30.0.254:3000 backup; # host port 5001
    keepalive 64;
}
`);
    // The open count tells the colors apart by the address that answered (both share the container port).
    expect(text).toContain('local c = (a == "172.30.0.254:3000" and "blue") or (a == "172.30.0.253:3000" and "green");');
    expect(parseAppPorts(text).hostPorts).toEqual([5001, 5002]);
    expect(parseColorPorts(text, 'shop', 'blue')).toEqual({ web: 5001 });
    expect(parseColorAddresses(text, 'shop', 'green')).toEqual({ web: '172.30.0.253:3000' });
    expect(configAddresses(text)).toEqual(['172.30.0.253', '172.30.0.254']);
  });

  it('goes to the host port for a color without an address, and an address is part of the structure', () => {
    const text = renderAppConfig(web(), { live: 'blue', backup: null }, null, { web: { blue: null, green: '172.30.0.253:3000' } });
    expect(text).toContain('upstream gl_shop_web__blue {\n    server 127.0.0.1:5001;\n');
    expect(parseColorAddresses(text, 'shop', 'blue')).toEqual({});
    expect(parseAppPorts(text).hostPorts).toEqual([5001, 5002]);
    expect(structureHash(web(), null, addresses)).not.toBe(structureHash(web()));
    expect(structureHash(web(), null, {})).toBe(structureHash(web()));
  });
});

describe('pickAddress', () => {
  it.each([
    ['the top of the subnet first', '172.30.0.0/24', '172.30.0.1', [], '172.30.0.254'],
    ['the next free one down', '172.30.0.0/24', '172.30.0.1', ['172.30.0.254', '172.30.0.253'], '172.30.0.252'],
    ['never the gateway', '10.0.0.0/30', '10.0.0.2', [], '10.0.0.1'],
    ['none in a full subnet', '10.0.0.0/30', '10.0.0.1', ['10.0.0.2'], null],
    ['a subnet given by a host address', '172.30.11.7/24', null, [], '172.30.11.254'],
    ['none for an IPv6 subnet', 'fd00::/64', null, [], null],
  ])('%s', (_what, cidr, gateway, taken, expected) => {
    expect(pickAddress(cidr, gateway, new Set(taken))).toBe(expected);
  });

  it('knows which addresses are a subnet\'s hosts', () => {
    expect([inSubnet('172.30.0.0/24', '172.30.0.254'), inSubnet('172.30.0.0/24', '172.30.0.255'), inSubnet('172.30.0.0/24', '172.30.1.2'), inSubnet('172.30.0.0/24', 'x')]).toEqual([true, false, false, false]);
  });
});

describe('renderAppConfig with router.tls', () => {
  const tlsWeb = (router: DeploySpecInput['router']) =>
    webSpec('shop', { image: 'shop-web:v1', port: 3000, hostPorts: { blue: 5001, green: 5002 }, route: '/' }, { router });
  const tls = { certificate: '/etc/letsencrypt/live/shop.example.com/fullchain.pem', key: '/etc/letsencrypt/live/shop.example.com/privkey.pem' };

  it('keeps the text (and so the structure hash) of a spec without tls as it was before tls existed', () => {
    // The hashes main renders for these specs without tls (since routing to container addresses:
    // keepalive 64, the open count's color by upstream address; three Lua handlers per route, the
    // Connection header by map, real-traffic counting, the canary's weighted choice and sticky cookie,
    // the maintenance lookup with its 503 page): tls must not change them, or every
    // app's next deploy would reload nginx.
    expect(structureHash(web())).toBe('71330f3d0c43d455');
    expect(structureHash(parseDeploySpec(shopSpec()))).toBe('7e69d21ab5474cfd');
    expect(renderAppConfig(web(), { live: 'blue', backup: null }, 'ignored0fingerpr')).toBe(renderAppConfig(web(), { live: 'blue', backup: null }));
  });

  it('serves HTTPS with HTTP/2 on the router port, the fingerprint of the files in the hashed text', () => {
    const s = tlsWeb({ port: 5100, tls });
    const fingerprint = '0123456789abcdef';
    const hash = structureHash(s, fingerprint);
    const text = renderAppConfig(s, { live: 'blue', backup: null }, fingerprint);
    const server = text.slice(text.indexOf('server {'));
    expect(server.slice(0, server.indexOf('\n\n'))).toBe(`server {
    listen 5100 ssl http2;
    ssl_certificate "/etc/letsencrypt/live/shop.example.com/fullchain.pem";
    ssl_certificate_key "/etc/letsencrypt/live/shop.example.com/privkey.pem";
    # greenlight:tls 0123456789abcdef
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:gl_tls_shop:1m;
    ssl_session_timeout 1h;
    # Set by each route's location (its route lookup); empty on the router's own paths.
    set $gl_route "";
    set $gl_color "";
    # A sticky canary's cookie for a client that had none (nginx adds no header whose value is empty).
    set $gl_cookie "";
    add_header Set-Cookie $gl_cookie;
    add_header X-Greenlight-Route $gl_route always;
    add_header X-Greenlight-Upstream $upstream_addr always;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $gl_connection_shop;
    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto https;
    proxy_connect_timeout 2s;
    proxy_next_upstream error timeout http_500 http_502 http_503 http_504;
    proxy_next_upstream_tries 2;`);
    // Everything else is the plain config's, and no redirect server without redirectPort.
    const plain = renderAppConfig(tlsWeb({ port: 5100 }), { live: 'blue', backup: null });
    expect(text.slice(text.indexOf('    location = /health {')).replace(hash, '<hash>')).toBe(plain.slice(plain.indexOf('    location = /health {')).replace(structureHash(tlsWeb({ port: 5100 })), '<hash>'));
    expect(text.match(/^server \{$/gm)).toHaveLength(1);
    expect(parseAppConfig(text).structure).toBe(hash);
  });

  it('adds a plain-HTTP server on redirectPort answering 308 to the same URL on https', () => {
    const text = renderAppConfig(tlsWeb({ port: 5100, tls: { ...tls, redirectPort: 5101 } }), { live: 'blue', backup: null }, '0123456789abcdef');
    expect(text.endsWith(`        proxy_pass http://gl_shop_web__$gl_route;
    }
}
server {
    listen 5101;
    return 308 https://$host:5100$request_uri;
}
`)).toBe(true);
    // On 443 the URL needs no port.
    expect(renderAppConfig(tlsWeb({ port: 443, tls: { ...tls, redirectPort: 80 } }), { live: 'blue', backup: null }, '0123456789abcdef')).toContain(
      'server {\n    listen 80;\n    return 308 https://$host$request_uri;\n}\n',
    );
  });

  it('changes the structure hash when only the files change (a certificate renewed in place reloads nginx)', () => {
    const s = tlsWeb({ port: 5100, tls });
    expect(structureHash(s, 'aaaaaaaaaaaaaaaa')).not.toBe(structureHash(s, 'bbbbbbbbbbbbbbbb'));
    expect(structureHash(s, 'aaaaaaaaaaaaaaaa')).toBe(structureHash(s, 'aaaaaaaaaaaaaaaa'));
    expect(structureHash(s, 'aaaaaaaaaaaaaaaa')).not.toBe(structureHash(tlsWeb({ port: 5100 })));
  });

  it('refuses to render tls without the fingerprint (only NginxRouter reads the files)', () => {
    expect(() => renderAppConfig(tlsWeb({ port: 5100, tls }), { live: 'blue', backup: null })).toThrow('render it through NginxRouter');
  });
});

describe('real-traffic counters (GET /traffic/<app>)', () => {
  const text = ['web blue requests 10', 'web blue 5xx 2', 'web blue upstream_errors 1', 'web blue ms_sum 42.5', 'web blue le_5 6', 'web blue le_25 3', 'web blue le_inf 1', 'api green requests 4', 'api green le_10 4', 'junk', 'web purple requests 3', ''].join('\n');

  it('reads the counters per service and color, buckets in order, unknown lines skipped', () => {
    expect(parseTraffic(text)).toEqual({
      web: { blue: { requests: 10, errors5xx: 2, upstreamErrors: 1, sumMs: 42.5, buckets: [6, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1] } },
      api: { green: { requests: 4, errors5xx: 0, upstreamErrors: 0, sumMs: 0, buckets: [0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0] } },
    });
  });

  it('adds the services of a color up, optionally since an earlier reading; a reset counts from zero', () => {
    const now = parseTraffic(text);
    const before = parseTraffic('web blue requests 4\nweb blue le_5 4\n');
    expect(colorTraffic(now, 'blue', before)).toMatchObject({ requests: 6, errors5xx: 2, buckets: [2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1] });
    expect(colorTraffic(now, 'green').requests).toBe(4);
    expect(trafficSince(parseTraffic('web blue requests 2\n').web!.blue, now.web!.blue)).toMatchObject({ requests: 2 });
  });

  it('gives quantiles as bucket bounds, twice the last bound past it, null without requests', () => {
    const blue = parseTraffic(text).web!.blue!;
    expect(trafficQuantileMs(blue, 0.5)).toBe(5);
    expect(trafficQuantileMs(blue, 0.9)).toBe(25);
    expect(trafficQuantileMs(blue, 1)).toBe(10_000);
    expect(trafficQuantileMs(colorTraffic({}, 'blue'), 0.5)).toBeNull();
  });
});
