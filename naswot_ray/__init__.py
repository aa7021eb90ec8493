"""naswot-ray: score neural architectures without training, over whole NAS benchmark spaces, on Ray.

The library is importable without Ray running: only :mod:`naswot_ray.engine` imports ``ray``.
"""

__version__ = "0.1.0"
