import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { formatAddress, type ListenAddress } from "../config/addresses.js";
import { ListenError } from "../errors.js";

/** What a user can do something about, in words, with what to try; anything else shows Node's code. */
const REASONS: Readonly<Record<string, readonly [reason: string, hint: string]>> = {
  EADDRINUSE: ["address in use", "another process has that port (another switchyard, or one still stopping?)"],
  EACCES: ["permission denied", "ports below 1024 need root or CAP_NET_BIND_SERVICE"],
  EADDRNOTAVAIL: ["address not available", "no network interface of this host has that address"],
  ENOTFOUND: ["host not found", "write an IP address or a name this host resolves"],
  EAI_AGAIN: ["host name lookup failed", "write an IP address, or check the resolver"],
};

/**
 * Binds a server, turning Node's bind errors into a ListenError that names the address and
 * where it was set (`server.listen in FILE:LINE`, `--listen`, `SWITCHYARD_LISTEN`).
 */
export function listenOn(server: Server, at: ListenAddress, from: string): Promise<AddressInfo> {
  return new Promise((resolveListen, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const [reason, hint] = (err.code ? REASONS[err.code] : undefined) ?? [err.code ?? err.message, undefined];
      const message = `cannot listen on ${formatAddress(at)}: ${reason} (${from})${hint ? `; ${hint}` : ""}`;
      reject(new ListenError(message, { cause: err }));
    };
    server.once("error", onError);
    server.listen(at.port, at.host, () => {
      server.off("error", onError);
      resolveListen(server.address() as AddressInfo);
    });
  });
}
