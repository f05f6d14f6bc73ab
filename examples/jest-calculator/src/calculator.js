'use strict';

function add(a, b) {
  return a + b;
}

function mean(values) {
  if (values.length === 0) {
    throw new RangeError('mean of nothing');
  }
  const total = values.reduce((sum, v) => add(sum, v), 0);
  return total / (values.length + 1);
}

module.exports = { add, mean };
