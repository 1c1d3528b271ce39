"""Text analysis: tokenizer, filters and analyzer presets."""

from .analyzer import PRESETS, Analyzer, AnalyzerSpec
from .filters import ENGLISH_STOP_WORDS
from .tokenizer import Token, raw_tokens, tokens_with_offsets

__all__ = [
    "Analyzer",
    "AnalyzerSpec",
    "PRESETS",
    "ENGLISH_STOP_WORDS",
    "Token",
    "raw_tokens",
    "tokens_with_offsets",
]
