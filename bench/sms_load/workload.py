"""What the residents send: their texts per language, and the conversations
of a phase (each a phone number) cut into rounds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from gateway.settings import ROOT

# Realistic resident texts, taken from data/nlu/<lang>/ (job_search, learn_swedish,
# start_business, greet, thank, job_search); none starts the handoff form.
TEXTS = {
    "sv": [
        "jag söker jobb",
        "jag vill lära mig svenska",
        "jag vill starta företag",
        "hej, jag har en fråga",
        "tack så mycket",
        "hur hittar jag jobb",
    ],
    "en": [
        "I am looking for a job",
        "I want to learn Swedish",
        "I want to start my own business",
        "hello, I have a question",
        "thanks a lot",
        "how do I find a job",
    ],
    "ar": ["ابحث عن عمل", "أريد أتعلم السويدية", "بدي افتح مطعم", "مرحبا عندي سؤال", "شكراً جزيلاً", "كيف ألاقي شغل"],
    "fa": [
        "دنبال کار هستم",
        "میخوام سوئدی یاد بگیرم",
        "میخوام یک کافه باز کنم",
        "سلام وقت بخیر",
        "خیلی ممنون",
        "چطور کار پیدا کنم",
    ],
    "so": [
        "waxaan raadinayaa shaqo",
        "waxaan rabaa inaan barto iswiidhish",
        "waxaan rabaa inaan ganacsi furo",
        "subax wanaagsan",
        "waad mahadsantahay",
        "sideen shaqo ku heli karaa",
    ],
    "ti": ["ስራሕ ይደሊ ኣለኹ", "ሽወደንኛ ክመሃር እደሊ", "ንግዲ ክጅምር እደሊ", "ሰላም ሕቶ ኣለኒ", "ብዙሕ የቐንየለይ", "ከመይ ጌረ ስራሕ ክረክብ"],
}
LANGS = tuple(TEXTS)


@dataclass
class Conversation:
    number: str  # the phone number (SMS path)
    sender: str  # the REST sender id (baseline path)
    language: str
    texts: list[str]


def text_for(index: int) -> tuple[str, str]:
    """The language and text of the ``index``-th new resident of a burst."""
    language = LANGS[index % len(LANGS)]
    return language, TEXTS[language][(index // len(LANGS)) % len(TEXTS[language])]


def plan(messages: int, conversations: int, rounds: int, prefix: str) -> list[list[Conversation]]:
    """Conversations split into ``rounds`` chunks: plan[round][conversation]."""
    run = uuid.uuid4().hex[:8]
    convs = []
    for i in range(conversations):
        language = LANGS[i % len(LANGS)]
        count = messages // conversations + (1 if i < messages % conversations else 0)
        start = i // len(LANGS)
        texts = [TEXTS[language][(start + j) % len(TEXTS[language])] for j in range(count)]
        convs.append(Conversation(f"+4670{prefix}{i:06d}", f"bench-{run}-{prefix}-{i}", language, texts))
    rounds_plan = []
    for r in range(rounds):
        chunk = []
        for c in convs:
            bounds = [len(c.texts) * k // rounds for k in range(rounds + 1)]
            chunk.append(Conversation(c.number, c.sender, c.language, c.texts[bounds[r] : bounds[r + 1]]))
        rounds_plan.append(chunk)
    return rounds_plan


def check_texts() -> list[str]:
    """Texts no longer in data/nlu (the list is meant to be drawn from there)."""
    missing = []
    for language, texts in TEXTS.items():
        corpus = "\n".join(p.read_text() for p in (ROOT / "data" / "nlu" / language).glob("*.yml"))
        missing += [f"{language}: {t}" for t in texts if f"- {t}\n" not in corpus]
    return missing
