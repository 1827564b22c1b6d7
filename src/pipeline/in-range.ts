import { BlockList, isIPv4, isIPv6 } from "node:net";
import { parseCidr } from "../config/allow-from.js";

/**
 * JSONata's `$inRange(address, ranges)`: true when the address is in one of the CIDR ranges (a
 * bare address is a range of one), so a route filter can say what `allow_from` says inside
 * `or` and `not` (`$inRange(client, ["10.0.0.0/8"]) or headers."x-token" = "…"`). IPv4-mapped
 * IPv6 addresses match IPv4 ranges, as in `allow_from`. A range that does not parse is an
 * evaluation error, not a silent false: the filter is wrong, and the sender should retry later.
 */
export function inRange(address: unknown, ranges: unknown): boolean {
  if (typeof address !== "string") return false;
  const list = new BlockList();
  for (const range of Array.isArray(ranges) ? ranges : [ranges]) {
    const cidr = parseCidr(String(range));
    if ("error" in cidr) throw new Error(`$inRange: ${cidr.error}`);
    list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  const family = isIPv4(address) ? "ipv4" : isIPv6(address) ? "ipv6" : undefined;
  return family !== undefined && list.check(address, family);
}
