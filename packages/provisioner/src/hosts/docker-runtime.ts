/**
 * The Docker side of one host: workspace containers found by their labels, created, started,
 * run commands in, removed; and what Docker holds on disk. Everything goes over the host's one
 * pooled SSH connection, and every call is bounded in time.
 */
import { PassThrough, type Readable } from "node:stream";
import Docker from "dockerode";
import { HostUnreachableError, type SshConnection } from "./ssh-connection.ts";

export const LABELS = {
  workspace: "a4c.workspace-id",
  user: "a4c.user-id",
  job: "a4c.job-id",
  deployment: "a4c.deployment",
  image: "a4c.image-id",
} as const;

/** An image as a host's Docker has it. */
export interface HostImage {
  /** Docker's image id (sha256:…), the build's digest. */
  id: string;
  sizeBytes: number;
  labels: Record<string, string>;
}

/** A build that Docker ran and that failed (a Dockerfile step exited non-zero, a bad instruction…). */
export class BuildFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BuildFailedError";
  }
}

/** A build still running at its deadline: the build's own doing, not the host's (it is canceled). */
export class BuildTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the build ran longer than ${Math.round(timeoutMs / 1000)} s and was canceled`);
    this.name = "BuildTimeoutError";
  }
}

export interface WorkspaceContainerSpec {
  name: string;
  image: string;
  labels: Record<string, string>;
  memoryBytes: number;
  nanoCpus: number;
  /** Size and inode limit of the /workspace tmpfs. */
  workspaceBytes: number;
  workspaceInodes: number;
  hostname: string;
}

export interface ManagedContainer {
  id: string;
  name: string;
  state: string;
  createdAt: Date;
  labels: Record<string, string>;
}

/** A Docker error that is about the request, not the host's reachability (bad image, conflict…). */
export class DockerRefusedError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "DockerRefusedError";
  }
}

/** Docker's own message of a failed API call (its JSON `message`), or the error's. */
function dockerMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; reason?: string; message?: string };
  return e.json?.message ?? e.reason ?? e.message ?? String(err);
}

/** dockerode's system calls take an abort signal at run time; its types do not say so. */
type SystemCalls = {
  ping(o: { abortSignal: AbortSignal }): Promise<unknown>;
  info(o: { abortSignal: AbortSignal }): Promise<{ DockerRootDir?: string }>;
  df(o: { abortSignal: AbortSignal }): Promise<unknown>;
};

export class DockerRuntime {
  readonly docker: Docker;
  /** For the long calls (a build, an image's export and load): channels that may live that long. */
  readonly #long: Docker;

  constructor(
    readonly ssh: SshConnection,
    private readonly timeoutMs: number,
    private readonly longTimeoutMs = 600_000,
  ) {
    const over = (agent: unknown) => new Docker({ protocol: "http", host: "docker", port: 80, agent } as never);
    this.docker = over(ssh.dockerAgent(timeoutMs));
    this.#long = over(ssh.dockerAgent(longTimeoutMs));
  }

  get host(): string {
    return this.ssh.target.name;
  }

  /**
   * Runs a Docker call under the deadline; unreachable hosts and timeouts become
   * HostUnreachableError. The deadline is our own race, not only the abort signal: a request to a
   * frozen dockerd must not hang its caller even if the HTTP client ignores the signal (the channel
   * itself is closed by the agent when its lifetime runs out).
   */
  async #call<T>(
    what: string,
    call: (abortSignal: AbortSignal) => Promise<T>,
    timeoutMs = this.timeoutMs,
    /** What running out of time means; by default the host not answering. */
    timedOut: () => Error = () => new HostUnreachableError(this.host, `${what}: no answer in ${timeoutMs} ms`),
  ): Promise<T> {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(timedOut());
      }, timeoutMs);
    });
    try {
      return await Promise.race([call(controller.signal), deadline]);
    } catch (err) {
      if (err instanceof HostUnreachableError || err instanceof BuildFailedError || err instanceof BuildTimeoutError) {
        throw err;
      }
      const status = (err as { statusCode?: number }).statusCode;
      if (typeof status === "number" && status < 500)
        throw new DockerRefusedError(status, `${what}: ${dockerMessage(err)}`, { cause: err });
      if (typeof status === "number") {
        // dockerd answered, but failed: some of these are about the request (an image it cannot run).
        throw new DockerRefusedError(status, `${what}: ${dockerMessage(err)}`, { cause: err });
      }
      throw new HostUnreachableError(this.host, `${what}: ${dockerMessage(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  async ping(): Promise<void> {
    await this.#call("ping", (abortSignal) => (this.docker as unknown as SystemCalls).ping({ abortSignal }));
  }

  async containersWithLabel(label: string, value?: string): Promise<ManagedContainer[]> {
    const filter = value === undefined ? label : `${label}=${value}`;
    const list = await this.#call("list containers", (abortSignal) =>
      this.docker.listContainers({ all: true, filters: { label: [filter] }, abortSignal }),
    );
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? "").replace(/^\//, ""),
      state: c.State,
      createdAt: new Date(c.Created * 1000),
      labels: c.Labels,
    }));
  }

  /** Creates the container unless one with its name exists; returns its id either way. */
  async createWorkspaceContainer(spec: WorkspaceContainerSpec): Promise<string> {
    try {
      const container = await this.#call("create container", (abortSignal) =>
        this.docker.createContainer({
          name: spec.name,
          Image: spec.image,
          Hostname: spec.hostname.split(".")[0],
          Labels: spec.labels,
          // Keeps the container up; tini (dockerd --init) is PID 1 and reaps what users start.
          Cmd: ["sleep", "2147483647"],
          WorkingDir: "/workspace",
          NetworkDisabled: true,
          HostConfig: {
            NetworkMode: "none",
            Memory: spec.memoryBytes,
            NanoCpus: spec.nanoCpus,
            PidsLimit: 512,
            RestartPolicy: { Name: "unless-stopped" },
            Tmpfs: { "/workspace": `rw,size=${spec.workspaceBytes},nr_inodes=${spec.workspaceInodes},mode=1777` },
            CapDrop: ["NET_RAW", "MKNOD", "AUDIT_WRITE"],
            SecurityOpt: ["no-new-privileges"],
          },
          abortSignal,
        } as Docker.ContainerCreateOptions),
      );
      return container.id;
    } catch (err) {
      if (err instanceof DockerRefusedError && err.statusCode === 409) {
        const info = await this.#call("inspect container", (abortSignal) =>
          this.docker.getContainer(spec.name).inspect({ abortSignal }),
        );
        return info.Id;
      }
      throw err;
    }
  }

  async start(id: string): Promise<void> {
    try {
      await this.#call("start container", (abortSignal) => this.docker.getContainer(id).start({ abortSignal }));
    } catch (err) {
      // 304: already running.
      if (!(err instanceof DockerRefusedError && err.statusCode === 304)) throw err;
    }
  }

  async inspect(id: string): Promise<Docker.ContainerInspectInfo | null> {
    try {
      return await this.#call("inspect container", (abortSignal) =>
        this.docker.getContainer(id).inspect({ abortSignal }),
      );
    } catch (err) {
      if (err instanceof DockerRefusedError && err.statusCode === 404) return null;
      throw err;
    }
  }

  /** Removes the container (running or not); a container already gone is fine. */
  async remove(id: string): Promise<void> {
    try {
      await this.#call("remove container", (abortSignal) =>
        this.docker.getContainer(id).remove({ force: true, v: true, abortSignal }),
      );
    } catch (err) {
      if (!(err instanceof DockerRefusedError && err.statusCode === 404)) throw err;
    }
  }

  /**
   * Runs a shell script in the container as root, through the Docker API's exec (its output
   * demultiplexed from the hijacked stream); its exit code and output. Bounded like every call.
   */
  async exec(id: string, script: string): Promise<{ code: number; output: string }> {
    return this.#call("exec in container", async (abortSignal) => {
      const container = this.docker.getContainer(id);
      const exec = await container.exec({
        Cmd: ["/bin/sh", "-c", script],
        AttachStdout: true,
        AttachStderr: true,
        abortSignal,
      } as Docker.ExecCreateOptions);
      const stream = await exec.start({ hijack: true, stdin: false });
      let output = "";
      const sink = new PassThrough();
      sink.on("data", (chunk: Buffer) => {
        if (output.length < 64_000) output += chunk.toString();
      });
      this.docker.modem.demuxStream(stream, sink, sink);
      await new Promise<void>((resolve, reject) => {
        stream.once("end", () => resolve());
        stream.once("close", () => resolve());
        stream.once("error", reject);
      });
      const info = (await exec.inspect({ abortSignal } as never)) as unknown as Docker.ExecInspectInfo;
      return { code: info.ExitCode ?? -1, output: output.trim() };
    });
  }

  /** The image with this name or id, or null when the host does not have it. */
  async image(name: string): Promise<HostImage | null> {
    try {
      const info = await this.#call(
        "inspect image",
        (abortSignal) =>
          this.docker.getImage(name).inspect({ abortSignal } as never) as unknown as Promise<Docker.ImageInspectInfo>,
      );
      return { id: info.Id, sizeBytes: info.Size, labels: info.Config?.Labels ?? {} };
    } catch (err) {
      if (err instanceof DockerRefusedError && err.statusCode === 404) return null;
      throw err;
    }
  }

  /**
   * Builds an image from a tar context with the classic builder, with no network for its RUN steps
   * and intermediate containers removed even when a step fails (`forcerm`). Each output line goes
   * to `onLine` as it comes. A build is done only when Docker says which image it made: a stream
   * that ends before that is the connection's failure (retried), not the build's.
   * @throws BuildFailedError with Docker's message when the build fails; BuildTimeoutError past
   * the long deadline (the request is dropped, so dockerd cancels the build).
   */
  async build(
    context: Readable,
    o: { tag: string; labels: Record<string, string>; memoryBytes?: number; cpus?: number },
    onLine: (line: string) => void,
  ): Promise<void> {
    // Each step's container: at most this memory (no swap beyond it) and this share of the CPUs.
    const limits = {
      ...(o.memoryBytes ? { memory: o.memoryBytes, memswap: o.memoryBytes } : {}),
      ...(o.cpus ? { cpuperiod: 100_000, cpuquota: Math.round(o.cpus * 100_000) } : {}),
    };
    await this.#call(
      "build image",
      async (abortSignal) => {
        const stream = (await this.#long.buildImage(context, {
          t: o.tag,
          labels: o.labels,
          networkmode: "none",
          rm: true,
          forcerm: true,
          pull: false,
          version: "1",
          ...limits,
          abortSignal,
        } as Docker.ImageBuildOptions)) as unknown as Readable;
        abortSignal.addEventListener("abort", () => stream.destroy(), { once: true });
        await new Promise<void>((resolve, reject) => {
          let failure: string | null = null;
          let built = false;
          this.#long.modem.followProgress(
            stream,
            (err: Error | null) => {
              if (err) reject(new HostUnreachableError(this.host, `build image: ${err.message}`, { cause: err }));
              else if (failure) reject(new BuildFailedError(failure));
              else if (!built)
                reject(new HostUnreachableError(this.host, "build image: the stream ended before the build"));
              else resolve();
            },
            (event: { stream?: string; aux?: { ID?: string }; error?: string; errorDetail?: { message?: string } }) => {
              if (typeof event.stream === "string") {
                for (const line of event.stream.split("\n")) if (line.trim()) onLine(line.trimEnd());
              }
              if (event.aux?.ID) built = true;
              if (event.error) {
                failure = event.errorDetail?.message ?? event.error;
                onLine(`ERROR: ${failure}`);
              }
            },
          );
        });
      },
      this.longTimeoutMs,
      () => new BuildTimeoutError(this.longTimeoutMs),
    );
  }

  /** The image as a `docker save` tar stream (GET /images/{name}/get). */
  async exportImage(name: string): Promise<Readable> {
    return this.#call(
      "export image",
      () => this.#long.getImage(name).get() as unknown as Promise<Readable>,
      this.longTimeoutMs,
    );
  }

  /** Loads a `docker save` tar stream (POST /images/load); resolves once dockerd has read it all. */
  async loadImage(tar: Readable): Promise<void> {
    await this.#call(
      "load image",
      async () => {
        const out = await (this.#long.loadImage(tar, { quiet: true } as never) as unknown as Promise<Readable>);
        const answer = await new Promise<string>((resolve, reject) => {
          let text = "";
          out.on("data", (chunk: Buffer) => {
            text += chunk.toString();
          });
          out.once("end", () => resolve(text));
          out.once("error", reject);
        });
        const error = /"error"\s*:\s*"([^"]*)"/.exec(answer);
        if (error) throw new DockerRefusedError(500, `load image: ${error[1]}`);
      },
      this.longTimeoutMs,
    );
  }

  /** Removes an image (its tag, and its layers if nothing else uses them); gone already is fine. */
  async removeImage(name: string): Promise<void> {
    try {
      await this.#call(
        "remove image",
        (abortSignal) =>
          this.docker.getImage(name).remove({ force: true, abortSignal } as never) as unknown as Promise<unknown>,
      );
    } catch (err) {
      if (!(err instanceof DockerRefusedError && err.statusCode === 404)) throw err;
    }
  }

  /** Bytes Docker holds on this host: image layers, containers' writable layers, volumes. */
  async dockerBytes(): Promise<number> {
    const df = (await this.#call("system df", (abortSignal) =>
      (this.docker as unknown as SystemCalls).df({ abortSignal }),
    )) as {
      LayersSize?: number;
      Containers?: Array<{ SizeRw?: number }>;
      Volumes?: Array<{ UsageData?: { Size?: number } }>;
    };
    const containers = (df.Containers ?? []).reduce((sum, c) => sum + Math.max(0, c.SizeRw ?? 0), 0);
    const volumes = (df.Volumes ?? []).reduce((sum, v) => sum + Math.max(0, v.UsageData?.Size ?? 0), 0);
    return (df.LayersSize ?? 0) + containers + volumes;
  }

  /** Size and free space of the filesystem under Docker's data root, read on the host itself. */
  async dataRootFilesystem(): Promise<{ totalBytes: number; freeBytes: number }> {
    const info = await this.#call("info", (abortSignal) =>
      (this.docker as unknown as SystemCalls).info({ abortSignal }),
    );
    const root = String((info as { DockerRootDir?: string }).DockerRootDir ?? "/var/lib/docker");
    const r = await this.ssh.run(`df -B1 --output=size,avail '${root.replace(/'/g, "")}' | tail -n 1`, this.timeoutMs);
    const [size, avail] = r.stdout.trim().split(/\s+/).map(Number);
    if (r.code !== 0 || !Number.isFinite(size) || !Number.isFinite(avail)) {
      throw new HostUnreachableError(this.host, `df of ${root} failed: ${r.stderr.trim() || r.stdout.trim()}`);
    }
    return { totalBytes: size ?? 0, freeBytes: avail ?? 0 };
  }
}
