import { describe, expect, test } from 'vitest';
import { add, mean } from '../src/calculator.js';

describe('add', () => {
  test('adds two numbers', () => {
    expect(add(2, 3)).toBe(5);
  });
});

describe('mean', () => {
  test('averages three numbers', () => {
    expect(mean([2, 4, 6])).toBe(4);
  });

  test.skip('of nothing is undefined', () => {
    mean([]);
  });
});
