/**
 * A route's OpenAPI documentation, built from TypeBox schemas and attached as the route's
 * `detail`. Only `detail`: Elysia's `body`, `params`, `query` and `response` hooks would make
 * Elysia validate, and the services decide themselves when a request is read and checked (the
 * gateway reads a body only after authentication, rate limit and authorisation).
 */
import type { TSchema } from "@sinclair/typebox";
import type { DocumentDecoration } from "elysia";
import type { ApiSchemaName } from "./schemas.ts";

/** The error answers a route may give, each a problem+json body. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 413 | 415 | 422 | 429 | 503;

/** What each error status means in this API; a route's own `description` says what it checks. */
const ERROR_MEANING: Record<ErrorStatus, string> = {
  400: "Bad Request: a parameter, header or body breaks a rule; `detail` names it",
  401: "Unauthorized: no bearer token, or not a valid one",
  403: "Forbidden: this token may not do this",
  404: "Not Found: no such resource, or it belongs to another user",
  413: "Content Too Large: the body exceeds the service's limit",
  415: "Unsupported Media Type: the body is not sent as application/json",
  422: "Idempotency Key Reused: this Idempotency-Key was already used with a different request",
  429: "Too Many Requests: rate limit exceeded for this token; retry after Retry-After seconds",
  503: "Service Unavailable: a dependency cannot answer now; retry after Retry-After seconds",
};

export interface Header {
  description: string;
  /** Whether every such answer carries it. */
  required?: boolean;
  schema: object;
}

const RETRY_AFTER: Header = {
  description: "seconds to wait before trying again",
  required: true,
  schema: { type: "integer", minimum: 0 },
};

export interface OperationSpec {
  summary: string;
  description?: string;
  tags: string[];
  /** Path parameters. */
  params?: Record<string, TSchema>;
  /** Query parameters; all optional. */
  query?: Record<string, TSchema>;
  /** Required request headers. */
  headers?: Record<string, TSchema>;
  /** A JSON request body. */
  body?: TSchema;
  /** The success answer: a named schema from `ApiSchemas`, or another content type. */
  ok: {
    status: 200 | 202;
    description: string;
    schema?: ApiSchemaName;
    content?: { type: string; schema: object };
    headers?: Record<string, Header>;
  };
  errors: ErrorStatus[];
  /** Answered without a token. */
  public?: boolean;
}

export const schemaRef = (name: ApiSchemaName) => ({ $ref: `#/components/schemas/${name}` });

function errorAnswer(status: ErrorStatus) {
  const headers: Record<string, Header> = {};
  if (status === 429 || status === 503) headers["Retry-After"] = RETRY_AFTER;
  if (status === 401)
    headers["WWW-Authenticate"] = { description: 'Bearer realm="a4c"', required: true, schema: { type: "string" } };
  return {
    description: ERROR_MEANING[status],
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    content: { "application/problem+json": { schema: schemaRef("Problem") } },
  };
}

const parameter =
  (where: "path" | "query" | "header", required: boolean) =>
  ([name, schema]: [string, TSchema]) => ({
    name,
    in: where,
    required,
    ...(schema.description ? { description: schema.description as string } : {}),
    schema,
  });

/** The `detail` of a route: its parameters, body and every answer it can give. */
export function operation(s: OperationSpec): DocumentDecoration {
  const parameters = [
    ...Object.entries(s.params ?? {}).map(parameter("path", true)),
    ...Object.entries(s.query ?? {}).map(parameter("query", false)),
    ...Object.entries(s.headers ?? {}).map(parameter("header", true)),
  ];
  const okContent = s.ok.content ?? (s.ok.schema ? { type: "application/json", schema: schemaRef(s.ok.schema) } : null);
  const responses: Record<string, object> = {
    [s.ok.status]: {
      description: s.ok.description,
      ...(s.ok.headers ? { headers: s.ok.headers } : {}),
      ...(okContent ? { content: { [okContent.type]: { schema: okContent.schema } } } : {}),
    },
  };
  for (const status of s.errors) responses[status] = errorAnswer(status);
  const detail: Record<string, unknown> = { summary: s.summary, tags: s.tags, responses };
  if (s.description) detail.description = s.description;
  if (parameters.length > 0) detail.parameters = parameters;
  if (s.body) detail.requestBody = { required: true, content: { "application/json": { schema: s.body } } };
  if (s.public) detail.security = [];
  // TypeBox schemas are JSON Schema; OpenAPI 3.1's Schema Object is JSON Schema.
  return detail as DocumentDecoration;
}
