"""geomon benchmarks: wall time and memory, printed as ratios against a floor (``make bench``)."""
