import {
  DuckDBTypeId,
  JsonDuckDBValueConverter,
  type DuckDBResultReader,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBValueConverter,
} from '@duckdb/node-api';

/**
 * A cell of a query result, as plain JavaScript. Integers of any width are numbers (a bigint
 * only when beyond ±2^53, so nothing is rounded silently), DECIMALs are numbers, timestamps,
 * dates and intervals are DuckDB's text for them, lists are arrays and structs objects.
 */
export type SqlValue = null | boolean | number | bigint | string | SqlValue[] | { [key: string]: SqlValue };

export interface SqlColumn {
  name: string;
  /** DuckDB's name for the type, e.g. `BIGINT`, `DOUBLE`, `VARCHAR`, `INTEGER[]`. */
  type: string;
  /** True for integer, decimal and floating-point columns (right-aligned in tables). */
  numeric: boolean;
}

export interface SqlResult {
  columns: SqlColumn[];
  /** One array per row, in column order. */
  rows: SqlValue[][];
}

const NUMERIC = new Set<DuckDBTypeId>([
  DuckDBTypeId.TINYINT, DuckDBTypeId.SMALLINT, DuckDBTypeId.INTEGER, DuckDBTypeId.BIGINT, DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UTINYINT, DuckDBTypeId.USMALLINT, DuckDBTypeId.UINTEGER, DuckDBTypeId.UBIGINT, DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.BIGNUM, DuckDBTypeId.FLOAT, DuckDBTypeId.DOUBLE, DuckDBTypeId.DECIMAL,
]);

export function isNumericType(type: DuckDBType): boolean {
  return NUMERIC.has(type.typeId);
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * node-api value → `SqlValue`. Scalars JavaScript holds exactly are passed through (the common
 * case, kept cheap: results can have hundreds of thousands of rows); everything else goes
 * through node-api's JSON converter, which keeps nested values coming back here.
 */
const toSqlValue: DuckDBValueConverter<SqlValue> = (value, type, converter) => {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.VARCHAR:
      return value as SqlValue;
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM: {
      const big = value as bigint;
      return big >= MIN_SAFE && big <= MAX_SAFE ? Number(big) : big;
    }
    case DuckDBTypeId.DECIMAL:
      return Number((value as DuckDBValue & { toString(): string }).toString());
    default:
      return JsonDuckDBValueConverter(value, type, converter as unknown as typeof JsonDuckDBValueConverter) as SqlValue;
  }
};

/** A finished result's columns and rows as `SqlValue`s. */
export function readResult(reader: DuckDBResultReader): SqlResult {
  const types = reader.columnTypes();
  const columns = reader.columnNames().map((name, c) => ({ name, type: types[c]!.toString(), numeric: isNumericType(types[c]!) }));
  const byColumn = reader.convertColumns(toSqlValue);
  const rowCount = byColumn[0]?.length ?? 0;
  const rows: SqlValue[][] = new Array(rowCount);
  for (let r = 0; r < rowCount; r++) {
    const row: SqlValue[] = new Array(columns.length);
    for (let c = 0; c < columns.length; c++) row[c] = byColumn[c]![r] ?? null;
    rows[r] = row;
  }
  return { columns, rows };
}
