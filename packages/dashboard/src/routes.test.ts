import { describe, expect, test } from "bun:test";
import { route } from "./routes.ts";

describe("front door routing", () => {
  test("reads go to the read-api, writes to the gateway, on the same path", () => {
    expect(route("GET", "/v1/jobs")).toEqual({ upstream: "readApi", path: "/v1/jobs" });
    expect(route("HEAD", "/status/op-u-1")).toEqual({ upstream: "readApi", path: "/status/op-u-1" });
    expect(route("POST", "/v1/users/u/workspaces")).toEqual({ upstream: "gateway", path: "/v1/users/u/workspaces" });
    expect(route("DELETE", "/v1/users/u/workspaces/w")).toEqual({
      upstream: "gateway",
      path: "/v1/users/u/workspaces/w",
    });
  });

  test("only the listed operator actions pass, with their method", () => {
    expect(route("GET", "/ops/processor/dlq")).toEqual({ upstream: "processor", path: "/dlq" });
    expect(route("POST", "/ops/es-sync/dlq/replay")).toEqual({ upstream: "esSync", path: "/dlq/replay" });
    expect(route("POST", "/ops/provisioner/cleanup")).toEqual({ upstream: "provisioner", path: "/cleanup" });
    expect(route("GET", "/ops/es-sync/metrics")).toBeNull();
    expect(route("DELETE", "/ops/es-sync/dlq")).toBeNull();
    expect(route("GET", "/ops/redis/dlq")).toBeNull();
    expect(route("GET", "/ops/processor/../metrics")).toBeNull();
  });

  test("API documents; everything else is the dashboard's own", () => {
    expect(route("GET", "/openapi/gateway.json")).toEqual({ upstream: "gateway", path: "/openapi.json" });
    expect(route("GET", "/openapi/read-api.json")).toEqual({ upstream: "readApi", path: "/openapi.json" });
    expect(route("POST", "/openapi/gateway.json")).toBeNull();
    for (const p of ["/", "/app.js", "/health", "/metrics", "/v1", "/statusx"]) expect(route("GET", p)).toBeNull();
  });
});
