"""The bot's Prometheus metrics, in a registry of its own per service (not prometheus_client's
global one), so that tests and several services in one process never count into each other.
`render()` is what `/metrics` answers (ops_server.py); the names are listed in
docs/OPERATIONS.md ("Observe"). Every labelled series that alerts may ask about exists from
the start at 0, so `rate()` and `absent()` work before the first event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import InfoMetricFamily
from prometheus_client.registry import Collector

from albumgan.bot.jobs import MODEL_FOR
from albumgan.bot.queue import REFUSAL_REASONS, FairQueue
from albumgan.bot.registry import RELOAD_OUTCOMES
from albumgan.modelfile import ModelInfo

COMMANDS = ("cover", "album", "random", "reroll", "variation", "remake")
OUTCOMES = ("ok", "user_error", "refused", "unavailable", "error", "cancelled")
PROVIDERS = ("spotify", "reccobeats", "local")
PLATFORMS = ("discord", "slack")
# Seconds, from a cache hit to a Spotify answer after retries; Prometheus adds +Inf.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class BotMetrics:
    def __init__(self, queue: FairQueue, loaded_models: Callable[[], list[ModelInfo]]) -> None:
        self.registry = CollectorRegistry()

        def counter(name: str, help: str, labels: tuple[str, ...]) -> Counter:
            return Counter(name, help, labels, registry=self.registry)

        def histogram(name: str, help: str, labels: tuple[str, ...]) -> Histogram:
            return Histogram(name, help, labels, buckets=BUCKETS, registry=self.registry)

        self.covers = counter("albumgan_covers", "Cover requests by command and outcome", ("command", "outcome"))
        self.refusals = counter("albumgan_refusals", "Requests turned away by a limit", ("reason",))
        self.provider_errors = counter(
            "albumgan_provider_errors", "Lookups a metadata or feature provider failed", ("provider",)
        )
        self.reloads = counter("albumgan_model_reloads", "Model reloads by model kind and outcome", ("kind", "outcome"))
        self.request_seconds = histogram(
            "albumgan_request_seconds", "Whole requests, from the command to the finished cover", ("command",)
        )
        self.queue_wait_seconds = histogram(
            "albumgan_queue_wait_seconds", "Waiting for a generation slot", ("command",)
        )
        self.lookup_seconds = histogram(
            "albumgan_lookup_seconds", "Looking up metadata and audio features (cover, album)", ("command",)
        )
        self.generation_seconds = histogram(
            "albumgan_generation_seconds", "Running the generator (batched with other requests)", ("model",)
        )
        self.upload_seconds = histogram(
            "albumgan_upload_seconds", "Sending a finished cover to the chat platform", ("platform",)
        )
        depth = Gauge("albumgan_queue_depth", "Requests in the queue by state", ("state",), registry=self.registry)
        depth.labels("admitted").set_function(lambda: queue.admitted_count)  # looking up, waiting or generating
        depth.labels("waiting").set_function(lambda: queue.waiting)  # for a generation slot
        depth.labels("generating").set_function(lambda: queue.running)
        self.registry.register(_LoadedModels(loaded_models))
        self._start_at_zero()

    def _start_at_zero(self) -> None:
        for command in COMMANDS:
            for outcome in OUTCOMES:
                self.covers.labels(command, outcome)
            self.request_seconds.labels(command)
            self.queue_wait_seconds.labels(command)
        for command in ("cover", "album"):
            self.lookup_seconds.labels(command)
        for reason in REFUSAL_REASONS:
            self.refusals.labels(reason)
        for provider in PROVIDERS:
            self.provider_errors.labels(provider)
        for kind in set(MODEL_FOR.values()):
            self.generation_seconds.labels(kind)
            for outcome in RELOAD_OUTCOMES:
                self.reloads.labels(kind, outcome)
        for platform in PLATFORMS:
            self.upload_seconds.labels(platform)

    def render(self) -> bytes:
        """The Prometheus text format of every metric, as of now."""
        return generate_latest(self.registry)


class _LoadedModels(Collector):
    """albumgan_model_info{kind, name, version, sha256} 1 per model serving now: read at each
    scrape, so a hot reload shows at once without a hook."""

    def __init__(self, loaded_models: Callable[[], list[ModelInfo]]) -> None:
        self._loaded_models = loaded_models

    def describe(self) -> Iterator[InfoMetricFamily]:
        yield self._family()  # the name alone: the models may not be loaded yet

    def collect(self) -> Iterator[InfoMetricFamily]:
        family = self._family()
        for info in self._loaded_models():
            family.add_metric([info.kind], {"name": info.name, "version": info.version, "sha256": info.sha256[:12]})
        yield family

    @staticmethod
    def _family() -> InfoMetricFamily:
        return InfoMetricFamily("albumgan_model", "The models serving now", labels=("kind",))
