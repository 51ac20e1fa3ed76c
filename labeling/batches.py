"""The size of labeling's bulk statements. An import or a snapshot can hold
hundreds of thousands of rows; each INSERT, UPDATE or `IN (...)` list takes
them BATCH_SIZE at a time, so one statement's parameters and memory stay
small however large the file is."""

from collections.abc import Iterator

BATCH_SIZE = 500


def batches(values: list, size: int = BATCH_SIZE) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
