# Stubs for the parts of ClusterShell that execo uses (ClusterShell ships no types).
__version__: str
