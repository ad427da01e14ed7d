import { ROOT } from "../../infra/lib/paths.ts";

/** `bash infra/a4c.sh <args>` from the checkout, as a person runs it: its exit code and output. */
export async function launcher(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn(["bash", "infra/a4c.sh", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code: await proc.exited, out: out + err };
}
