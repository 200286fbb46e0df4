/**
 * Pure address arithmetic for routing to container addresses: which address of an app network's
 * subnet a new container gets. No I/O; tested by exact equality.
 */

export function ipv4ToInt(ip: string): number | null {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** An IPv4 subnet in CIDR form ("172.30.0.0/24"): its network and broadcast addresses as numbers, or null. */
export function parseSubnet(cidr: string): { network: number; broadcast: number } | null {
  const [ip, bits, extra] = cidr.split('/');
  const base = ipv4ToInt(ip ?? '');
  const prefix = Number(bits);
  if (base === null || extra !== undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) return null;
  const size = 2 ** (32 - prefix);
  const network = base - (base % size);
  return { network, broadcast: network + size - 1 };
}

export function inSubnet(cidr: string, ip: string): boolean {
  const subnet = parseSubnet(cidr);
  const n = ipv4ToInt(ip);
  return subnet !== null && n !== null && n > subnet.network && n < subnet.broadcast;
}

/**
 * The highest address of `cidr` that is neither its network nor broadcast address, nor the gateway, nor
 * in `taken`; null when the subnet is full or not IPv4. Greenlight's addresses come from the top of the
 * subnet and Docker's own allocation from the bottom, so the two meet only in a full network (and never
 * where the network's --ip-range leaves the top half out of Docker's pool, as scripts/docker.sh does).
 */
export function pickAddress(cidr: string, gateway: string | null, taken: ReadonlySet<string>): string | null {
  const subnet = parseSubnet(cidr);
  if (subnet === null) return null;
  for (let n = subnet.broadcast - 1; n > subnet.network; n--) {
    const ip = intToIpv4(n);
    if (ip !== gateway && !taken.has(ip)) return ip;
  }
  return null;
}

/** "172.30.0.254:4000" -> "172.30.0.254". */
export function hostOf(address: string): string {
  return address.slice(0, address.lastIndexOf(':'));
}
