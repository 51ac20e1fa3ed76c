"""Backends stream an answer's text for a list of chat messages."""
from .base import ContextTooLong, GenerationBackend, GenerationStream, SamplingParams

__all__ = ["ContextTooLong", "GenerationBackend", "GenerationStream", "SamplingParams"]
