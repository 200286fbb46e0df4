/**
 * The preview (`preview`): its rendered config (exact text), its one-off check container, the schema's
 * errors naming `preview.*`, and the preview port in the port checks against other apps. A spec's app
 * config is the same text with or without a preview (the preview is a file of its own).
 */
import { describe, expect, it } from 'vitest';
import { buildPreviewCheckContainer, previewCheckService } from '../../host/builders/container';
import { parsePreviewPort, previewKey, previewUrl, renderAppConfig, renderPreviewConfig, structureHash } from '../../host/builders/nginx';
import { clashesWithOtherApps } from '../../host/ports';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpecInput } from '../../src/config/schema';
import { ConfigError } from '../../src/errors';
import { shopSpec, webSpec } from '../../harness/specs';

const web = (preview?: DeploySpecInput['preview']) =>
  webSpec('shop', { image: 'shop-web:v2', port: 3000, hostPorts: { blue: 5001, green: 5002 }, route: '/' }, preview ? { preview } : {});

/** What every one-off container gets without `limits` (as test/unit/builders.test.ts has it). */
const DEFAULT_LIMITS = { Memory: 536_870_912, MemorySwap: 536_870_912, PidsLimit: 512, SecurityOpt: ['no-new-privileges:true'] };

const SOCKET = '/gl/nginx/private/preview-shop.sock';

describe('renderPreviewConfig', () => {
  it('renders the preview server on its addresses, its own upstreams for both colors, and its control socket', () => {
    const text = renderPreviewConfig(web({ port: 4801, checks: [{ command: ['npm', 'run', 'smoke'] }] }), {
      listen: ['127.0.0.1', '172.30.0.1'],
      controlSocket: SOCKET,
      addresses: { web: { blue: '172.30.0.200:3000', green: null } },
    });
    expect(text).toBe(`# greenlight preview of app "shop": rendered by host/builders/nginx.ts, swapped atomically; do not edit.
map $http_upgrade $gl_preview_connection_shop {
    default upgrade;
    "" "";
}
upstream glpreview_shop_web__blue {
    server 172.30.0.200:3000; # host port 5001
    keepalive 16;
}
upstream glpreview_shop_web__green {
    server 127.0.0.1:5002;
    keepalive 16;
}
server {
    listen 127.0.0.1:4801;
    listen 172.30.0.1:4801;
    set $gl_preview "";
    default_type text/plain;
    add_header X-Greenlight-Preview $gl_preview always;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $gl_preview_connection_shop;
    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_connect_timeout 2s;
    location / {
        set_by_lua_block $gl_preview { return ngx.shared.greenlight_routes:get("preview/shop") or "" }
        if ($gl_preview = "") {
            return 503 "no preview open\\n";
        }
        proxy_read_timeout 60000ms;
        proxy_send_timeout 60000ms;
        proxy_pass http://glpreview_shop_web__$gl_preview;
    }
}
# The preview's control: PUT /preview (body: the color), DELETE /preview, GET /preview.
server {
    listen "unix:${SOCKET}";
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
                ngx.shared.greenlight_routes:set("preview/shop", color)
            elseif method == "DELETE" then
                ngx.shared.greenlight_routes:delete("preview/shop")
            end
            ngx.say(ngx.shared.greenlight_routes:get("preview/shop") or "")
        }
    }
}
`);
    expect(parsePreviewPort(text)).toBe(4801);
    expect(previewKey('shop')).toBe('preview/shop');
  });

  it('routes each service on its own paths, longest route first, and leaves workers out', () => {
    const spec = parseDeploySpec(shopSpec({}, { preview: { port: 4801 } }));
    const text = renderPreviewConfig(spec, { listen: ['127.0.0.1'], controlSocket: SOCKET, addresses: {} });
    expect(text.split('\n').filter((line) => /^ {4}(location|listen) /.test(line) || line.includes('proxy_pass'))).toEqual([
      '    listen 127.0.0.1:4801;',
      '    location = /api {',
      '        proxy_pass http://glpreview_shop_backend__$gl_preview;',
      '    location /api/ {',
      '        proxy_pass http://glpreview_shop_backend__$gl_preview;',
      '    location / {',
      '        proxy_pass http://glpreview_shop_frontend__$gl_preview;',
      `    listen "unix:${SOCKET}";`,
      '    location = /preview {',
    ]);
  });

  it('refuses a spec without a preview', () => {
    expect(() => renderPreviewConfig(web(), { listen: ['127.0.0.1'], controlSocket: SOCKET, addresses: {} })).toThrow('has no preview');
  });

  it("leaves the app's own config (its text and structure hash) as it is without a preview", () => {
    const route = { live: 'blue', backup: null } as const;
    expect(renderAppConfig(web({ port: 4801, checks: [{ command: ['true'] }] }), route)).toBe(renderAppConfig(web(), route));
    expect(structureHash(web({ port: 4801 }))).toBe(structureHash(web()));
  });
});

describe('previewUrl', () => {
  it('is preview.address (loopback by default), or the address given (the gateway, for the checks)', () => {
    expect(previewUrl(web({ port: 4801 }))).toBe('http://127.0.0.1:4801');
    expect(previewUrl(web({ port: 4801, address: '10.0.0.5' }))).toBe('http://10.0.0.5:4801');
    expect(previewUrl(web({ port: 4801 }), '172.30.0.1')).toBe('http://172.30.0.1:4801');
  });
});

describe('buildPreviewCheckContainer', () => {
  it("builds a one-off container of the first routed service's new image on the app network, with the preview URL and no secrets", () => {
    const spec = web({ port: 4801, checks: [{ command: ['npm', 'run', 'smoke'] }] });
    expect(buildPreviewCheckContainer(spec, 0, 'd-1', 'http://172.30.0.1:4801')).toEqual({
      name: 'shop.preview_check-1',
      Image: 'shop-web:v2',
      Cmd: ['npm', 'run', 'smoke'],
      Env: ['GREENLIGHT_APP=shop', 'GREENLIGHT_DEPLOY_ID=d-1', 'GREENLIGHT_PREVIEW_CHECK=check-1', 'GREENLIGHT_PREVIEW_URL=http://172.30.0.1:4801'],
      Labels: {
        'greenlight.managed': 'true',
        'greenlight.app': 'shop',
        'greenlight.service': 'web',
        'greenlight.deploy-id': 'd-1',
        'greenlight.image': 'shop-web:v2',
        'greenlight.role': 'preview-check',
      },
      HostConfig: { NetworkMode: 'greenlight', AutoRemove: false, ...DEFAULT_LIMITS },
    });
  });

  it("takes the check's own service and name", () => {
    const spec = parseDeploySpec(shopSpec({}, { preview: { port: 4801, checks: [{ name: 'e2e', service: 'frontend', command: ['npm', 'run', 'e2e'] }] } }));
    expect(previewCheckService(spec, spec.preview!.checks[0]!)).toBe('frontend');
    expect(buildPreviewCheckContainer(spec, 0, 'd-1', 'http://x').name).toBe('shop.preview_e2e');
    expect(() => buildPreviewCheckContainer(spec, 1, 'd-1', 'http://x')).toThrow('no preview check #1');
  });
});

const issuesOf = (input: unknown): string[] => {
  try {
    parseDeploySpec(input);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
};

describe('preview in the schema', () => {
  it('defaults the address to loopback and names the checks', () => {
    const spec = parseDeploySpec(shopSpec({}, { preview: { port: 4801, checks: [{ command: ['a'] }, { name: 'e2e', command: ['b'], timeout: '30s' }] } }));
    expect(spec.preview).toEqual({
      port: 4801,
      address: '127.0.0.1',
      checks: [
        { name: 'check-1', command: ['a'], timeout: 300_000 },
        { name: 'e2e', command: ['b'], timeout: 30_000 },
      ],
    });
  });

  // App "shop": router 4001, backend 5001/5002, frontend 5003/5004.
  it.each([
    { name: 'no port', preview: {}, issue: 'preview.port: is required (must be a port number between 1 and 65535)' },
    { name: 'the router port', preview: { port: 4001 }, issue: "preview.port: port 4001 is the router's public port (router.port): the preview needs a port of its own (e.g. 4801)" },
    { name: 'a host port', preview: { port: 5003 }, issue: 'preview.port: port 5003 is a host port of service "frontend": the preview needs a port of its own (e.g. 4801)' },
    { name: 'a bad address', preview: { port: 4801, address: 'localhost' }, issue: 'preview.address: must be an IPv4 address of this host, e.g. "127.0.0.1" (loopback, the default) or a private interface\'s address' },
    { name: 'an empty command', preview: { port: 4801, checks: [{ command: [] }] }, issue: 'preview.checks.0.command: must not be empty: the command and its arguments, e.g. ["npm", "run", "smoke"]' },
    { name: 'an unknown service', preview: { port: 4801, checks: [{ service: 'api', command: ['x'] }] }, issue: 'preview.checks.0.service: unknown service "api": use one of backend, frontend' },
    { name: 'a name twice', preview: { port: 4801, checks: [{ name: 'smoke', command: ['x'] }, { name: 'smoke', command: ['y'] }] }, issue: 'preview.checks.1.name: check "smoke" is listed twice: give every check its own name' },
    { name: 'an unknown key', preview: { port: 4801, bind: '0.0.0.0' }, issue: 'preview.bind: unknown key: remove it or check its spelling' },
  ])('refuses $name, naming the field and the fix', ({ preview, issue }) => {
    expect(issuesOf(shopSpec({}, { preview: preview as DeploySpecInput['preview'] }))).toEqual([issue]);
  });
});

describe('clashesWithOtherApps: the preview port', () => {
  const spec = () => parseDeploySpec(shopSpec({}, { preview: { port: 4801 } }));
  it.each([
    { name: "another app's router port", other: { app: 'blog', routerPort: 4801, hostPorts: [] }, problem: 'preview.port: port 4801 is app "blog"\'s router port (greenlight\'s nginx serves blog there): two apps cannot share a port, choose another preview port' },
    { name: "another app's preview port", other: { app: 'blog', routerPort: 4002, hostPorts: [], previewPort: 4801 }, problem: 'preview.port: port 4801 is app "blog"\'s preview port (greenlight\'s nginx serves blog\'s preview there): two apps cannot share a port, choose another preview port' },
  ])('refuses $name', ({ other, problem }) => {
    expect(clashesWithOtherApps(spec(), [other])).toEqual([problem]);
  });

  it("refuses a router port that is another app's preview port", () => {
    expect(clashesWithOtherApps(parseDeploySpec(shopSpec()), [{ app: 'blog', routerPort: 4002, hostPorts: [], previewPort: 4001 }])).toEqual([
      'router.port: port 4001 is app "blog"\'s preview port (greenlight\'s nginx serves blog\'s preview there): two apps cannot share a port, choose another router port',
    ]);
  });
});
