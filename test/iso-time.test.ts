// src/log/iso-time.ts writes what Date#toISOString writes, for every millisecond it handles itself
// and beyond (where it hands over to Date).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isoTime } from '../src/log/iso-time.ts';

const LAST_FOUR_DIGIT_YEAR_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

test('isoTime equals Date#toISOString over 1970-9999', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: LAST_FOUR_DIGIT_YEAR_MS }), (ms) => {
      assert.equal(isoTime(ms), new Date(ms).toISOString());
    }),
    { numRuns: 20_000 },
  );
});

test('isoTime at the edges: leap days, century years, year ends, the range ends and beyond', () => {
  const dates = [
    [1970, 0, 1],
    [1972, 1, 29],
    [1999, 11, 31],
    [2000, 1, 29],
    [2000, 2, 1],
    [2100, 1, 28],
    [2100, 2, 1],
    [2400, 1, 29],
    [9999, 11, 31],
  ] as const;
  for (const [y, m, d] of dates) {
    for (const ms of [Date.UTC(y, m, d), Date.UTC(y, m, d, 23, 59, 59, 999)]) {
      assert.equal(isoTime(ms), new Date(ms).toISOString());
    }
  }
  for (const ms of [-1, LAST_FOUR_DIGIT_YEAR_MS + 1, -62198755200000, 1.5]) {
    assert.equal(isoTime(ms), new Date(ms).toISOString());
  }
});
