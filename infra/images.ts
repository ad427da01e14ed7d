/**
 * Builds the A4C image on a Docker engine (the one DOCKER_HOST names, or the local one), with
 * nothing pulled: a Debian root made by debootstrap is imported as the base, then the Dockerfile
 * adds the checkout. The launcher's distributions (Elasticsearch, Kafka, Debezium) are installed
 * first so the image carries them.
 */
import { join } from "node:path";
import { installDebeziumDist } from "./components/debezium.ts";
import { debianRootTarball, IMAGE_PACKAGES, rootKey, SUITE } from "./lib/debian-root.ts";
import { LOCAL, ROOT } from "./lib/paths.ts";
import { run, say } from "./lib/shell.ts";
import { stack } from "./stack.ts";

export const IMAGE = process.env.A4C_IMAGE ?? "a4c/a4c:local";

function docker(args: string[], allowFailure = false) {
  return run("docker", args, { allowFailure, env: { DOCKER_BUILDKIT: "0" } });
}

/** The base image's tag: the Debian suite and the package list's key. */
export const baseImage = () => `a4c/debian:${SUITE}-${rootKey(IMAGE_PACKAGES)}`;

export function buildImage(tag = IMAGE): { tag: string; base: string; seconds: number } {
  const started = performance.now();
  const { elasticsearch, kafka } = stack().infrastructure;
  elasticsearch.install();
  kafka.install();
  installDebeziumDist(join(LOCAL, "debezium", "dist"));
  const base = baseImage();
  if (docker(["image", "inspect", base], true).code !== 0) {
    const tarball = debianRootTarball(IMAGE_PACKAGES);
    say(`importing ${tarball} as ${base}…`);
    docker(["import", "--change", "ENV LANG=C.UTF-8", "--change", 'CMD ["/bin/bash"]', tarball, base]);
  }
  const commit = run("git", ["rev-parse", "--short", "HEAD"], { allowFailure: true }).stdout.trim();
  const tags = [tag, ...(commit ? [`${tag.split(":")[0]}:${commit}`] : [])].flatMap((t) => ["-t", t]);
  say(`building ${tag} FROM ${base}…`);
  docker(["build", "--build-arg", `BASE=${base}`, ...tags, "--label", `a4c.commit=${commit || "unknown"}`, ROOT]);
  const seconds = Math.round((performance.now() - started) / 1000);
  say(`${tag} built in ${seconds} s`);
  return { tag, base, seconds };
}
