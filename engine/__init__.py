"""The generation engine: model loading and backends that stream text.

Plain Python with no Django import, so workers, benchmarks and training
recipes share it.
"""
