"""The LLM's jobs on the kiosk.

The stage for unsure turns (``stage``) and the hand-off summaries for staff (``summaries``).
"""

from kiosk.llm.stage import LlmStage
from kiosk.llm.summaries import HandoffSummarizer, LlmSummarizer, SummaryWorker, extractive_summary, transcript

__all__ = [
    "HandoffSummarizer",
    "LlmStage",
    "LlmSummarizer",
    "SummaryWorker",
    "extractive_summary",
    "transcript",
]
