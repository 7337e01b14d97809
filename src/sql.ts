/**
 * `quorum/sql`: DuckDB SQL over the artifacts, as `quorum sql` runs it. A separate entry point
 * from `quorum` so that importing the library does not load DuckDB's native module.
 */
export { ArtifactsDb, type OpenArtifactsOptions } from './sql/artifactsDb.js';
export { listQueries, resolveQuery, QUERIES_DIR, type BundledQuery } from './sql/catalog.js';
export { formatResult, SQL_FORMATS, type SqlFormat } from './sql/format.js';
export type { SqlResult, SqlColumn, SqlValue } from './sql/values.js';
