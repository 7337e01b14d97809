/**
 * `quorum/report`: the self-contained HTML report, as `quorum report` writes it. A separate entry
 * point from `quorum` so that importing the library loads neither Vega nor DuckDB.
 */
export { generateReport, type ReportOptions, type ReportResult, type ReportTarget } from './report/generate.js';
