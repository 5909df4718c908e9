"""Account opening with the ID card: reading the card's front (``card``) and the on-screen form (``flow``)."""

from kiosk.idcard.card import (
    ETHNIC_GROUPS,
    FIELDS,
    FieldName,
    IdCardFields,
    IdCardRead,
    IdCardResult,
    IdCardUnreadable,
    id_number_problem,
    mask_id_number,
    parse_front,
)
from kiosk.idcard.flow import FlowStep, IdCardFlow

__all__ = [
    "ETHNIC_GROUPS",
    "FIELDS",
    "FieldName",
    "FlowStep",
    "IdCardFields",
    "IdCardFlow",
    "IdCardRead",
    "IdCardResult",
    "IdCardUnreadable",
    "id_number_problem",
    "mask_id_number",
    "parse_front",
]
