import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../errors.js';
import { listQueries, resolveQuery } from '../sql/catalog.js';
import { formatResult, SQL_FORMATS, type SqlFormat } from '../sql/format.js';
import { writeOutput } from '../sql/output.js';
import type { CliContext } from './context.js';

interface SqlArgs {
  query?: string;
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
        .option('out', { type: 'string', default: './artifacts', describe: 'Artifacts folder to read' })
        .option('format', { type: 'string', default: 'table', describe: `Output format: ${SQL_FORMATS.join(', ')}` })
        .option('csv-raw', { type: 'boolean', default: false, describe: "--format csv: write text as it is, without the ' that keeps a spreadsheet from running =, +, -, @ cells as formulas" })
        .option('list', { type: 'boolean', default: false, describe: 'List the bundled queries and what each answers' })
        .example('quorum sql --list', 'the bundled queries')
        .example('quorum sql model_latency', 'p50/p95 latency per model')
        .example('quorum sql my.sql --format csv', 'your own query, as CSV') as unknown as Argv<SqlArgs>,
    handler: async (args) => {
      if (!(SQL_FORMATS as readonly string[]).includes(args.format)) {
        throw new UsageError(`Expected --format to be one of ${SQL_FORMATS.join(', ')}, got "${args.format}"`);
      }
      if (args.list) {
        if (args.query !== undefined) throw new UsageError('Give a query or --list, not both');
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
      if (args.query === undefined || args.query.trim() === '') {
        throw new UsageError(`Give a query name or a .sql file, e.g. quorum sql model_latency; the bundled queries: ${listQueries().map((q) => q.name).join(', ')}`);
      }
      const source = resolveQuery(args.query);
      // DuckDB loads only when a query runs: other commands must not pay its start-up.
      const { ArtifactsDb } = await import('../sql/artifactsDb.js');
      const db = await ArtifactsDb.open(args.out);
      const onAbort = () => db.interrupt();
      ctx.signal.addEventListener('abort', onAbort);
      // A Ctrl-C while DuckDB was starting came before the listener.
      if (ctx.signal.aborted) db.interrupt();
      try {
        const result = await db.query(source.sql, source.bundled ? source.name : args.query);
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
