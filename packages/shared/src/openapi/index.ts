export { type ApiInfo, apiDocs } from "./document.ts";
export { type ErrorStatus, type OperationSpec, operation, schemaRef } from "./operation.ts";
export { type ApiSchemaName, ApiSchemas } from "./schemas.ts";
