"""execo: structured-concurrency control of local and remote processes."""

__version__ = "3.0.0.dev0"
