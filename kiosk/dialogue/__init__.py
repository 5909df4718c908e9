"""The kiosk's brain: pure, I/O-free dialogue logic.

It takes an utterance and returns a decision, so it is tested with text alone.
"""

from edge_models.normalize import Normalized, Normalizer, detect_lang
from kiosk.dialogue.breaker import BreakerState, CircuitBreaker
from kiosk.dialogue.compose import Draft
from kiosk.dialogue.decision import (
    Action,
    Button,
    Candidate,
    Decision,
    Evidence,
    Handoff,
    Reason,
    ReplySource,
    Stage,
    decision_fields,
)
from kiosk.dialogue.engine import DialogueEngine
from kiosk.dialogue.faq import EmbedFn
from kiosk.dialogue.flows import FLOWS, FlowContext, UnknownFlowError, enabled_flows
from kiosk.dialogue.limits import Refusal, SideEffectBudget, SideEffectLimits
from kiosk.dialogue.ports import IntentClassifier, MemoryTicketDispenser, TicketDispenser
from kiosk.dialogue.session import DialogueSession, FlowState, SideEffects
from kiosk.dialogue.understanding import Understanding
from kiosk.dialogue.utterance import Utterance
from kiosk.intents import INTENTS, OUT_OF_SCOPE

__all__ = [
    "FLOWS",
    "INTENTS",
    "OUT_OF_SCOPE",
    "Action",
    "BreakerState",
    "Button",
    "Candidate",
    "CircuitBreaker",
    "Decision",
    "DialogueEngine",
    "DialogueSession",
    "Draft",
    "EmbedFn",
    "Evidence",
    "FlowContext",
    "FlowState",
    "Handoff",
    "IntentClassifier",
    "MemoryTicketDispenser",
    "Normalized",
    "Normalizer",
    "Reason",
    "Refusal",
    "ReplySource",
    "SideEffectBudget",
    "SideEffectLimits",
    "SideEffects",
    "Stage",
    "TicketDispenser",
    "Understanding",
    "UnknownFlowError",
    "Utterance",
    "decision_fields",
    "detect_lang",
    "enabled_flows",
]
