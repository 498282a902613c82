"""Experiment engine: sweeps, ParamSweeper, Engine and execo-run."""
