"""The public Python API (``import naswot_ray as nr`` re-exports it): score models, spaces and stores from Python.

Each function is the Python twin of a command: :func:`score` (any ``nn.Module``), :func:`score_space`
(``score-all``), :func:`load_scores` (``export``), :func:`correlations` (``analyze``), :func:`list_spaces` /
:func:`list_metrics` (``spaces`` / ``metrics``).
"""
