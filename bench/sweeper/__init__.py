"""ParamSweeper benchmark: get_next + done pairs per second, ours against execo 2.8.2.

Run ``python -m bench.sweeper`` from the repository root (see ``__main__``).
"""
