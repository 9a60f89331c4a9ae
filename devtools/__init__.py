"""Developer tools: `make run` (devtools.run). Never deployed."""
