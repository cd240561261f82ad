"""Checks on the AI's answer: the reference must exist in the user's edition and be short, the
opening words the model remembers must match the edition's text there, and the reflection must be
non-empty, short and in the user's language. The text shown is always the edition's."""

import difflib
from dataclasses import dataclass

from verses.bible.editions import passage_text
from verses.bible.references import book_number, normalize_words, reference_display

MAX_PASSAGE_VERSES = 4
MAX_REFLECTION_CHARS = 600
MIN_REFLECTION_CHARS = 20
OPENING_WORDS_MIN_RATIO = 0.75
# The edition's text may start with words the model leaves out (Louis Segond keeps the psalms'
# superscriptions in verse 1: "Cantique de David. L'Éternel est mon berger").
OPENING_WORDS_SEARCH_SPAN = 15

_FRENCH_WORDS = frozenset(
    "le la les de des du et est que qui dans pour pas une un il elle tu te ton ta tes vous nous ce cette "
    "sur avec son sa ses au aux ne mais toi ta ton mon ma mes sont être dieu seigneur jour aujourd ta "
    "votre vos où comme même tout toute".split()
)
_ENGLISH_WORDS = frozenset(
    "the and is of to in that you your he she it for with not be are this his her god lord will was "
    "who what today his their our my me we can may when".split()
)


# Every kind a proposal is rejected as (run counts, VerseOfTheDay.ai_failure), with its cause.
REJECTION_KINDS: dict[str, str] = {
    "unknown_reference": "the book, chapter or verses are not in the user's edition",
    "too_long": f"the passage is longer than {MAX_PASSAGE_VERSES} verses",
    "text_mismatch": "the opening words the model quotes are not the edition's text there (an invented "
    "reference, or Louis Segond's psalm numbering missed)",
    "reflection_length": f"the reflection is shorter than {MIN_REFLECTION_CHARS} or longer than "
    f"{MAX_REFLECTION_CHARS} characters",
    "wrong_language": "the reflection is in the other language",
    "repeated": "the passage is yesterday's again",
}


class ProposalRejected(Exception):
    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class CheckedPassage:
    book: int
    chapter: int
    verse_start: int
    verse_end: int
    reference: str
    text: str
    reflection: str


def opening_words_match(opening: str, text: str) -> bool:
    quoted = normalize_words(opening)
    words = normalize_words(text)
    if len(quoted) < 3:
        return False
    wanted = " ".join(quoted)
    for start in range(0, max(1, min(OPENING_WORDS_SEARCH_SPAN, len(words) - len(quoted) + 1))):
        window = " ".join(words[start : start + len(quoted)])
        if difflib.SequenceMatcher(None, wanted, window).ratio() >= OPENING_WORDS_MIN_RATIO:
            return True
    return False


def reflection_language(text: str) -> str | None:
    """ "fr" or "en" by common words, None when it cannot tell."""
    words = normalize_words(text)
    french = sum(word in _FRENCH_WORDS for word in words)
    english = sum(word in _ENGLISH_WORDS for word in words)
    if french == english:
        return None
    return "fr" if french > english else "en"


def proposal_check(*, proposal, language: str) -> CheckedPassage:
    """The passage the proposal names, with the edition's text; raises ProposalRejected."""
    book = book_number(proposal.book)
    if book is None:
        raise ProposalRejected("unknown_reference", f"unknown book {proposal.book!r}")
    chapter, start, end = proposal.chapter, proposal.verse_start, proposal.verse_end
    if min(chapter, start, end) < 1 or end < start:
        raise ProposalRejected("unknown_reference", f"bad range {chapter}:{start}-{end}")
    if end - start + 1 > MAX_PASSAGE_VERSES:
        raise ProposalRejected("too_long", f"passage of {end - start + 1} verses")
    text = passage_text(language=language, book=book, chapter=chapter, verse_start=start, verse_end=end)
    reference = reference_display(book=book, chapter=chapter, verse_start=start, verse_end=end, language=language)
    if text is None:
        raise ProposalRejected("unknown_reference", f"{reference} is not in the {language} edition")
    if not opening_words_match(proposal.opening_words, text):
        raise ProposalRejected("text_mismatch", f"opening words do not match {reference}")
    reflection = " ".join(proposal.reflection.split())
    if not MIN_REFLECTION_CHARS <= len(reflection) <= MAX_REFLECTION_CHARS:
        raise ProposalRejected("reflection_length", f"reflection of {len(reflection)} characters")
    detected = reflection_language(reflection)
    if detected is not None and detected != language:
        raise ProposalRejected("wrong_language", f"reflection in {detected}, wanted {language}")
    return CheckedPassage(book, chapter, start, end, reference, text, reflection)
