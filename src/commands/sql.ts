import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../errors.js';
import { listQueries, resolveQuery } from '../sql/catalog.js';
import { formatResult, SQL_FORMATS, type SqlFormat } from '../sql/format.js';
import { writeOutput } from '../sql/output.js';
import type { CliContext } from './context.js';
import { quorumCommand } from '../render/invocation.js';

interface SqlArgs {
  query?: string;
  command?: string;
  out: string;
  format: SqlFormat;
  list: boolean;
  csvRaw: boolean;
}

export function sqlCommand(ctx: CliContext): CommandModule<object, SqlArgs> {
  return {
    command: 'sql [query]',
    describe: 'Answer a question about past runs with DuckDB SQL over the artifacts (read-only)',
    builder: (y: Argv) =>
      y
        .positional('query', { type: 'string', describe: 'A bundled query name (see --list) or a path to your own .sql file' })
        .option('command', { alias: 'c', type: 'string', describe: 'Run this SQL text instead of a query name or file, e.g. -c "SELECT status, count(*) FROM consensus GROUP BY ALL"' })
        .option('out', { type: 'string', default: './artifacts', describe: 'Artifacts folder to read' })
        .option('format', { type: 'string', default: 'table', describe: `Output format: ${SQL_FORMATS.join(', ')} (any case)` })
        .option('csv-raw', { type: 'boolean', default: false, describe: "--format csv: write text as it is, without the ' that keeps a spreadsheet from running =, +, -, @ cells as formulas" })
        .option('list', { type: 'boolean', default: false, describe: 'List the bundled queries and what each answers' })
        .example('$0 sql --list', 'the bundled queries')
        .example('$0 sql model_latency', 'p50/p95 latency per model')
        .example('$0 sql my.sql --format csv', 'your own query, as CSV')
        .example('$0 sql -c "SELECT runid, status, query FROM consensus ORDER BY finished_at DESC LIMIT 5"', 'inline SQL over the views') as unknown as Argv<SqlArgs>,
    handler: async (args) => {
      // `--format JSON` means json: the names are case-insensitive.
      const format = String(args.format).trim().toLowerCase() as SqlFormat;
      if (!(SQL_FORMATS as readonly string[]).includes(format)) {
        throw new UsageError(`Expected --format to be one of ${SQL_FORMATS.join(', ')}, got "${args.format}"`);
      }
      args.format = format;
      if (Array.isArray(args.command)) throw new UsageError('Give -c once; put several statements in one string, separated by ;');
      if (args.command !== undefined && args.query !== undefined) throw new UsageError('Give a query name, a .sql file or -c "SQL", not two of them');
      if (args.command !== undefined && String(args.command).trim() === '') {
        throw new UsageError(`-c needs SQL text, e.g. ${quorumCommand('sql', '-c', 'SELECT status, count(*) FROM consensus GROUP BY ALL')}`);
      }
      if (args.list) {
        if (args.query !== undefined || args.command !== undefined) throw new UsageError('Give a query or --list, not both');
        const queries = listQueries();
        const result = {
          columns: [
            { name: 'name', type: 'VARCHAR', numeric: false },
            { name: 'description', type: 'VARCHAR', numeric: false },
          ],
          rows: queries.map((q) => [q.name, q.description]),
        };
        // A reader that closed the pipe early (| head) ends the output quietly.
        await writeOutput(ctx.stdout, args.format === 'table' ? listText(queries) : formatResult(result, args.format, { csvRaw: args.csvRaw }));
        return;
      }
      if (args.command === undefined && (args.query === undefined || args.query.trim() === '')) {
        throw new UsageError(
          `Give a query name or a .sql file (or -c "SQL"), e.g. ${quorumCommand('sql', 'model_latency')}; the bundled queries: ${listQueries().map((q) => q.name).join(', ')}`,
        );
      }
      const source = args.command !== undefined ? { name: '-c', sql: String(args.command), bundled: false } : resolveQuery(args.query!);
      // DuckDB loads only when a query runs: other commands must not pay its start-up.
      const { ArtifactsDb } = await import('../sql/artifactsDb.js');
      const db = await ArtifactsDb.open(args.out);
      const onAbort = () => db.interrupt();
      ctx.signal.addEventListener('abort', onAbort);
      // A Ctrl-C while DuckDB was starting came before the listener.
      if (ctx.signal.aborted) db.interrupt();
      try {
        const result = await db.query(source.sql, source.bundled || args.command !== undefined ? source.name : args.query);
        await writeOutput(ctx.stdout, formatResult(result, args.format, { csvRaw: args.csvRaw }));
      } catch (error) {
        if (!ctx.signal.aborted) throw error;
        ctx.stderr.write('Interrupted: the query was cancelled.\n');
        ctx.exitCode = 130;
      } finally {
        ctx.signal.removeEventListener('abort', onAbort);
        db.close();
      }
    },
  };
}

/** `--list` for people: one name per line with its description beside it. */
function listText(queries: { name: string; description: string }[]): string {
  const width = Math.max(0, ...queries.map((q) => q.name.length));
  return queries.map((q) => `${q.name.padEnd(width)}  ${q.description}`.trimEnd()).join('\n') + '\n';
}
