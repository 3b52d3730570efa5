"""``python -m bench``: run the benchmarks and print their ratios (see bench/imagery.py)."""

from __future__ import annotations

import sys

from bench.imagery import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
