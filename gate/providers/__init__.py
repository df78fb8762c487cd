"""The outside world, one folder per kind; each has ``interface.py`` and one module per backend.

Backends translate their own transport errors into gate's tree at the boundary
(``raise ProviderUnavailable(...) from exc``) and register by name in their kind's registry.
"""
