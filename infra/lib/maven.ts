import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { aptInstall, run, say } from "./shell.ts";

/** Maven is needed only to fetch: a host that was shipped the distributions never installs it. */
function ensureMaven(): void {
  if (run("sh", ["-c", "command -v mvn"], { allowFailure: true }).code !== 0) aptInstall(["maven"]);
}

/** Pinned: the plugin bundled with Debian's Maven 3.8 is too old for these goals. */
const DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.7.1";

/**
 * Fetches one artifact (e.g. `g:a:v:tar.gz`) from Maven Central into `outDir`, through the local
 * ~/.m2 cache, so a second fetch is a copy. Returns the file's path.
 */
export function mavenCopy(artifact: string, outDir: string, fileName: string): string {
  const target = join(outDir, fileName);
  if (existsSync(target)) return target;
  mkdirSync(outDir, { recursive: true });
  ensureMaven();
  say(`fetching ${artifact} from Maven Central (cached in ~/.m2)…`);
  run("mvn", ["-B", "-q", `${DEPENDENCY_PLUGIN}:copy`, `-Dartifact=${artifact}`, `-DoutputDirectory=${outDir}`], {
    cwd: outDir,
  });
  if (!existsSync(target)) throw new Error(`maven fetched ${artifact} but ${target} is missing`);
  return target;
}

/**
 * Fetches artifacts with all their runtime dependencies into `libDir` (a classpath folder),
 * via a throwaway POM. `marker` is a file whose presence means the folder is complete.
 */
export function mavenClasspath(dependencies: string[], libDir: string, marker: string): void {
  if (existsSync(join(libDir, marker))) return;
  ensureMaven();
  const work = join(libDir, "..", ".maven");
  mkdirSync(work, { recursive: true });
  const deps = dependencies
    .map((d) => {
      const [groupId, artifactId, version] = d.split(":");
      return `    <dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${version}</version></dependency>`;
    })
    .join("\n");
  writeFileSync(
    join(work, "pom.xml"),
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.a4c</groupId><artifactId>fetch</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
${deps}
  </dependencies>
</project>
`,
  );
  say(`fetching ${dependencies.join(", ")} with dependencies from Maven Central (cached in ~/.m2)…`);
  run(
    "mvn",
    [
      "-B",
      "-q",
      "-f",
      join(work, "pom.xml"),
      `${DEPENDENCY_PLUGIN}:copy-dependencies`,
      `-DoutputDirectory=${libDir}`,
      "-DincludeScope=runtime",
    ],
    { cwd: work },
  );
  if (!existsSync(join(libDir, marker))) throw new Error(`maven did not produce ${marker} in ${libDir}`);
}
