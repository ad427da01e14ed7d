/**
 * A TCP relay in the test process: a service pointed at it reaches the target while it is open;
 * `cut()` closes the listener and every relayed connection (the target then looks down: refused
 * connections), `restore()` listens again on the same port. Used to take Elasticsearch away from
 * one read-api without touching the node every other test uses.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

export class TcpProxy {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = "127.0.0.1",
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    const server = createServer((client) => {
      const upstream = createConnection({ port: this.targetPort, host: this.targetHost });
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on("close", () => this.#sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((ok, fail) => {
      server.once("error", fail);
      server.listen(port, "127.0.0.1", () => ok());
    });
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
    return this;
  }

  /** The target becomes unreachable through this relay. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((ok) => server.close(() => ok()));
  }

  async restore(): Promise<void> {
    if (!this.#server) await this.start(this.port);
  }
}
