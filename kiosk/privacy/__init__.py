"""Privacy.

Personal data (card, ID and phone numbers, e-mail, passports, names) is masked before it is stored or leaves
the kiosk (``masking``).
"""

from kiosk.privacy.masking import luhn_valid, mask_pii, resident_id_valid

__all__ = [
    "luhn_valid",
    "mask_pii",
    "resident_id_valid",
]
