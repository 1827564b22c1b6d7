import { BlockList, isIPv4, isIPv6 } from "node:net";

/** The addresses a route takes requests from (`allow_from`), compiled once at load. */
export interface AllowList {
  /** True when the address (as the socket or X-Forwarded-For gives it) is in one of the ranges. */
  allows(address: string): boolean;
}

/** `10.0.0.0/8` → its parts, or why it is not a range. A bare address is a range of one. */
export function parseCidr(text: string): { address: string; prefix: number; family: "ipv4" | "ipv6" } | { error: string } {
  const slash = text.indexOf("/");
  const address = (slash < 0 ? text : text.slice(0, slash)).trim();
  const family = isIPv4(address) ? "ipv4" : isIPv6(address) ? "ipv6" : undefined;
  if (!family) return { error: `"${text}" is not an IPv4 or IPv6 address or CIDR range (write 192.168.1.0/24, 10.0.0.5 or fd00::/8)` };
  const bits = family === "ipv4" ? 32 : 128;
  if (slash < 0) return { address, prefix: bits, family };
  const prefixText = text.slice(slash + 1).trim();
  const prefix = Number(prefixText);
  if (!/^[0-9]{1,3}$/.test(prefixText) || prefix > bits) {
    return { error: `"${text}": the prefix length after / must be a whole number from 0 to ${bits}` };
  }
  return { address, prefix, family };
}

/**
 * Compiles `allow_from`, reporting each bad entry at its own place. IPv4-mapped IPv6 addresses
 * (`::ffff:10.0.0.1`, what a dual-stack listener reports) match IPv4 ranges and the reverse.
 */
export function compileAllowFrom(entries: readonly string[], report: (index: number, message: string) => void): AllowList | undefined {
  const list = new BlockList();
  let ok = true;
  entries.forEach((entry, i) => {
    const cidr = parseCidr(entry);
    if ("error" in cidr) {
      report(i, cidr.error);
      ok = false;
    } else list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  });
  if (!ok) return undefined;
  return {
    allows(address) {
      const family = isIPv4(address) ? "ipv4" : isIPv6(address) ? "ipv6" : undefined;
      return family !== undefined && list.check(address, family);
    },
  };
}
