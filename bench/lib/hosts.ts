/** A benchmark's own Docker runtime on a launcher host: the provisioner's transport, nothing around it. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { DockerHost } from "../../infra/components/docker-host.ts";
import { LOCAL } from "../../infra/lib/paths.ts";
import { DockerRuntime, SshConnection } from "../../packages/provisioner/src/index.ts";

/** One pooled SSH connection to `host` (its key pinned) and the Docker API over it. */
export function directRuntime(host: DockerHost, callMs = 60_000, longMs = 600_000): DockerRuntime {
  const c = host.connection();
  const ssh = new SshConnection({
    name: c.name,
    host: c.host,
    port: c.port,
    username: c.username,
    privateKey: readFileSync(join(LOCAL, "ssh", "id_ed25519")),
    hostKey: c.hostKey,
    connectTimeoutMs: 5_000,
  });
  return new DockerRuntime(ssh, callMs, longMs);
}
