"""Modelworks training engine: plain Python, no Django. See ml/README.md."""

__version__ = "0.1.0"
