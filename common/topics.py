"""Topics and their intents: the same names as domain/<topic>.yml and
data/nlu/<lang>/<topic>.yml (a test keeps them in step). Shared by both
environments; imports nothing."""

from __future__ import annotations

TOPICS: dict[str, tuple[str, ...]] = {
    "work": (
        "job_search",
        "cv_help",
        "register_unemployed",
        "foreign_education",
        "internship",
        "benefits",
        "summer_job",
        "job_matching",
        "unemployment_insurance",
        "driving_licence",
    ),
    "studies": ("learn_swedish", "adult_education", "higher_education", "study_finance", "study_guidance"),
    "business": ("start_business", "business_advice", "business_funding"),
    "hub": ("find_hub", "talk_to_person", "inform_area", "disability_support"),
    # Neighbouring life questions: a true referral to the authority, and the hub.
    "referrals": (
        "health_care",
        "social_insurance",
        "id_card",
        "tax",
        "migration",
        "housing",
        "debt",
        "financial_assistance",
    ),
    "conversation": (
        "greet",
        "goodbye",
        "thank",
        "affirm",
        "deny",
        "choose_language",
        "help",
        "bot_challenge",
        "out_of_scope",
    ),
}

# Intents that are a resident's question, recorded as the topic of a handoff.
QUESTIONS: frozenset[str] = frozenset(
    intent for topic in ("work", "studies", "business", "referrals") for intent in TOPICS[topic]
) | {"find_hub", "disability_support"}


def topic_of(intent: str) -> str | None:
    return next((topic for topic, intents in TOPICS.items() if intent in intents), None)
