/**
 * Pure builders: spec + route -> nginx config text. No I/O; tested by exact equality.
 *
 * The switch needs no reload: every upstream an app can use (each color alone, each color with the other
 * as `backup`) is always configured, and the route is chosen per request from a Lua shared dict written
 * through an admin listener on a unix socket. The rendered app config also carries the route as its
 * default, so an nginx that restarts (and starts with an empty dict) comes up on the right color.
 */
import { createHash } from 'node:crypto';
import { COLORS, type Color } from '../../src/names';
import type { DeploySpec } from '../../src/config/schema';
import { routedSpec, type RoutedSpec } from '../../src/config/services';
import type { CanaryRoute, Route } from '../../src/types';

export const ROUTES_DICT = 'greenlight_routes';
export const ROUTE_MARKER = '# greenlight:route';
/** The line carrying the fingerprint of the certificate and key contents. */
export const TLS_MARKER = '# greenlight:tls';
const ROUTE_PLACEHOLDER = '@ROUTE@';
/** After a server line to a container address: the host port that color is published on. */
const HOST_PORT_MARKER = '# host port';
const UPSTREAM_KEEPALIVE = 64;
/** The shared dict of real-traffic counters (its own zone: a reload cannot resize the routes dict). */
export const TRAFFIC_DICT = 'greenlight_traffic';
/** Upper bounds (ms) of the real-traffic latency buckets; one more bucket takes the rest ("inf"). */
export const TRAFFIC_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000] as const;
const OVER_LAST_BUCKET_MS = 2 * TRAFFIC_BUCKETS_MS[TRAFFIC_BUCKETS_MS.length - 1];

/** The route as the key nginx looks up: "green" alone, or "green_blue" (green, blue as backup). */
export function routeKey(route: Route): string {
  return route.backup ? `${route.live}_${route.backup}` : route.live;
}

/**
 * A canary step as the routes dict holds it: "blue|green_blue|10|1" (stable route, canary route, weight
 * in per cent, sticky 1/0). The location's lookup sees the "|" and picks per request (greenlight_canary).
 */
export function canaryKey(canary: CanaryRoute): string {
  return `${canary.stable}|${routeKey({ live: canary.canary, backup: canary.stable })}|${canary.weight}|${canary.sticky ? 1 : 0}`;
}

export function parseCanaryKey(key: string): CanaryRoute | null {
  const [stable, canaryRoute, weight, sticky, extra] = key.trim().split('|');
  const canary = parseRouteKey(canaryRoute ?? '');
  const isColor = (c: string | undefined): c is Color => COLORS.includes(c as Color);
  if (!isColor(stable) || !canary || canary.backup !== stable || extra !== undefined || !/^\d{1,2}$/.test(weight ?? '') || !/^[01]$/.test(sticky ?? '')) return null;
  return { stable, canary: canary.live, weight: Number(weight), sticky: sticky === '1' };
}

/** The cookie a sticky canary keeps each client's bucket (1-100) in: one per app. */
export function canaryCookieName(app: string): string {
  return `gl_canary_${app.replace(/-/g, '_')}`;
}

export function parseRouteKey(key: string): Route | null {
  const [live, backup, extra] = key.trim().split('_');
  const isColor = (c: string | undefined): c is Color => COLORS.includes(c as Color);
  if (!isColor(live) || extra !== undefined) return null;
  if (backup === undefined) return { live, backup: null };
  return isColor(backup) && backup !== live ? { live, backup } : null;
}

/** Every route an app can be on: each has an upstream, and the admin listener accepts exactly these. */
const ALL_ROUTES: Route[] = [
  { live: 'blue', backup: null },
  { live: 'green', backup: null },
  { live: 'blue', backup: 'green' },
  { live: 'green', backup: 'blue' },
];

export interface MainConfigInput {
  /** nginx prefix: pid, logs, temp files, private/ (the admin socket) and apps/ live here. */
  prefix: string;
  modulesDir: string;
  /** Folder whose *.conf files are the apps (a check folder when testing a candidate). */
  appsDir: string;
  workerProcesses: number;
  /** ip:port of the router's Prometheus endpoint (real-traffic counters at /metrics); null: none. */
  metricsAddress?: string | null;
}

/**
 * The folder of the prefix only the worker's user may enter: whoever can connect to the admin socket
 * in it can switch any app's traffic (nginx makes the socket itself 0666).
 */
export function privateDir(prefix: string): string {
  return `${prefix}/private`;
}

export function adminSocketPath(prefix: string): string {
  return `${privateDir(prefix)}/admin.sock`;
}

/**
 * A path as one quoted nginx argument: unquoted, a space (a checkout under "/home/me/My Projects") or a
 * `;` would end it. Inside quotes nginx unescapes `\"` and `\\` (and reads `\t` as a tab), so both are
 * escaped. `pattern` (include's `/*.conf`) is appended as it is.
 */
export function nginxPath(path: string, pattern = ''): string {
  return `"${`${path}${pattern}`.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** No quoting makes `$` literal in access_log's path (a variable) or `*?[` in include's (a pattern). */
function assertLiteral(what: string, path: string): void {
  if (/[$*?[\n\r]/.test(path)) {
    throw new Error(`the ${what} ${JSON.stringify(path)} has one of $ * ? [ or a line break, which nginx cannot take literally: use a folder without them (GREENLIGHT_HOME)`);
  }
}

/**
 * One request's real traffic, counted in the log phase (shared dict only, no I/O). Every attempt nginx
 * made counts for the color whose address it went to: a response, a 5xx (or no status: the attempt
 * failed), an upstream error (no response headers: refused, reset, timed out). So a new color's 500
 * that nginx then served from the backup still counts against the new color; an attempt without headers
 * that nginx retried on the same address (a stale keep-alive connection) is not counted. The request's latency
 * bucket (and `ms_sum`, for the mean) goes to the color that served it, the last attempt. Defined once
 * per nginx; every app's route locations call it with their colors' addresses.
 */
const TRAFFIC_LUA = `    lua_shared_dict ${TRAFFIC_DICT} 4m;
    init_by_lua_block {
        local buckets = { ${TRAFFIC_BUCKETS_MS.join(', ')} }
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
            local d = ngx.shared.${TRAFFIC_DICT}
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
`;

/** The router's Prometheus endpoint: every app's real-traffic counters, per service and color. */
function renderMetricsServer(address: string): string {
  return `
    # Prometheus text format: greenlight_router_* per app, service and color (GREENLIGHT_ROUTER_METRICS_ADDRESS).
    server {
        listen ${address};
        access_log off;
        location = /metrics {
            default_type "text/plain; version=0.0.4";
            content_by_lua_block {
                local d = ngx.shared.${TRAFFIC_DICT}
                local series, order = {}, {}
                for _, key in ipairs(d:get_keys(0)) do
                    local app, service, color, counter = key:match("^traffic/([^/]+)/([^/]*)/([a-z]+)/(.+)$")
                    if app then
                        local id = app .. "/" .. service .. "/" .. color
                        if not series[id] then
                            series[id] = { labels = 'app="' .. app .. '",service="' .. service .. '",color="' .. color .. '"', c = {} }
                            order[#order + 1] = id
                        end
                        series[id].c[counter] = d:get(key) or 0
                    end
                end
                table.sort(order)
                local out = {}
                local function family(name, kind, help, each)
                    out[#out + 1] = "# HELP " .. name .. " " .. help
                    out[#out + 1] = "# TYPE " .. name .. " " .. kind
                    for _, id in ipairs(order) do each(series[id]) end
                end
                family("greenlight_router_requests_total", "counter", "Requests (attempts: one nginx retried on the backup counts for both colors) the router sent to a color.", function(s) out[#out + 1] = "greenlight_router_requests_total{" .. s.labels .. "} " .. (s.c.requests or 0) end)
                family("greenlight_router_responses_5xx_total", "counter", "Of those, answered with a 5xx status or none.", function(s) out[#out + 1] = "greenlight_router_responses_5xx_total{" .. s.labels .. "} " .. (s.c["5xx"] or 0) end)
                family("greenlight_router_upstream_errors_total", "counter", "Of those, no upstream sent response headers (refused, reset, timed out).", function(s) out[#out + 1] = "greenlight_router_upstream_errors_total{" .. s.labels .. "} " .. (s.c.upstream_errors or 0) end)
                family("greenlight_router_request_duration_seconds", "histogram", "Request time, counted for the color that served the request.", function(s)
                    local total = 0
                    for _, b in ipairs({ ${TRAFFIC_BUCKETS_MS.join(', ')} }) do
                        total = total + (s.c["le_" .. b] or 0)
                        out[#out + 1] = "greenlight_router_request_duration_seconds_bucket{" .. s.labels .. ',le="' .. (b / 1000) .. '"} ' .. total
                    end
                    total = total + (s.c.le_inf or 0)
                    out[#out + 1] = "greenlight_router_request_duration_seconds_bucket{" .. s.labels .. ',le="+Inf"} ' .. total
                    out[#out + 1] = "greenlight_router_request_duration_seconds_sum{" .. s.labels .. "} " .. ((s.c.ms_sum or 0) / 1000)
                    out[#out + 1] = "greenlight_router_request_duration_seconds_count{" .. s.labels .. "} " .. total
                end)
                ngx.print(table.concat(out, "\\n"), "\\n")
            }
        }
    }
`;
}

/** The admin listener: a unix socket, never reachable from the network (routes and traffic counters). */
function renderAdminServer(prefix: string): string {
  return `    # Admin listener: a unix socket, never reachable from the network. PUT/GET/DELETE /routes/<app>.
    server {
        listen ${nginxPath(`unix:${adminSocketPath(prefix)}`)};
        access_log off;
        location /routes/ {
            content_by_lua_block {
                local app = ngx.var.uri:match("^/routes/([a-z0-9-]+)$")
                if not app then
                    ngx.status = 404
                    ngx.say("expected /routes/<app>")
                    return
                end
                local routes = ngx.shared.${ROUTES_DICT}
                local method = ngx.req.get_method()
                if method == "PUT" then
                    ngx.req.read_body()
                    local route = ngx.req.get_body_data() or ""
                    local valid = { ${ALL_ROUTES.map((route) => `${routeKey(route)} = true`).join(', ')} }
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
                local d = ngx.shared.${TRAFFIC_DICT}
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
`;
}

// The header lines below name the builder's first home (activities/builders/): the rendered text is kept
// byte-identical on purpose, since any change to it changes the structure hash and makes every routed
// app's next deploy reload nginx.
export function renderMainConfig({ prefix, modulesDir, appsDir, workerProcesses, metricsAddress = null }: MainConfigInput): string {
  assertLiteral('nginx prefix', prefix);
  assertLiteral('nginx modules folder', modulesDir);
  assertLiteral('apps folder', appsDir);
  return `# Rendered by greenlight (activities/builders/nginx.ts): do not edit, it is rewritten.
load_module ${nginxPath(`${modulesDir}/ndk_http_module.so`)};
load_module ${nginxPath(`${modulesDir}/ngx_http_lua_module.so`)};
worker_processes ${workerProcesses};
pid ${nginxPath(`${prefix}/nginx.pid`)};
error_log ${nginxPath(`${prefix}/logs/error.log`)} warn;
events {
    worker_connections 4096;
}
http {
    access_log ${nginxPath(`${prefix}/logs/access.log`)} combined buffer=64k flush=1s;
    client_body_temp_path ${nginxPath(`${prefix}/tmp/client_body`)};
    proxy_temp_path ${nginxPath(`${prefix}/tmp/proxy`)};
    fastcgi_temp_path ${nginxPath(`${prefix}/tmp/fastcgi`)};
    uwsgi_temp_path ${nginxPath(`${prefix}/tmp/uwsgi`)};
    scgi_temp_path ${nginxPath(`${prefix}/tmp/scgi`)};
    server_tokens off;
    keepalive_timeout 65s;
    lua_shared_dict ${ROUTES_DICT} 1m;
${TRAFFIC_LUA}
${renderAdminServer(prefix)}${metricsAddress === null ? '' : renderMetricsServer(metricsAddress)}
    include ${nginxPath(appsDir, '/*.conf')};
}
`;
}

/**
 * The routes dict's key of the open count of one service's color: requests the router sent it and that
 * have not ended, WebSockets and streams until they close. +1 on the color the route sends a request to
 * (access phase), moved when nginx served it from the other color (the backup; header filter), -1 when
 * it ends (log phase). In the shared dict the routes are in, so no I/O per request; read back on the
 * app's port at /.greenlight/open (loopback only). A route key never has a "/".
 */
export function openKey(app: string, service: string, color: string): string {
  return `open/${app}/${service}${service ? '/' : ''}${color}`;
}

/** The upstream of one service on one route; `route` may also be an nginx variable holding a route key. */
export function upstreamName(app: string, service: string, route: Route | string): string {
  return `gl_${app}_${service}__${typeof route === 'string' ? route : routeKey(route)}`;
}

/**
 * Where nginx reaches each service's colors on this host: the container's own address on the app
 * network ("172.30.0.254:4000", no docker-proxy hop, kept across container and dockerd restarts), or
 * null for the published host port on 127.0.0.1 (a network without a configured subnet, a container
 * created before addresses). Services or colors left out are null.
 */
export type UpstreamAddresses = Record<string, Partial<Record<Color, string | null>>>;

/** Where nginx sends `color` of `service`: its address, else 127.0.0.1:<host port>. */
export function upstreamTarget(spec: RoutedSpec, service: string, color: Color, addresses: UpstreamAddresses): string {
  return addresses[service]?.[color] ?? `127.0.0.1:${spec.services[service]!.hostPorts[color]}`;
}

/** A server line names its color's host port when it goes to an address: the ports an app holds stay readable. */
function serverLine(spec: RoutedSpec, service: string, color: Color, addresses: UpstreamAddresses, params: string): string {
  const target = upstreamTarget(spec, service, color, addresses);
  const port = target.startsWith('127.0.0.1:') ? '' : ` ${HOST_PORT_MARKER} ${spec.services[service]!.hostPorts[color]}`;
  return `    server ${target}${params};${port}`;
}

function renderUpstreams(spec: RoutedSpec, service: string, addresses: UpstreamAddresses): string {
  return ALL_ROUTES.map((route) => {
    // A lone primary is never marked down by nginx; with a backup, one failure moves traffic to the
    // backup for 2s (green answering 5xx during verify is then served by blue).
    const servers = route.backup
      ? `${serverLine(spec, service, route.live, addresses, ' max_fails=1 fail_timeout=2s')}\n${serverLine(spec, service, route.backup, addresses, ' backup')}`
      : serverLine(spec, service, route.live, addresses, '');
    // Idle keep-alive connections each nginx worker keeps to the app: with 16, 50 concurrent clients made
    // nginx open and close upstream connections by the thousand per second, and TIME_WAIT used up the
    // ephemeral ports (33,000 sockets, throughput down to 2-4k requests/s; bench router-throughput).
    return `upstream ${upstreamName(spec.app, service, route)} {\n${servers}\n    keepalive ${UPSTREAM_KEEPALIVE};\n}\n`;
  }).join('');
}

/** Longest route prefix first, so "/api" wins over "/" regardless of spec order. */
function servicesByRoute(spec: RoutedSpec): string[] {
  return Object.keys(spec.services).sort((a, b) => spec.services[b]!.route.length - spec.services[a]!.route.length || a.localeCompare(b));
}

/**
 * A route matches on a path-segment boundary: "/api" serves "/api" and "/api/...", not "/apiary" (a bare
 * nginx prefix would). "/" and a route ending in "/" are already on one.
 */
export function routeMatches(route: string): string[] {
  return route.endsWith('/') ? [route] : [`= ${route}`, `${route}/`];
}

/**
 * The server block's TLS lines: HTTPS with HTTP/2 on the router port (nginx 1.22 spells it on `listen`;
 * `http2 on;` came in 1.25.1). The fingerprint of the files' contents (read by NginxRouter: builders do
 * no I/O) is part of the hashed text: nginx reads the files at a reload only, and a renewal in place
 * changes no other byte, so without it the next deploy would find the structure unchanged and skip it.
 */
function renderTlsLines(spec: DeploySpec, tlsFingerprint: string | null): { listen: string; lines: string } {
  const tls = spec.router.tls;
  if (!tls) return { listen: `${spec.router.port}`, lines: '' };
  if (tlsFingerprint === null) throw new Error(`the config of ${spec.app} has router.tls but no fingerprint of its files: render it through NginxRouter (it reads them)`);
  return {
    listen: `${spec.router.port} ssl http2`,
    lines: `    ssl_certificate ${nginxPath(tls.certificate)};
    ssl_certificate_key ${nginxPath(tls.key)};
    ${TLS_MARKER} ${tlsFingerprint}
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:gl_tls_${spec.app}:1m;
    ssl_session_timeout 1h;
`,
  };
}

/** The plain-HTTP server of `router.tls.redirectPort`: every request to the same path on HTTPS (308 keeps the method and body). */
function renderRedirect(spec: DeploySpec): string {
  const redirectPort = spec.router.tls?.redirectPort;
  if (redirectPort === undefined) return '';
  // $host is the request's host without its port; https on 443 needs none in the URL.
  const authority = spec.router.port === 443 ? '$host' : `$host:${spec.router.port}`;
  return `server {
    listen ${redirectPort};
    return 308 https://${authority}$request_uri;
}
`;
}

/** The app's own Connection header variable: a map is http-wide, so one per app ("-" is not a variable name's). */
function connectionVariable(app: string): string {
  return `$gl_connection_${app.replace(/-/g, '_')}`;
}

/**
 * Maintenance mode, one app's on-disk state: `<prefix>/maintenance/<app>.json` (whether it is on, the
 * Retry-After seconds, since when, the message) and `<app>.html` (the page nginx serves). Relative to
 * nginx's prefix, so builders need no path; world-readable, since nginx's workers (nobody) read them,
 * and written only by the worker's user. The files are the truth: nginx keeps the Retry-After seconds in
 * the routes dict, loaded from the file by the first request after a start (a restarted nginx starts
 * with an empty dict) and again whenever greenlight changes the file.
 */
export const MAINTENANCE_DIR = 'maintenance';

/** The routes dict's key of an app's maintenance entry: "" (off) or the Retry-After seconds (on). */
export function maintenanceKey(app: string): string {
  return `maintenance/${app}`;
}

/**
 * The header that lets a request from 127.0.0.1 through maintenance (greenlight's own probes send it:
 * verify checks the new color through the router behind the 503s users get).
 */
export const PROBE_HEADER = 'X-Greenlight-Probe';

/** Lua: sets `m` (declared by the caller) to the app's Retry-After seconds from its state file, or "" (off, or no file). */
function maintenanceFromFile(app: string): string {
  return `local f = io.open(ngx.config.prefix() .. "${MAINTENANCE_DIR}/${app}.json"); m = f and f:read("*a"):match('"retryAfter":(%d+)'); if f then f:close() end; if not m then m = "" end;`;
}

/**
 * Lua at the head of a route lookup: one dict read while maintenance is off. The first request after
 * nginx started (no entry yet) loads the file; `add`, so an entry greenlight wrote meanwhile wins. On:
 * the lookup sets $gl_retry_after and routes nowhere ($gl_color ""), and the location answers 503.
 */
function maintenanceLookup(app: string): string {
  const key = maintenanceKey(app);
  const probe = `http_${PROBE_HEADER.toLowerCase().replace(/-/g, '_')}`;
  return `local m = d:get("${key}"); if m == nil then ${maintenanceFromFile(app)} d:add("${key}", m) end; if m ~= "" and not (ngx.var.${probe} and ngx.var.remote_addr == "127.0.0.1") then ngx.var.gl_retry_after = m; return "" end;`;
}

/**
 * The app's maintenance mode in its server block: the Retry-After variable the route lookup sets, the
 * 503s' error page, and its locations: the loopback-only sync (GET: the dict's entry; POST: loaded from the
 * state file, which only the worker's user can write, so whoever reaches it cannot change the state)
 * and the 503 page the route locations' error_page goes to.
 */
function renderMaintenanceLocations(app: string): string {
  return `    # Maintenance mode: the route lookup sets the Retry-After seconds, the route location answers 503,
    # and the page is the app's file under <prefix>/${MAINTENANCE_DIR}/.
    set $gl_retry_after "";
    error_page 503 @greenlight_maintenance;
    location = /.greenlight/maintenance {
        allow 127.0.0.1;
        deny all;
        default_type text/plain;
        content_by_lua_block { local d = ngx.shared.${ROUTES_DICT}; if ngx.req.get_method() == "POST" then local m; ${maintenanceFromFile(app)} d:set("${maintenanceKey(app)}", m) end; ngx.say(d:get("${maintenanceKey(app)}") or "") }
    }
    location @greenlight_maintenance {
        root ${MAINTENANCE_DIR};
        types { }
        default_type "text/html; charset=utf-8";
        add_header Retry-After $gl_retry_after always;
        add_header Cache-Control "no-store" always;
        try_files /${app}.html =503;
    }
`;
}

function renderBody(spec: RoutedSpec, structureHash: string, tlsFingerprint: string | null, addresses: UpstreamAddresses): string {
  const tls = renderTlsLines(spec, tlsFingerprint);
  const services = Object.keys(spec.services).sort();
  // Per-color routes reach a color whatever the route, the not-yet-live one too: loopback only (the
  // worker's verify probes them from 127.0.0.1), like the structure hash.
  const healthLocations = services.flatMap((service) =>
    COLORS.map(
      (color) => `    location = /health/${color}/${service} {
        allow 127.0.0.1;
        deny all;
        proxy_pass http://${upstreamName(spec.app, service, color)}${spec.services[service]!.health.endpoints[0]};
    }
`,
    ),
  );
  const routeLocations = servicesByRoute(spec).flatMap((service) => {
    const svc = spec.services[service]!;
    // A deploy validated before readTimeout existed carries none: the schema's default (60s), as before.
    const readTimeout = svc.readTimeout ?? 60_000;
    const key = (color: string) => `"${openKey(spec.app, service, '')}" .. ${color}`;
    const dict = `ngx.shared.${ROUTES_DICT}`;
    // Three Lua handlers per request, no ngx.ctx (measured: bench router-throughput): the route lookup
    // and the open count's +1 in one set_by_lua, the move to the color nginx served from (the backup)
    // when the response headers arrive, the -1 when the request ends. The color is kept in $gl_color.
    return routeMatches(svc.route).map(
      (match) => `    location ${match} {
        set_by_lua_block $gl_color { local d = ${dict}; ${maintenanceLookup(spec.app)} local r = d:get("${spec.app}") or "${ROUTE_PLACEHOLDER}"; if r:find("|", 1, true) then r = greenlight_canary(r, "cookie_${canaryCookieName(spec.app)}") end; ngx.var.gl_route = r; local c = r:match("^%a+"); d:incr(${key('c')}, 1, 0); return c } ${ROUTE_MARKER}
        header_filter_by_lua_block { local a = (ngx.var.upstream_addr or ""):match("([^, ]+)$"); local c = (a == "${upstreamTarget(spec, service, 'blue', addresses)}" and "blue") or (a == "${upstreamTarget(spec, service, 'green', addresses)}" and "green"); local o = ngx.var.gl_color; if c and c ~= o then local d = ${dict}; d:incr(${key('o')}, -1, 0); d:incr(${key('c')}, 1, 0); ngx.var.gl_color = c end }
        log_by_lua_block { local c = ngx.var.gl_color; if c ~= "" then ${dict}:incr(${key('c')}, -1, 0); greenlight_traffic("${spec.app}/${service}", "${upstreamTarget(spec, service, 'blue', addresses)}", "${upstreamTarget(spec, service, 'green', addresses)}") end }
        if ($gl_retry_after) { return 503; }
        proxy_read_timeout ${readTimeout}ms;
        proxy_send_timeout ${readTimeout}ms;
        proxy_pass http://${upstreamName(spec.app, service, '$gl_route')};
    }
`,
    );
  });
  // The structure hash is written by Lua in the content phase: `return` would answer in the rewrite
  // phase, before allow/deny are checked, i.e. to anyone.
  return `# greenlight app "${spec.app}": rendered by activities/builders/nginx.ts, swapped atomically; do not edit.
# greenlight:structure ${structureHash}
# WebSockets: Upgrade and "Connection: upgrade" go to the app for upgrade requests only; the others
# send no Connection header and keep the app's connection alive (a map: no Lua per request).
map $http_upgrade ${connectionVariable(spec.app)} {
    default upgrade;
    "" "";
}
${services.map((service) => renderUpstreams(spec, service, addresses)).join('')}server {
    listen ${tls.listen};
${tls.lines}    # Set by each route's location (its route lookup); empty on the router's own paths.
    set $gl_route "";
    set $gl_color "";
    # A sticky canary's cookie for a client that had none (nginx adds no header whose value is empty).
    set $gl_cookie "";
    add_header Set-Cookie $gl_cookie;
    add_header X-Greenlight-Route $gl_route always;
    add_header X-Greenlight-Upstream $upstream_addr always;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection ${connectionVariable(spec.app)};
    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
${spec.router.tls ? '    proxy_set_header X-Forwarded-Proto https;\n' : ''}    proxy_connect_timeout 2s;
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
        content_by_lua_block { ngx.say("${structureHash}") }
    }
    location = /.greenlight/open {
        allow 127.0.0.1;
        deny all;
        default_type text/plain;
        content_by_lua_block { local d = ngx.shared.${ROUTES_DICT}; for _, s in ipairs({ ${services.map((service) => `"${service}"`).join(', ')} }) do for _, c in ipairs({ "blue", "green" }) do ngx.say(s, " ", c, " ", d:get(${'"'}${openKey(spec.app, '', '')}${'"'} .. s .. "/" .. c) or 0) end end }
    }
${renderMaintenanceLocations(spec.app)}${healthLocations.join('')}${routeLocations.join('')}}
${renderRedirect(spec)}`;
}

/**
 * Hash of everything but the default route: equal hashes mean a route change needs no reload. With
 * `router.tls`, `tlsFingerprint` (NginxRouter.tlsFingerprint) is part of it; without, it is ignored.
 * The upstream addresses are part of it: a container that moved is a structure change.
 */
export function structureHash(spec: DeploySpec, tlsFingerprint: string | null = null, addresses: UpstreamAddresses = {}): string {
  return createHash('sha256').update(renderBody(routedSpec(spec), '', tlsFingerprint, addresses)).digest('hex').slice(0, 16);
}

/**
 * The app's config text. Workers (services without a port) are left out: nginx has nothing to route to
 * them, so an app's config is the same text with or without its workers.
 */
export function renderAppConfig(spec: DeploySpec, route: Route, tlsFingerprint: string | null = null, addresses: UpstreamAddresses = {}): string {
  return renderBody(routedSpec(spec), structureHash(spec, tlsFingerprint, addresses), tlsFingerprint, addresses).replaceAll(ROUTE_PLACEHOLDER, routeKey(route));
}

/** The origin the worker reaches an app's router at: loopback, https with `router.tls`. */
export function routerOrigin(spec: Pick<DeploySpec, 'router'>): string {
  return `${spec.router.tls ? 'https' : 'http'}://127.0.0.1:${spec.router.port}`;
}

/** Reads back what renderAppConfig wrote: the structure hash and the default route. */
export function parseAppConfig(text: string): { structure: string | null; route: Route | null } {
  const structure = /^# greenlight:structure (\S+)$/m.exec(text)?.[1] ?? null;
  const routeLine = text.split('\n').find((line) => line.includes(ROUTE_MARKER));
  const key = routeLine ? /or "([a-z_]+)"/.exec(routeLine)?.[1] : undefined;
  return { structure, route: key ? parseRouteKey(key) : null };
}

export interface AppPorts {
  routerPort: number | null;
  /** Whether the router port serves HTTPS (`listen N ssl http2;`). */
  tls: boolean;
  /** The plain-HTTP port redirecting to it (the second server's `listen`), if any. */
  redirectPort: number | null;
  hostPorts: number[];
}

/** The ports an app's rendered config holds: its router port (the first `listen`), its redirect port (a second) and every host port its upstreams name. */
export function parseAppPorts(text: string): AppPorts {
  const [router, redirect] = [...text.matchAll(/^ {4}listen (\d+)( ssl http2)?;$/gm)];
  const hostPorts = new Set([...text.matchAll(/^ {4}server (?:127\.0\.0\.1:(\d+)[ ;].*|\S+ .*# host port (\d+))$/gm)].map((m) => Number(m[1] ?? m[2])));
  return {
    routerPort: router === undefined ? null : Number(router[1]),
    tls: router?.[2] !== undefined,
    redirectPort: redirect === undefined ? null : Number(redirect[1]),
    hostPorts: [...hostPorts].sort((a, b) => a - b),
  };
}

/** Open counts as /.greenlight/open prints them ("<service> <color> <n>" per line): per service and color. */
export function parseOpenCounts(text: string): Record<string, Record<Color, number>> {
  const counts: Record<string, Record<Color, number>> = {};
  for (const line of text.split('\n')) {
    const [service, color, n, extra] = line.trim().split(' ');
    if (!service || !COLORS.includes(color as Color) || extra !== undefined || !/^-?\d+$/.test(n ?? '')) continue;
    // A count below 0 (a worker that crashed mid-request cannot leave one, but an edited dict could) is 0.
    (counts[service] ??= { blue: 0, green: 0 })[color as Color] = Math.max(0, Number(n));
  }
  return counts;
}

/** One color's real-traffic counters: requests, 5xx, upstream errors, latency (sum and buckets). */
export interface ColorTraffic {
  requests: number;
  errors5xx: number;
  upstreamErrors: number;
  sumMs: number;
  /** Requests per latency bucket, not cumulative: one per TRAFFIC_BUCKETS_MS bound, then the rest. */
  buckets: number[];
}

export type TrafficCounters = Record<string, Partial<Record<Color, ColorTraffic>>>;

const noTraffic = (): ColorTraffic => ({ requests: 0, errors5xx: 0, upstreamErrors: 0, sumMs: 0, buckets: new Array<number>(TRAFFIC_BUCKETS_MS.length + 1).fill(0) });

/** Counters as GET /traffic/<app> prints them ("<service> <color> <counter> <value>" per line). */
export function parseTraffic(text: string): TrafficCounters {
  const counters: TrafficCounters = {};
  for (const line of text.split('\n')) {
    const [service, color, counter, value, extra] = line.trim().split(' ');
    const n = Number(value);
    if (service === undefined || !COLORS.includes(color as Color) || counter === undefined || extra !== undefined || !Number.isFinite(n)) continue;
    const c = ((counters[service] ??= {})[color as Color] ??= noTraffic());
    if (counter === 'requests') c.requests = n;
    else if (counter === '5xx') c.errors5xx = n;
    else if (counter === 'upstream_errors') c.upstreamErrors = n;
    else if (counter === 'ms_sum') c.sumMs = n;
    else if (counter === 'le_inf') c.buckets[TRAFFIC_BUCKETS_MS.length] = n;
    else {
      const i = TRAFFIC_BUCKETS_MS.indexOf(Number(counter.replace(/^le_/, '')) as (typeof TRAFFIC_BUCKETS_MS)[number]);
      if (i >= 0) c.buckets[i] = n;
    }
  }
  return counters;
}

/** What a color counted between two readings (a counter reset in between counts from zero). */
export function trafficSince(after: ColorTraffic | undefined, before: ColorTraffic | undefined): ColorTraffic {
  const a = after ?? noTraffic();
  const b = before ?? noTraffic();
  if (a.requests < b.requests) return a;
  return { requests: a.requests - b.requests, errors5xx: a.errors5xx - b.errors5xx, upstreamErrors: a.upstreamErrors - b.upstreamErrors, sumMs: a.sumMs - b.sumMs, buckets: a.buckets.map((n, i) => n - (b.buckets[i] ?? 0)) };
}

/** Two counters added up (the services of one color). */
export function addTraffic(a: ColorTraffic, b: ColorTraffic | undefined): ColorTraffic {
  if (!b) return a;
  return { requests: a.requests + b.requests, errors5xx: a.errors5xx + b.errors5xx, upstreamErrors: a.upstreamErrors + b.upstreamErrors, sumMs: a.sumMs + b.sumMs, buckets: a.buckets.map((n, i) => n + (b.buckets[i] ?? 0)) };
}

/** One color's traffic over every service, optionally what it counted since `since`. */
export function colorTraffic(counters: TrafficCounters, color: Color, since?: TrafficCounters): ColorTraffic {
  return Object.keys(counters).reduce((sum, service) => addTraffic(sum, since ? trafficSince(counters[service]?.[color], since[service]?.[color]) : counters[service]?.[color]), noTraffic());
}

/**
 * The latency quantile `q` (0-1) of a color's traffic as its bucket's upper bound (ms); null without
 * requests. Past the last bound it is twice that bound (JSON, and so workflow history, has no Infinity).
 */
export function trafficQuantileMs(traffic: ColorTraffic, q: number): number | null {
  const total = traffic.buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < traffic.buckets.length; i++) {
    seen += traffic.buckets[i]!;
    if (seen >= q * total) return TRAFFIC_BUCKETS_MS[i] ?? OVER_LAST_BUCKET_MS;
  }
  return OVER_LAST_BUCKET_MS;
}

/**
 * The lower bound (ms) of the latency bucket whose upper bound `trafficQuantileMs` gave: a quantile in the
 * 100-250 ms bucket is at least 100 ms, whatever its upper bound says.
 */
export function trafficBucketFloorMs(upperMs: number): number {
  if (upperMs > TRAFFIC_BUCKETS_MS[TRAFFIC_BUCKETS_MS.length - 1]) return TRAFFIC_BUCKETS_MS[TRAFFIC_BUCKETS_MS.length - 1];
  const below = TRAFFIC_BUCKETS_MS.filter((bound) => bound < upperMs);
  return below.length ? below[below.length - 1]! : 0;
}

/** Each service's server line of the upstream for `color` alone, in an app's rendered config. */
function colorServerLines(text: string, app: string, color: Color): Array<[service: string, server: string]> {
  const prefix = `upstream gl_${app}_`;
  const suffix = `__${color} {`;
  const lines = text.split('\n');
  return lines.flatMap((line, i) => (line.startsWith(prefix) && line.endsWith(suffix) ? [[line.slice(prefix.length, -suffix.length), lines[i + 1] ?? '']] : []));
}

/** The host port each service's upstream for `color` alone names in an app's rendered config. */
export function parseColorPorts(text: string, app: string, color: Color): Record<string, number> {
  const ports: Record<string, number> = {};
  for (const [service, server] of colorServerLines(text, app, color)) {
    const port = /^ {4}server (?:127\.0\.0\.1:(\d+);|\S+; # host port (\d+))$/.exec(server)?.slice(1).find((p) => p !== undefined);
    if (port !== undefined) ports[service] = Number(port);
  }
  return ports;
}

/** The container address (ip:port) each service's upstream for `color` alone names, where it names one (not a host port). */
export function parseColorAddresses(text: string, app: string, color: Color): Record<string, string> {
  const addresses: Record<string, string> = {};
  for (const [service, server] of colorServerLines(text, app, color)) {
    const address = /^ {4}server (\d+\.\d+\.\d+\.\d+:\d+); # host port \d+$/.exec(server)?.[1];
    if (address !== undefined) addresses[service] = address;
  }
  return addresses;
}

/** Every container address (IPv4, no port) an app's rendered config routes to: what no other container may be given. */
export function configAddresses(text: string): string[] {
  return [...new Set([...text.matchAll(/^ {4}server (\d+\.\d+\.\d+\.\d+):\d+[ ;].*# host port \d+$/gm)].map((m) => m[1]!))].sort();
}

/** True when nginx answers `path` on the app's port itself (its `/health`, the structure hash, the per-color health routes). */
export function answeredByRouter(spec: DeploySpec, path: string): boolean {
  if (path === '/health' || path.startsWith('/.greenlight/')) return true;
  return Object.keys(spec.services).some((service) => COLORS.some((color) => path === `/health/${color}/${service}`));
}

/**
 * The preview (`preview`): the app's new color on a port of its own, from the health gate until the
 * switch, while the public port keeps serving the live color. It is a file of its own beside the app's
 * config (`<app>.preview.conf`: app names have no `.`), so the public server block, its structure hash
 * and its per-request work are those of a spec without a preview, and a first deploy (no app config
 * yet) can be previewed too. Its upstreams are its own (both colors, so the next deploy renders the same
 * text: no reload), its lookup reads one key of the routes dict, written through its own control socket
 * in the prefix's private folder: no key, 503 "no preview open".
 */
export interface PreviewConfigInput {
  /** Addresses the preview server listens on: preview.address, and the app network's gateway with checks. */
  listen: string[];
  /** The unix socket of the preview's control server (NginxRouter.previewSocketPath). */
  controlSocket: string;
  addresses: UpstreamAddresses;
}

/** The routes dict key of an app's open preview: its value is the color the preview serves. */
export function previewKey(app: string): string {
  return `preview/${app}`;
}

function previewUpstreamName(app: string, service: string, color: Color | string): string {
  return `glpreview_${app}_${service}__${color}`;
}

/** Where a preview is reached on `address` (the check containers' gateway, or preview.address). */
export function previewUrl(spec: Pick<DeploySpec, 'preview'>, address = spec.preview?.address ?? '127.0.0.1'): string {
  if (!spec.preview) throw new Error('the spec has no preview');
  return `http://${address}:${spec.preview.port}`;
}

export function renderPreviewConfig(spec: DeploySpec, { listen, controlSocket, addresses }: PreviewConfigInput): string {
  const preview = spec.preview;
  if (!preview) throw new Error(`the spec of ${spec.app} has no preview`);
  const routed = routedSpec(spec);
  const services = Object.keys(routed.services).sort();
  const dict = `ngx.shared.${ROUTES_DICT}`;
  const key = previewKey(spec.app);
  const upstreams = services.flatMap((service) =>
    COLORS.map((color) => `upstream ${previewUpstreamName(spec.app, service, color)} {\n${serverLine(routed, service, color, addresses, '')}\n    keepalive 16;\n}\n`),
  );
  const locations = servicesByRoute(routed).flatMap((service) => {
    const readTimeout = routed.services[service]!.readTimeout ?? 60_000;
    return routeMatches(routed.services[service]!.route).map(
      (match) => `    location ${match} {
        set_by_lua_block $gl_preview { return ${dict}:get("${key}") or "" }
        if ($gl_preview = "") {
            return 503 "no preview open\\n";
        }
        proxy_read_timeout ${readTimeout}ms;
        proxy_send_timeout ${readTimeout}ms;
        proxy_pass http://${previewUpstreamName(spec.app, service, '$gl_preview')};
    }
`,
    );
  });
  const connection = `$gl_preview_connection_${spec.app.replace(/-/g, '_')}`;
  return `# greenlight preview of app "${spec.app}": rendered by host/builders/nginx.ts, swapped atomically; do not edit.
map $http_upgrade ${connection} {
    default upgrade;
    "" "";
}
${upstreams.join('')}server {
${listen.map((address) => `    listen ${address}:${preview.port};\n`).join('')}    set $gl_preview "";
    default_type text/plain;
    add_header X-Greenlight-Preview $gl_preview always;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection ${connection};
    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_connect_timeout 2s;
${locations.join('')}}
# The preview's control: PUT /preview (body: the color), DELETE /preview, GET /preview.
server {
    listen ${nginxPath(`unix:${controlSocket}`)};
    access_log off;
    location = /preview {
        content_by_lua_block {
            local method = ngx.req.get_method()
            if method == "PUT" then
                ngx.req.read_body()
                local color = ngx.req.get_body_data() or ""
                if color ~= "blue" and color ~= "green" then
                    ngx.status = 400
                    ngx.say("invalid color: ", color)
                    return
                end
                ${dict}:set("${key}", color)
            elseif method == "DELETE" then
                ${dict}:delete("${key}")
            end
            ngx.say(${dict}:get("${key}") or "")
        }
    }
}
`;
}

/** The preview port a preview config listens on (its first `listen <address>:<port>`), or null. */
export function parsePreviewPort(text: string): number | null {
  const port = /^ {4}listen [\d.]+:(\d+);$/m.exec(text)?.[1];
  return port === undefined ? null : Number(port);
}
