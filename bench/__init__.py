"""Benchmarks: `make bench` (full) and `make bench-quick`; see docs/performance.md."""

import local  # noqa: F401 - puts the layer's package and the handlers on the path, as Lambda does
