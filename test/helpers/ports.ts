import { createServer } from "node:net";

/** Ports already handed out by this process: the OS may hand a closed port out again at once. */
const given = new Set<number>();

/**
 * A port the OS just handed out on loopback and that is free again now — and that this process has
 * not handed out before (two services of one test stack asked in a row could otherwise get the same
 * one, and the second would find it taken).
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = await osPort();
    if (!given.has(port)) {
      given.add(port);
      return port;
    }
  }
  throw new Error("no port the OS hands out is new to this process after 50 tries");
}

function osPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}
