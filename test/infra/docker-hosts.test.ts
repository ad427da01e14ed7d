/**
 * The three simulated bare-metal hosts: real dockerd + sshd per host, reached with dockerode over
 * SSH with pinned host keys. Hosts are started through the launcher's component (reused when
 * already running) and left running; only the containers this run created are removed.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type Docker from "dockerode";
import { BASE_IMAGE, type DockerHostConnection, dockerHosts } from "../../infra/components/docker-host.ts";
import { LOCAL } from "../../infra/lib/paths.ts";
import { createRemoteDocker, hostKeyFingerprint } from "../../packages/shared/src/hosts/remote-docker.ts";

const RUN_ID = `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
const LABEL = "a4c.test";
const hosts = dockerHosts(LOCAL);
let conns: DockerHostConnection[] = [];
let clients: Docker[] = [];

function client(conn: DockerHostConnection, pin = conn.hostKey): Docker {
  return createRemoteDocker({
    host: conn.host,
    port: conn.port,
    username: conn.username,
    privateKey: readFileSync(conn.privateKeyPath),
    hostKey: pin,
    connectTimeoutMs: 10_000,
  });
}

const byRun = (value = RUN_ID) => ({ all: true, filters: { label: [`${LABEL}=${value}`] } });

beforeAll(async () => {
  for (const h of hosts) {
    const started = performance.now();
    await h.start();
    console.log(`${h.name}: start() ${Math.round(performance.now() - started)} ms`);
  }
  conns = hosts.map((h) => h.connection());
  clients = conns.map((c) => client(c));
}, 240_000);

afterAll(async () => {
  // Leave the hosts up for the next run; take away only what this run made.
  for (const docker of clients) {
    // Bounded: a hung SSH session must not hold the hook (a hook timeout makes bun kill the hosts).
    const abortSignal = AbortSignal.timeout(20_000);
    for (const c of await docker.listContainers({ ...byRun(), abortSignal }).catch(() => [])) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true, abortSignal })
        .catch(() => undefined);
    }
  }
  for (const h of hosts) {
    const p = h.processes();
    console.log(
      `${h.name}: rss dockerd ${p.dockerd.rssMb} MiB, containerd ${p.containerd.rssMb} MiB, sshd ${p.sshd.rssMb} MiB`,
    );
  }
}, 120_000);

test("each host has its own host key; our fingerprint matches OpenSSH's", () => {
  expect(new Set(conns.map((c) => c.hostKey)).size).toBe(3);
  for (const c of conns) {
    expect(c.hostKey).toStartWith("ssh-ed25519 ");
    expect(hostKeyFingerprint(c.hostKey)).toBe(c.hostKeyFingerprint);
  }
});

test("each host answers over SSH with its own dockerd and has the base image", async () => {
  const ids = new Set<string>();
  for (const docker of clients) {
    const started = performance.now();
    const info = await docker.info();
    console.log(`info over SSH: ${Math.round(performance.now() - started)} ms (${info.Driver})`);
    expect(info.Driver).toMatch(/^(overlay2|vfs)$/);
    ids.add(info.ID);
    const images = await docker.listImages({ filters: { reference: [BASE_IMAGE] } });
    expect(images.length).toBe(1);
  }
  // Three sockets, three daemons: dockerd's ID differs per data-root.
  expect(ids.size).toBe(3);
});

test("a container created on host 2 runs there, without network, and is invisible on hosts 1 and 3", async () => {
  const [h1, h2, h3] = clients as [Docker, Docker, Docker];
  const container = await h2.createContainer({
    Image: BASE_IMAGE,
    Cmd: ["sleep", "300"],
    Labels: { [LABEL]: RUN_ID },
    HostConfig: { NetworkMode: "none" },
  });
  await container.start();
  const inspected = await container.inspect();
  expect(inspected.State.Running).toBe(true);
  expect(inspected.HostConfig.NetworkMode).toBe("none");
  expect(Object.keys(inspected.NetworkSettings.Networks)).toEqual(["none"]);

  const listed = await h2.listContainers(byRun());
  expect(listed.map((c) => c.Id)).toEqual([container.id]);
  expect(listed[0]?.State).toBe("running");
  expect(await h1.listContainers(byRun())).toEqual([]);
  expect(await h3.listContainers(byRun())).toEqual([]);
  await expect(h1.getContainer(container.id).inspect()).rejects.toThrow();

  await container.remove({ force: true });
  expect(await h2.listContainers(byRun())).toEqual([]);
}, 60_000);

test("df() reports disk usage per host", async () => {
  for (const docker of clients) {
    const df = await docker.df();
    expect(typeof df.LayersSize).toBe("number");
    expect(df.LayersSize).toBeGreaterThan(0);
    expect(df.Images.some((i: { RepoTags?: string[] }) => i.RepoTags?.includes(BASE_IMAGE))).toBe(true);
    expect(Array.isArray(df.Containers)).toBe(true);
  }
}, 60_000);

test("a pinned fingerprint works; a host presenting another key is refused and nothing is created", async () => {
  const [c1, c2] = conns as [DockerHostConnection, DockerHostConnection];
  expect(await client(c2, c2.hostKeyFingerprint).ping()).toBeDefined();

  const marker = `${RUN_ID}-impostor`;
  for (const wrongPin of [c1.hostKey, c1.hostKeyFingerprint]) {
    const impostor = client(c2, wrongPin);
    await expect(
      impostor.createContainer({
        Image: BASE_IMAGE,
        Cmd: ["sleep", "300"],
        Labels: { [LABEL]: marker },
        HostConfig: { NetworkMode: "none" },
      }),
    ).rejects.toThrow(/verification failed/);
  }
  expect(await (clients[1] as Docker).listContainers(byRun(marker))).toEqual([]);
}, 60_000);

test("per-request latency over SSH (one SSH connection per API call)", async () => {
  const docker = clients[0] as Docker;
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    await docker.ping();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(`ping over SSH: median ${Math.round(times[2] ?? 0)} ms, max ${Math.round(times[4] ?? 0)} ms`);
  expect(times[4]).toBeLessThan(10_000);
}, 60_000);
