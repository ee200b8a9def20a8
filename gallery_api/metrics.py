"""Prometheus metrics of the API (served at /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "gallery_api_request_seconds",
            "HTTP request latency",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.searches = Histogram(
            "gallery_search_seconds",
            "Similarity search latency in Elasticsearch",
            ["mode", "metric", "source"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.uploads_rejected = Counter(
            "gallery_uploads_rejected_total",
            "Uploaded query images refused",
            ["reason"],
            registry=self.registry,
        )
        self.indexed = Gauge(
            "gallery_images_indexed", "Documents in the index", registry=self.registry
        )
        self.dead_lettered = Gauge(
            "gallery_images_dead_lettered",
            "Records in the dead-letter topic",
            registry=self.registry,
        )
