"""Vintages as Dagster partitions: one partition per vintage of each source.

A source whose vintages the catalogue lists (years, mostly) has static partitions; a
weekly or monthly source (GTFS weeks, SIRENE months) has dynamic partitions, added when a
schedule, the sensor, a build or `territoires ingest` meets a new vintage.
"""

from __future__ import annotations

import dagster as dg

from pipelines.sources.catalogue import Source


def partitions_name(source_id: str) -> str:
    """The name of a weekly or monthly source's dynamic partitions in the Dagster instance."""
    return f"{source_id}_vintages"


def vintage_partitions(source: Source) -> dg.PartitionsDefinition:
    """A source's partitions: its catalogue vintages, or the dynamic set of its weeks or months."""
    if source.is_dynamic:
        return dg.DynamicPartitionsDefinition(name=partitions_name(source.id))
    return dg.StaticPartitionsDefinition(source.vintage_ids)


def add_vintages(instance: dg.DagsterInstance, source: Source, vintages: list[str]) -> list[str]:
    """Register new vintages of a weekly or monthly source as partitions; returns those added."""
    if not source.is_dynamic or not vintages:
        return []
    name = partitions_name(source.id)
    known = set(instance.get_dynamic_partitions(name))
    new = sorted(set(vintages) - known)
    if new:
        instance.add_dynamic_partitions(name, new)
    return new


def partition_order(instance: dg.DagsterInstance, source: Source) -> list[str]:
    """The source's partitions in their order (the order ranges follow)."""
    if source.is_dynamic:
        return list(instance.get_dynamic_partitions(partitions_name(source.id)))
    return source.vintage_ids


def contiguous_ranges(wanted: list[str], order: list[str]) -> list[tuple[str, str]]:
    """The wanted partitions as (first, last) ranges of consecutive partitions in `order`."""
    position = {key: i for i, key in enumerate(order)}
    indices = sorted(position[key] for key in set(wanted) if key in position)
    ranges: list[tuple[str, str]] = []
    for index in indices:
        if ranges and position[ranges[-1][1]] == index - 1:
            ranges[-1] = (ranges[-1][0], order[index])
        else:
            ranges.append((order[index], order[index]))
    return ranges
