"""The benchmark: the real `web` and `worker` processes on a real Postgres, measured against
its targets (`bench/README.md`), each figure beside a baseline taken in the same run.

`python -m bench` (or `make bench`) runs it in full; `python -m bench --smoke` runs the same
code at tiny sizes in seconds. `python -m bench --help` lists the flags.
"""
