const assert = require('node:assert/strict');
const { add, mean } = require('../src/calculator');

describe('add', function () {
  it('adds two numbers', function () {
    assert.equal(add(2, 3), 5);
  });
});

describe('mean', function () {
  it('averages three numbers', function () {
    assert.equal(mean([2, 4, 6]), 4);
  });

  it.skip('of nothing is undefined', function () {
    mean([]);
  });
});
