"""Benchmarks run by `scripts/bench`: the real server over HTTP, next to the database's raw speed.

Each suite is a module with `describe`, `add_arguments(parser)` and `run(args) -> exit code`;
`__main__` lists them. Shared machinery (the server subprocess, throwaway databases, results) is in
`harness`.
"""
