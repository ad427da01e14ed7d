/**
 * The job search projection in Elasticsearch: one document per job, joined with its workspace and
 * owner, written by es-sync with external versions (the job row's `version`), read by read-api.
 *
 * Only core analysis is used (`standard` analyzer, built-in `lowercase` normalizer): the dev node
 * runs the integ-test distribution, which has no analysis-common, painless, reindex or ingest.
 */
import type { Client, estypes } from "@elastic/elasticsearch";
import type { JobStatus, JobType } from "../domain/states.ts";

/** Readers and writers use the alias; the index behind it is versioned so a reindex can swap it. */
export const JOBS_ALIAS = "jobs";
/** Bump when the mapping changes incompatibly; a new index is then built and the alias moved. */
export const JOBS_MAPPING_VERSION = 1;

/** The document es-sync writes. Dates are ISO-8601 strings; absent values are null. */
export interface JobDocument {
  id: string;
  type: JobType;
  status: JobStatus;
  step: string | null;
  /** null for an image build: it belongs to no user. */
  userId: string | null;
  ownerName: string | null;
  ownerEmail: string | null;
  workspaceId: string | null;
  projectName: string | null;
  /** The image the workspace runs, or the tag an image build makes. */
  image: string | null;
  /** The repository an image build builds; null for other jobs. */
  repository: string | null;
  operationId: string | null;
  hostId: string | null;
  hostName: string | null;
  attempts: number;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** The job row's version; also sent as the external version so older events never win. */
  version: number;
}

const keyword = { type: "keyword" } as const;
/**
 * Enum-like values are matched case-insensitively (`status:failed` finds FAILED). Term queries go
 * through the same normalizer; aggregations return the lowercased keys, _source keeps the original.
 */
const caseless = { type: "keyword", normalizer: "lowercase" } as const;
const date = { type: "date" } as const;

export const JOBS_MAPPINGS = {
  // A field es-sync forgot to declare is a bug to surface in tests, not a silent dynamic mapping.
  dynamic: "strict",
  properties: {
    id: keyword,
    type: caseless,
    status: caseless,
    step: keyword,
    userId: keyword,
    ownerName: { type: "text", analyzer: "standard", fields: { keyword: { type: "keyword", ignore_above: 256 } } },
    ownerEmail: caseless,
    workspaceId: keyword,
    // Exact value for filters and facets; the text subfield for words inside names ("backend").
    projectName: { type: "keyword", ignore_above: 256, fields: { text: { type: "text", analyzer: "standard" } } },
    image: keyword,
    // Added after version 1 was built: ensureJobsIndex adds it to a live index in place (additive).
    repository: keyword,
    operationId: keyword,
    hostId: keyword,
    hostName: caseless,
    attempts: { type: "integer" },
    errorCode: caseless,
    errorMessage: { type: "text", analyzer: "standard" },
    createdAt: date,
    updatedAt: date,
    startedAt: date,
    finishedAt: date,
    version: { type: "long" },
  },
} as const satisfies estypes.MappingTypeMapping;

export const JOBS_SETTINGS = {
  number_of_shards: 1,
  // No replica on a single dev node (so health is green), one as soon as a second node exists.
  auto_expand_replicas: "0-1",
  refresh_interval: "1s",
} as const satisfies estypes.IndicesIndexSettings;

/** A fresh concrete index name, e.g. `jobs-v1-20260101t120000123`, for builds and reindexes. */
export function newJobsIndexName(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:.Z]/g, "")
    .toLowerCase();
  return `${JOBS_ALIAS}-v${JOBS_MAPPING_VERSION}-${stamp}`;
}

function errorType(err: unknown): string | undefined {
  const body = (err as { meta?: { body?: { error?: { type?: string } } } }).meta?.body;
  return body?.error?.type;
}

/** Creates `name` with the jobs mapping and settings. Returns false if it already existed. */
export async function createJobsIndex(client: Client, name: string): Promise<boolean> {
  try {
    await client.indices.create({ index: name, settings: JOBS_SETTINGS, mappings: JOBS_MAPPINGS });
    return true;
  } catch (err) {
    if (errorType(err) === "resource_already_exists_exception") return false;
    throw err;
  }
}

/** The indices `alias` points at now (empty when it does not exist). */
export async function aliasTargets(client: Client, alias = JOBS_ALIAS): Promise<string[]> {
  if (!(await client.indices.existsAlias({ name: alias }))) return [];
  return Object.keys(await client.indices.getAlias({ name: alias }));
}

/**
 * Points `alias` at `index` only, in one atomic alias update, so readers never see no index or two.
 * Returns the indices it was moved away from (the caller decides when to delete them).
 */
export async function pointJobsAlias(client: Client, index: string, alias = JOBS_ALIAS): Promise<string[]> {
  const previous = (await aliasTargets(client, alias)).filter((i) => i !== index);
  await client.indices.updateAliases({
    actions: [
      ...previous.map((i) => ({ remove: { index: i, alias } })),
      { add: { index, alias, is_write_index: true } },
    ],
  });
  return previous;
}

/**
 * The index behind the alias, creating a first one if there is none yet. The first index has a
 * fixed name, so processes racing to create it converge on the same one.
 */
export async function ensureJobsIndex(client: Client, alias = JOBS_ALIAS): Promise<string> {
  const [current] = await aliasTargets(client, alias);
  if (current) {
    // Fields added since the index was built (additive changes only; others bump the version).
    await client.indices.putMapping({ index: current, properties: JOBS_MAPPINGS.properties });
    return current;
  }
  const index = `${alias}-v${JOBS_MAPPING_VERSION}`;
  await createJobsIndex(client, index);
  await pointJobsAlias(client, index, alias);
  return index;
}
