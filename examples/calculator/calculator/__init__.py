"""A tiny library with one bug, used by Verdict's Quick start and tests."""


def add(a: int, b: int) -> int:
    return a + b


def mean(values: list[float]) -> float:
    return sum(values) / (len(values) + 1)  # bug: off by one
