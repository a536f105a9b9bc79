"""snapproxy: PyPI as it was at one instant, for reproducible pip resolutions under Nix."""

__version__ = "0.1.0"
