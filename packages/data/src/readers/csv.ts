// CSV as RFC 4180 defines it: fields separated by a delimiter, records by CRLF or LF; a field in
// double quotes may hold delimiters, newlines and doubled quotes (""). Every record must have as
// many fields as the first (the header, when there is one); a ragged row is an error naming its
// line, never a silently shifted column.

import type { Device, DType, Tensor } from '@kiln/core';
import * as k from '@kiln/core';
import { maybeGunzip } from '../io/gzip.js';
import { type ByteSource, decodeUtf8, readBytes, sourceName } from '../io/source.js';

export interface CsvOptions {
  /** Field separator, one character (default ','; '\t' for TSV). */
  delimiter?: string;
  /** Whether the first record names the columns (default true). */
  header?: boolean;
  /** Skip lines that are empty (default true). */
  skipEmptyLines?: boolean;
  /** Name used in error messages (default: the path, or `<csv>` for text). */
  name?: string;
}

export interface CsvTable {
  /** Column names, or null when the file has no header. */
  header: string[] | null;
  /** Records after the header, each with header.length (or the first record's) fields. */
  rows: string[][];
  /** The 1-based line each row starts on, for messages about its values. */
  rowLines: number[];
  /** Where the table came from (for messages). */
  name: string;
}

/** Parses CSV text; see CsvOptions. */
export function parseCsv(text: string, options: CsvOptions = {}): CsvTable {
  const delimiter = options.delimiter ?? ',';
  const name = options.name ?? '<csv>';
  const skipEmpty = options.skipEmptyLines ?? true;
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new Error(
      `parseCsv: delimiter must be one character other than a quote or newline (got ${JSON.stringify(delimiter)})`,
    );
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const records: string[][] = [];
  const lines: number[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const startLine = line;
    const fields: string[] = [];
    let field = '';
    let endOfRecord = false;
    while (!endOfRecord) {
      if (text[i] === '"') {
        // Quoted field: runs to the next quote not followed by another quote.
        const quoteLine = line;
        i++;
        for (;;) {
          if (i >= n) throw new Error(`parseCsv: ${name} line ${quoteLine}: unterminated quoted field`);
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        if (i < n && text[i] !== delimiter && text[i] !== '\n' && text[i] !== '\r') {
          throw new Error(
            `parseCsv: ${name} line ${line}: unexpected character ${JSON.stringify(text[i])} after a closing quote`,
          );
        }
      }
      while (i < n && text[i] !== delimiter && text[i] !== '\n' && text[i] !== '\r') {
        if (text[i] === '"') {
          throw new Error(
            `parseCsv: ${name} line ${line}: a quote inside an unquoted field (quote the whole field and double the quote)`,
          );
        }
        field += text[i++];
      }
      fields.push(field);
      field = '';
      if (i < n && text[i] === delimiter) {
        i++;
        continue;
      }
      // Newline (CRLF, LF or a lone CR) or end of text.
      if (text[i] === '\r') i++;
      if (text[i] === '\n') i++;
      line++;
      endOfRecord = true;
    }
    if (skipEmpty && fields.length === 1 && fields[0] === '') continue;
    records.push(fields);
    lines.push(startLine);
  }

  const useHeader = options.header ?? true;
  const width = records.length > 0 ? records[0].length : 0;
  records.forEach((r, j) => {
    if (r.length !== width) {
      const what = useHeader ? `the header on line ${lines[0]} has` : `the first row (line ${lines[0]}) has`;
      throw new Error(`parseCsv: ${name} line ${lines[j]} has ${r.length} fields, but ${what} ${width}`);
    }
  });
  if (useHeader) {
    return { header: records[0] ?? [], rows: records.slice(1), rowLines: lines.slice(1), name };
  }
  return { header: null, rows: records, rowLines: lines, name };
}

/** Reads a CSV file (UTF-8, optionally gzipped) from a path, URL or bytes. */
export async function readCsv(source: ByteSource, options: CsvOptions = {}): Promise<CsvTable> {
  const name = sourceName(source, options.name);
  const bytes = await maybeGunzip(await readBytes(source, 'readCsv'), `readCsv: ${name}`);
  return parseCsv(decodeUtf8(bytes, 'readCsv', name), { ...options, name });
}

// Decimal numbers as written in data files, plus NaN / inf spellings that numpy and pandas write.
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SPECIAL = new Map<string, number>([
  ['nan', Number.NaN],
  ['inf', Infinity],
  ['+inf', Infinity],
  ['-inf', -Infinity],
  ['infinity', Infinity],
  ['-infinity', -Infinity],
]);

/** A cell's number: empty is NaN (a missing value); undefined when the cell is not a number. */
function parseCell(cell: string): number | undefined {
  const s = cell.trim();
  if (s === '') return Number.NaN;
  if (NUMBER.test(s)) return Number(s);
  return SPECIAL.get(s.toLowerCase());
}

export interface CsvTensorOptions {
  /** Columns to take, by name (needs a header) or 0-based index; default all, in order. */
  columns?: readonly (string | number)[];
  /** float32 (default), float64 or int32. Empty cells are NaN for floats and an error for int32. */
  dtype?: DType;
  device?: Device;
}

/** Selected columns of a table as a [rows, columns] tensor; a non-numeric cell names its line and column. */
export function csvToTensor(table: CsvTable, options: CsvTensorOptions = {}): Tensor {
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'int32') {
    throw new Error(`csvToTensor: dtype must be float32, float64 or int32 (got ${dtype})`);
  }
  const width = table.header?.length ?? table.rows[0]?.length ?? 0;
  const columns = (options.columns ?? Array.from({ length: width }, (_, j) => j)).map((c) => {
    if (typeof c === 'number') {
      if (!Number.isInteger(c) || c < 0 || c >= width)
        throw new Error(`csvToTensor: ${table.name} has no column ${c} (it has ${width})`);
      return c;
    }
    const j = table.header?.indexOf(c) ?? -1;
    if (j < 0) {
      const known = table.header
        ? `its columns are ${table.header.map((h) => JSON.stringify(h)).join(', ')}`
        : 'it has no header';
      throw new Error(`csvToTensor: ${table.name} has no column ${JSON.stringify(c)} (${known})`);
    }
    return j;
  });
  const values = new Float64Array(table.rows.length * columns.length);
  table.rows.forEach((row, r) => {
    columns.forEach((c, j) => {
      const v = parseCell(row[c]);
      const where = () =>
        `${table.name} line ${table.rowLines[r]}, column ${table.header ? JSON.stringify(table.header[c]) : c}`;
      if (v === undefined)
        throw new Error(`csvToTensor: ${where()}: ${JSON.stringify(row[c])} is not a number`);
      if (dtype === 'int32' && !Number.isInteger(v)) {
        throw new Error(`csvToTensor: ${where()}: ${JSON.stringify(row[c])} is not an integer`);
      }
      values[r * columns.length + j] = v;
    });
  });
  return k.fromHost(
    values,
    [table.rows.length, columns.length],
    dtype,
    options.device ?? k.getDefaultDevice(),
  );
}
