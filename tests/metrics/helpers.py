"""Reading /metrics' exposition in tests."""

from prometheus_client.parser import text_string_to_metric_families

from metrics.collectors import exposition


def parse(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, its labels): value}."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(name: str, **labels) -> float:
    """A sample's value as a scrape would show it now; 0 when absent."""
    return parse(exposition().decode()).get((name, frozenset(labels.items())), 0.0)
