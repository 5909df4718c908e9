"""The HQ model factory: train, export, quantize, calibrate, evaluate, bundle.

Never imported by the kiosk runtime. Its modules are run (python -m edge_models.build.<step>) and
imported one by one; the package itself exports nothing.
"""

__all__: list[str] = []
