"""`python -m bench`: run the benchmark (see `bench/__init__.py`, `--help`)."""

from bench.run import main

raise SystemExit(main())
