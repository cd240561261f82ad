"""What the model is asked (the prompt), the JSON it must answer with, and that answer read."""

from __future__ import annotations

from dataclasses import dataclass

import pydantic

from verses.ai.run import AIError

MAX_AVOIDED_REFERENCES = 50


@dataclass(frozen=True)
class AIProposal:
    """A passage proposed by the model; ``book`` as given (USFM code like "PSA", or "19")."""

    book: str
    chapter: int
    verse_start: int
    verse_end: int
    opening_words: str
    reflection: str


class ProposalSchema(pydantic.BaseModel):
    """The JSON the model must answer with (sent as ``response_schema``)."""

    model_config = pydantic.ConfigDict(coerce_numbers_to_str=True, str_strip_whitespace=True)

    book: str = pydantic.Field(
        min_length=1, description='Book as its USFM code, e.g. "GEN", "PSA", "ISA", "MAT", "JHN", "ROM", "1CO".'
    )
    chapter: int = pydantic.Field(ge=1, description="Chapter number in the user's edition.")
    verse_start: int = pydantic.Field(ge=1, description="First verse number in the user's edition.")
    verse_end: int = pydantic.Field(ge=1, description="Last verse number (equal to verse_start for one verse).")
    opening_words: str = pydantic.Field(
        min_length=1, description="The first five to eight words of the passage, as worded in the user's edition."
    )
    reflection: str = pydantic.Field(
        min_length=1, description="A warm, pastoral reflection of 1 to 3 sentences in the user's language."
    )


_EDITIONS: dict[str, tuple[str, str]] = {
    "fr": ("French", "Louis Segond 1910"),
    "en": ("English", "World English Bible"),
}


# What the second attempt is told about the first one.
RETRY_HINTS: dict[str, str] = {
    "empty": "Your previous answer was empty. Answer with the JSON object.",
    "recitation": (
        "Your previous answer was stopped for reciting a source. Quote only the first five to "
        "eight words of the passage and write the reflection in your own words."
    ),
    "max_tokens": "Your previous answer was cut off. Keep the reflection short and answer at once.",
    "bad_json": "Your previous answer was not the JSON object asked for ({detail}). Answer with that JSON object only, "
    "without code fences.",
}


def _edition(language: str) -> tuple[str, str]:
    """(language name, Bible edition) for a user language; anything but "fr" reads English."""
    return _EDITIONS.get(language, _EDITIONS["en"])


def proposal_prompt(*, mood: str, language: str, avoid: list[str]) -> str:
    """The English instruction asking for one short passage and a reflection."""
    language_name, edition = _edition(language)
    if mood and mood != "default":
        situation = f"The reader's mood today is: {mood}."
        purpose = "that speaks to this mood"
    else:
        situation = "The reader shares no particular mood today."
        purpose = "that encourages the reader in daily life"
    address = ' Address the reader as "tu".' if language == "fr" else ""
    lines = [
        "You help a Christian app offer one Bible passage of the day to a reader.",
        situation,
        f"Choose ONE passage of 1 to 3 consecutive verses from the Protestant canon (66 books) {purpose}.",
        (
            f"Give the reference in the verse numbering of the {edition} edition (book as its USFM code, "
            "chapter, first and last verse)."
        ),
        f"Quote the first five to eight words of the passage exactly as they appear in the {edition}.",
        (
            f"Write a short reflection in {language_name}: 1 to 3 sentences, at most 400 characters, "
            f"warm and pastoral, speaking to the reader directly.{address}"
        ),
    ]
    avoided = [reference for reference in avoid if reference][-MAX_AVOIDED_REFERENCES:]
    if avoided:
        lines.append("Do not choose any of these passages, recently shown: " + "; ".join(avoided) + ".")
    lines.append("Answer with the JSON object only.")
    return "\n".join(lines)


def proposal_parse(text: str) -> AIProposal:
    """Validate the model's JSON text; raises AIError("bad_json")."""
    try:
        parsed = ProposalSchema.model_validate_json(text)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "answer"
        raise AIError("bad_json", f"{where}: {first['msg']}") from None
    return AIProposal(**parsed.model_dump())
