import pino, { type Logger } from "pino";

export type { Logger };

/**
 * One root logger per service. Components take `logger.child({ component })`; events have
 * stable names in `event` and data in fields, never in interpolated strings.
 */
export function createLogger(service: string, level = "info"): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ["token", "*.token", "authorization", "*.authorization", "headers.authorization", "password"],
      censor: "[redacted]",
    },
    formatters: { level: (label) => ({ level: label }) },
  });
}
