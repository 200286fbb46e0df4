import { formatDrain, formatTrafficSplit, trafficSplit } from '../../src/cli/commands/status';
import { describe, expect, it } from 'vitest';
import { formatImages, formatMs, imageEntries, serviceImages } from '../../src/format';

describe('format', () => {
  const images = { backend: 'shop-backend:v2', frontend: 'shop-frontend:v2' };

  it('lists images as service=image in the order of the map', () => {
    expect(imageEntries(images)).toEqual(['backend=shop-backend:v2', 'frontend=shop-frontend:v2']);
    expect(formatImages(images)).toBe('backend=shop-backend:v2, frontend=shop-frontend:v2');
    expect(formatImages({ frontend: 'f:1', backend: 'b:1' })).toBe('frontend=f:1, backend=b:1');
    expect(imageEntries({})).toEqual([]);
    expect(formatImages({})).toBe('');
  });

  it("takes the services' images from a spec's services", () => {
    expect(serviceImages({ backend: { image: 'shop-backend:v2', port: 4000 } as { image: string }, frontend: { image: 'shop-frontend:v2' } })).toEqual(images);
  });

  it.each([
    [undefined, '…'],
    [0, '0 ms'],
    [12.4, '12 ms'],
    [999.4, '999 ms'],
    [1000, '1.0 s'],
    [1250, '1.3 s'],
    [61_000, '61.0 s'],
  ])('formatMs(%s) = %s', (ms, text) => {
    expect(formatMs(ms)).toBe(text);
  });
});

describe('formatDrain', () => {
  it('says what is open per service, how long the drain waited and its maximum; on which host in a fleet', () => {
    expect(formatDrain({ color: 'blue', open: { backend: 2, frontend: 1 }, waitedMs: 4_200, maxMs: 30_000 })).toBe('draining blue: 3 open (backend 2, frontend 1), 4.2 s of at most 30.0 s');
    expect(formatDrain({ host: 'web-2', color: 'green', open: null, waitedMs: 800, maxMs: 2_000 })).toBe('draining green on web-2: open connections not counted by this router, 800 ms of at most 2.0 s');
  });
});

describe('the traffic split greenlight status prints', () => {
  it('adds up the services per color, with each color share and error rate', () => {
    const split = trafficSplit({ web: { blue: { requests: 90, errors5xx: 0 }, green: { requests: 8, errors5xx: 2 } }, api: { green: { requests: 2, errors5xx: 0 } } });
    expect(split).toEqual({ blue: { requests: 90, share: 0.9, errors5xx: 0, errorRate: 0 }, green: { requests: 10, share: 0.1, errors5xx: 2, errorRate: 0.2 } });
    expect(formatTrafficSplit(split)).toBe('blue 90 requests (90.0 %, 0.0 % 5xx), green 10 requests (10.0 %, 20.0 % 5xx)');
    expect(trafficSplit({})).toEqual({ blue: { requests: 0, share: 0, errors5xx: 0, errorRate: 0 }, green: { requests: 0, share: 0, errors5xx: 0, errorRate: 0 } });
  });
});
