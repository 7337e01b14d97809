import {
  DuckDBTypeId,
  JsonDuckDBValueConverter,
  type DuckDBMaterializedResult,
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

type Convert = (value: DuckDBValue) => SqlValue;

const asIs: Convert = (value) => value as SqlValue;
const fromBig: Convert = (value) => {
  if (value === null) return null;
  const big = value as bigint;
  return big >= MIN_SAFE && big <= MAX_SAFE ? Number(big) : big;
};
const fromDecimal: Convert = (value) => (value === null ? null : Number((value as DuckDBValue & { toString(): string }).toString()));

/** How to turn one column's values into `SqlValue`s, chosen once per column: results can hold millions of values. */
function converterFor(type: DuckDBType): Convert {
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
      return asIs;
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return fromBig;
    case DuckDBTypeId.DECIMAL:
      return fromDecimal;
    default:
      return (value) => (value === null ? null : toSqlValue(value, type, toSqlValue));
  }
}

/**
 * Any node-api value → `SqlValue`, for values inside lists and structs and for the types
 * `converterFor` does not special-case: node-api's JSON converter (timestamps, dates and
 * intervals as DuckDB's text), recursing back here for nested values.
 */
const toSqlValue: DuckDBValueConverter<SqlValue> = (value, type, converter) => {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return fromBig(value);
    case DuckDBTypeId.DECIMAL:
      return fromDecimal(value);
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.FLOAT:
      return value as SqlValue;
    default:
      return JsonDuckDBValueConverter(value, type, converter as unknown as typeof JsonDuckDBValueConverter) as SqlValue;
  }
};

/** A finished result's columns and rows as `SqlValue`s. */
export function readResult(result: DuckDBMaterializedResult): SqlResult {
  const types = result.columnTypes();
  const columns = result.columnNames().map((name, c) => ({ name, type: types[c]!.toString(), numeric: isNumericType(types[c]!) }));
  const convert = types.map(converterFor);
  const rows: SqlValue[][] = [];
  for (let k = 0; k < result.chunkCount; k++) {
    const chunk = result.getChunk(k);
    const vectors = columns.map((_, c) => chunk.getColumnVector(c));
    const n = chunk.rowCount;
    const base = rows.length;
    for (let r = 0; r < n; r++) rows.push(new Array(columns.length));
    for (let c = 0; c < columns.length; c++) {
      const vector = vectors[c]!;
      const f = convert[c]!;
      for (let r = 0; r < n; r++) rows[base + r]![c] = f(vector.getItem(r));
    }
  }
  return { columns, rows };
}
