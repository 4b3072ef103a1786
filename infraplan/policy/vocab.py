"""The use-case vocabulary a service states, and the default of each sector.

Rule packs select services by ``use_case`` (and sector, data class); a service without one
gets its sector's default and a warning, because the legal class of a service follows from what
it is used for, not from its sector alone.
"""

from __future__ import annotations

from typing import Literal, get_args

UseCase = Literal[
    "chat-assistant",
    "document-drafting",
    "tutoring",
    "exam-scoring",
    "admission-decision",
    "proctoring",
    "emotion-recognition",
    "emergency-triage",
    "clinical-decision-support",
    "benefits-eligibility",
    "credit-scoring",
    "insurance-pricing",
    "recruitment",
    "crime-risk-profiling",
    "offending-risk-assessment",
    "remote-biometric-identification",
    "biometric-categorisation",
    "social-scoring",
    "behavioural-manipulation",
    "migration-assessment",
    "incident-summarisation",
    "translation",
    "code-assistant",
    "research-assistant",
    "video-generation",
    "intimate-imagery-generation",
    "election-content",
]

USE_CASES: dict[str, str] = {
    "chat-assistant": "answers citizens' or staff questions in a conversation",
    "document-drafting": "drafts letters, reports and forms for a person to review",
    "tutoring": "explains and practises with learners",
    "exam-scoring": "evaluates learning outcomes (grades exams and assignments)",
    "admission-decision": "decides or steers access, admission or assignment to education",
    "proctoring": "monitors and detects prohibited behaviour during tests",
    "emotion-recognition": "infers emotions or intentions from biometric data",
    "emergency-triage": "classifies emergency calls or triages patients",
    "clinical-decision-support": "gives information used for diagnostic or therapeutic decisions",
    "benefits-eligibility": "evaluates eligibility for public benefits and services",
    "credit-scoring": "evaluates creditworthiness of natural persons",
    "insurance-pricing": "prices life or health insurance for natural persons",
    "recruitment": "filters candidates or evaluates workers",
    "crime-risk-profiling": "predicts offending risk from profiling or personality alone",
    "offending-risk-assessment": "supports a human assessment of offending risk based on facts",
    "remote-biometric-identification": "identifies people at a distance from biometric data",
    "biometric-categorisation": "infers sensitive attributes from biometric data",
    "social-scoring": "scores people by social behaviour or personal traits",
    "behavioural-manipulation": "influences behaviour by subliminal or deceptive techniques",
    "migration-assessment": "assesses visa, asylum, residence or border risks",
    "incident-summarisation": "summarises incident reports and camera events for staff",
    "translation": "translates text or speech",
    "code-assistant": "writes and reviews software",
    "research-assistant": "searches, reads and reasons over literature and data",
    "video-generation": "generates or edits video and images",
    "intimate-imagery-generation": "generates sexual or intimate imagery of real people",
    "election-content": "produces content aimed at influencing elections or voting",
}

SECTOR_DEFAULT: dict[str, str] = {
    "public-administration": "chat-assistant",
    "health": "clinical-decision-support",
    "education": "tutoring",
    "public-safety": "incident-summarisation",
    "media": "video-generation",
    "industry": "document-drafting",
    "research": "research-assistant",
    "other": "chat-assistant",
}

assert set(USE_CASES) == set(get_args(UseCase))
assert set(SECTOR_DEFAULT.values()) <= set(USE_CASES)
