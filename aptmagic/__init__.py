"""aptmagic: a self-hostable generative-AI platform."""

__version__ = "0.1.0"
