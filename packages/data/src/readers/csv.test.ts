import '@kiln/backend-cpu';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { csvToTensor, parseCsv, readCsv } from './csv.js';
import { readLines, splitLines } from './lines.js';

describe('parseCsv (RFC 4180)', () => {
  it('parses the examples of RFC 4180 section 2', () => {
    // 2.6: fields with line breaks, double quotes and commas are enclosed in double quotes.
    expect(parseCsv('"aaa","b\r\nbb","ccc"\r\nzzz,yyy,xxx', { header: false }).rows).toEqual([
      ['aaa', 'b\r\nbb', 'ccc'],
      ['zzz', 'yyy', 'xxx'],
    ]);
    // 2.7: a double quote inside a quoted field is escaped by another double quote.
    expect(parseCsv('"aaa","b""bb","ccc"', { header: false }).rows).toEqual([['aaa', 'b"bb', 'ccc']]);
    // 2.3: an optional header line with the same format as records.
    const t = parseCsv('field_name,field_name,field_name\r\naaa,bbb,ccc\r\nzzz,yyy,xxx\r\n');
    expect(t.header).toEqual(['field_name', 'field_name', 'field_name']);
    expect(t.rows).toEqual([
      ['aaa', 'bbb', 'ccc'],
      ['zzz', 'yyy', 'xxx'],
    ]);
  });

  it('keeps empty fields, skips blank lines, drops a BOM, and tracks the line each row starts on', () => {
    const t = parseCsv('\ufeffa,b,c\n1,,3\n\n"x\ny",5,\n7,8,9');
    expect(t.header).toEqual(['a', 'b', 'c']);
    expect(t.rows).toEqual([
      ['1', '', '3'],
      ['x\ny', '5', ''],
      ['7', '8', '9'],
    ]);
    expect(t.rowLines).toEqual([2, 4, 6]);
  });

  it('reads TSV with a tab delimiter', () => {
    expect(parseCsv('a\tb\n1\t2\n', { delimiter: '\t' }).rows).toEqual([['1', '2']]);
  });

  it('a ragged row is an error naming the file, its line, and the expected width', () => {
    const text = 'x,y,z\n1,2,3\n"multi\nline",5,6\n7,8\n';
    expect(() => parseCsv(text, { name: 'data.csv' })).toThrow(
      'parseCsv: data.csv line 5 has 2 fields, but the header on line 1 has 3',
    );
    expect(() => parseCsv('1,2\n3,4,5', { header: false, name: 'h.csv' })).toThrow(
      'parseCsv: h.csv line 2 has 3 fields, but the first row (line 1) has 2',
    );
  });

  it('reports unterminated quotes and stray quotes with their line', () => {
    expect(() => parseCsv('a,b\n1,"open\n2,3\n', { name: 'q.csv' })).toThrow(
      'parseCsv: q.csv line 2: unterminated quoted field',
    );
    expect(() => parseCsv('a,b\n1,x"y\n', { name: 'q.csv' })).toThrow(
      'parseCsv: q.csv line 2: a quote inside an unquoted field',
    );
    expect(() => parseCsv('a,b\n"1"x,2\n', { name: 'q.csv' })).toThrow(
      'parseCsv: q.csv line 2: unexpected character "x" after a closing quote',
    );
  });
});

describe('readCsv and csvToTensor', () => {
  it('reads a gzipped file and converts chosen columns; empty cells are NaN', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-csv-'));
    const path = join(dir, 'iris.csv.gz');
    await writeFile(path, gzipSync('sepal,petal,species\n5.1,1.4,setosa\n4.9,,setosa\n6.3,6e0,virginica\n'));
    const t = await readCsv(path);
    expect(t.name).toBe(path);
    const x = csvToTensor(t, { columns: ['sepal', 1] });
    expect(x.shape).toEqual([3, 2]);
    expect(Array.from(x.dataSync() as ArrayLike<number>)).toEqual(
      [5.1, 1.4, 4.9, Number.NaN, 6.3, 6].map(Math.fround),
    );
  });

  it('a non-numeric cell names the file, line and column', () => {
    const t = parseCsv('a,b\n1,2\n3,abc\n', { name: 'm.csv' });
    expect(() => csvToTensor(t)).toThrow('csvToTensor: m.csv line 3, column "b": "abc" is not a number');
    expect(() => csvToTensor(parseCsv('a\n1.5\n', { name: 'i.csv' }), { dtype: 'int32' })).toThrow(
      'csvToTensor: i.csv line 2, column "a": "1.5" is not an integer',
    );
    expect(() => csvToTensor(t, { columns: ['c'] })).toThrow(
      'csvToTensor: m.csv has no column "c" (its columns are "a", "b")',
    );
  });

  it('parses numpy/pandas spellings of NaN and infinities', () => {
    const x = csvToTensor(parseCsv('v\nnan\ninf\n-inf\n1e-3\n'), { dtype: 'float64' });
    expect(Array.from(x.dataSync() as ArrayLike<number>)).toEqual([Number.NaN, Infinity, -Infinity, 0.001]);
  });
});

describe('readLines', () => {
  it('splits LF and CRLF, drops the BOM and the empty line after a final newline', () => {
    expect(splitLines('\ufeffone\r\ntwo\n\nthree\n')).toEqual(['one', 'two', '', 'three']);
    expect(splitLines('  a \n\n b\n', { trim: true, skipEmpty: true })).toEqual(['a', 'b']);
  });

  it('reads files, gzipped or not, and rejects invalid UTF-8 by name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-lines-'));
    await writeFile(join(dir, 'a.txt.gz'), gzipSync('héllo\nwörld\n'));
    expect(await readLines(join(dir, 'a.txt.gz'))).toEqual(['héllo', 'wörld']);
    await writeFile(join(dir, 'bad.txt'), new Uint8Array([0x61, 0xff, 0x62]));
    await expect(readLines(join(dir, 'bad.txt'))).rejects.toThrow(
      `readLines: ${join(dir, 'bad.txt')} is not valid UTF-8 text`,
    );
  });
});
