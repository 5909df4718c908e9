"""The kiosk's brain: pure, I/O-free dialogue logic.

It takes an utterance and returns a decision, so it is tested with text alone.
"""

from edge_models.normalize import Normalized, Normalizer, detect_lang
from kiosk.dialogue.decision import Action, Button, Candidate, Decision, Evidence, Handoff, Reason, ReplySource, Stage
from kiosk.dialogue.engine import DialogueEngine
from kiosk.dialogue.ports import IntentClassifier, MemoryTicketDispenser, TicketDispenser
from kiosk.dialogue.session import DialogueSession, FlowState
from kiosk.dialogue.understanding import Understanding
from kiosk.dialogue.utterance import Utterance
from kiosk.intents import INTENTS, OUT_OF_SCOPE

__all__ = [
    "INTENTS",
    "OUT_OF_SCOPE",
    "Action",
    "Button",
    "Candidate",
    "Decision",
    "DialogueEngine",
    "DialogueSession",
    "Evidence",
    "FlowState",
    "Handoff",
    "IntentClassifier",
    "MemoryTicketDispenser",
    "Normalized",
    "Normalizer",
    "Reason",
    "ReplySource",
    "Stage",
    "TicketDispenser",
    "Understanding",
    "Utterance",
    "detect_lang",
]
