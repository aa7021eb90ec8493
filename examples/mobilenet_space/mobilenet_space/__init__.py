"""An example naswot-ray plugin: the ``mobilenet_like`` space and the ``unit_entropy`` metric.

Registered through entry points (see ``pyproject.toml``), so installing the package is all it takes; the
modules import naswot-ray's public classes only (``naswot_ray.SearchSpace``, ``naswot_ray.Metric``, ...).
"""
