"""The counts of the AI calls a run makes (verses.ai.run.AIRun.counts, and the failures by kind)."""

from scheduler.counts import Count

AI_CALLS = Count("ai_calls", "soulverse_ai_calls", "AI (Gemini) calls made by job runs.", "Appels à l'IA")
AI_FAILURES = Count(
    "ai_failures",
    "soulverse_ai_failures",
    "AI calls that failed or were rejected, by kind.",
    "Échecs de l'IA",
    by="kind",
)
_TOKENS_HELP = "AI tokens used by job runs, by type."
AI_PROMPT_TOKENS = Count(
    "ai_prompt_tokens", "soulverse_ai_tokens", _TOKENS_HELP, metric_label=("type", "prompt"), summary=False
)
AI_OUTPUT_TOKENS = Count(
    "ai_output_tokens", "soulverse_ai_tokens", _TOKENS_HELP, metric_label=("type", "output"), summary=False
)
AI_THINKING_TOKENS = Count(
    "ai_thinking_tokens", "soulverse_ai_tokens", _TOKENS_HELP, metric_label=("type", "thinking"), summary=False
)
AI_TOKEN_COUNTS = (AI_PROMPT_TOKENS, AI_OUTPUT_TOKENS, AI_THINKING_TOKENS)
