/** Registers the launcher's simulated hosts in a database's `hosts` table (idempotent). */
import { randomUUID } from "node:crypto";
import { type Sql, upsertHost } from "@a4c/shared";
import type { DockerHost } from "../components/docker-host.ts";

export async function registerHosts(sql: Sql, hosts: DockerHost[]): Promise<string[]> {
  const ids: string[] = [];
  for (const h of hosts) {
    const c = h.connection();
    ids.push(
      await upsertHost(sql, {
        id: randomUUID(),
        name: c.name,
        sshHost: c.host,
        sshPort: c.port,
        sshUser: c.username,
        hostKey: c.hostKey,
      }),
    );
  }
  return ids;
}
