"""The HQ model factory: train, export, quantize, calibrate, evaluate, bundle.

Never imported by the kiosk runtime.
"""
