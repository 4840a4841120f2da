"""The kubelet's CPU rates over windows, and how metrics.k8s.io renders quantities and windows."""

from __future__ import annotations

import os

from kfval.embedded.apiserver import metricsapi
from kfval.embedded.kubelet import accounting, summary


def test_a_first_reading_is_a_rate_over_the_containers_lifetime() -> None:
    readings = summary.Readings()
    assert readings.rate(100.0, 2_000_000_000, started_seconds_ago=4.0) == (500_000_000, 4.0)


def test_later_readings_take_the_rate_since_the_newest_reading_a_window_ago() -> None:
    readings = summary.Readings()
    readings.rate(100.0, 1_000_000_000, started_seconds_ago=10.0)
    readings.rate(102.0, 2_000_000_000, started_seconds_ago=12.0)
    nanocores, window = readings.rate(102.5, 2_500_000_000, started_seconds_ago=12.5)
    assert (nanocores, window) == (600_000_000, 2.5)
    assert readings.rate(103.5, 3_000_000_000, started_seconds_ago=13.5) == (500_000_000, 1.0)


def test_quantities_and_windows_read_as_metrics_server_writes_them() -> None:
    assert metricsapi.cpu_quantity(12345) == "12345n"
    assert metricsapi.memory_quantity(4096 * 3) == "12Ki"
    assert metricsapi.memory_quantity(1000) == "1000"
    assert metricsapi.window(10.2134) == "10.213s"
    assert metricsapi.window(2.0) == "2s"


def test_a_process_tree_counts_this_process_and_its_children() -> None:
    table = accounting.process_table()
    usage = accounting.tree_usage(os.getpid(), table)
    assert usage.memory_bytes > 1024 * 1024
    assert os.getpid() in accounting.descendants(os.getppid(), table)
