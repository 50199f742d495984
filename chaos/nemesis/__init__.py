"""The faults: one module per kind of fault, composed and scheduled by ``package``."""
