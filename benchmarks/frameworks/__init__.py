"""One module per framework; each exposes ``run(cfg) -> dict`` (see ``benchmarks.worker``)."""
