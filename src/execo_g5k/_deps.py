"""execo_g5k needs the ``g5k`` extra (httpx; keyring for passwords): say so clearly."""

try:
    import httpx as _httpx
except ImportError as _e:
    raise ImportError(
        "execo_g5k needs httpx (and keyring for passwords): pip install 'execo[g5k]'"
    ) from _e

del _httpx
