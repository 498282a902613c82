"""execo_g5k needs the ``g5k`` extra (httpx; keyring for passwords): say so clearly.

Only the presence of httpx is checked here; it is imported with the first request, so that
``import execo_g5k`` stays cheap.
"""

import importlib.util as _util

if _util.find_spec("httpx") is None:
    raise ImportError("execo_g5k needs httpx (and keyring for passwords): pip install 'execo[g5k]'")
