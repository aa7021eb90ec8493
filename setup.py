"""Package layout that pyproject.toml alone cannot express.

``cli/`` and ``analysis/`` stay top-level folders in the checkout but install as ``naswot_ray.cli`` and
``naswot_ray.analysis``: top-level import names ``cli`` and ``analysis`` would collide with other
distributions. Everything else (metadata, dependencies, entry points) lives in pyproject.toml.
"""

from setuptools import find_packages, setup

MAPPED = {"naswot_ray.cli": "cli", "naswot_ray.analysis": "analysis"}

setup(
    packages=find_packages(include=["naswot_ray", "naswot_ray.*"]) + list(MAPPED),
    package_dir=MAPPED,
)
