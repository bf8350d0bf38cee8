"""The version of latentdyn (one place; the package and the manifests read it)."""

__version__ = "0.1.0"
