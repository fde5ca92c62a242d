""" "Is this job really...?": a pasted job description -> which of the three roles the work really is.

The article's advice: read the job description, not the title; look for what the team actually ships.
So the verdict comes from the posting's own sentences, not its title:
- each sentence is checked for signals of each role's work, in the article's terms (production features
  on foundation models; training and deploying custom models; SQL, experiments, insights);
- a signal in a sentence about what the team ships or builds counts double;
- the role with the most weight wins; a close second makes it a blend (the article: at smaller companies
  one person often does parts of all three jobs).
The article's side of the argument is retrieved and cited through :class:`~advisor.core.Advisor`.
It deliberately uses no model for the verdict: the evidence must be sentences the user can check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from advisor.answering.answer import Answer
from advisor.answering.conversation import roles_in
from advisor.app.pathfinder import ARTICLE_NAMES, ROLES, Section
from advisor.errors import InputError
from advisor.text import strip_invisible

MAX_POSTING_CHARS = 20_000
MIN_POSTING_WORDS = 8
SHIPS = re.compile(
    r"\b(ship|ships|shipping|build|builds|building|deliver|delivers|launch|own|owns|develop|develops|you will|you'll)\b",
    re.I,
)
BLEND_RATIO = 0.75

SIGNALS: dict[str, dict[str, str]] = {
    "AI Engineer": {
        r"\bllms?\b|\blarge language models?\b|\bfoundation models?\b|\bgpt-?\d*\b|\bgenerative ai\b|\bgenai\b": "LLMs / foundation models",
        r"\bprompt(s|ing)?\b|\bprompt engineering\b": "prompts",
        r"\brag\b|\bretrieval\b|\bvector (database|store|search)\b|\bembeddings?\b|\brerank": "retrieval pipelines",
        r"\bagents?\b|\bagentic\b|\btool[- ]calling\b|\bfunction calling\b": "agents and tools",
        r"\bevals?\b|\bguardrails?\b|\bobservability\b": "evals and observability",
        r"\bopenai\b|\banthropic\b|\blangchain\b|\bllamaindex\b|\bmodel apis?\b": "model APIs and frameworks",
        r"\bproduction features?\b|\buser-facing\b|\bproduct features?\b|\bend-to-end features?\b": "production features",
    },
    "ML Engineer": {
        r"\btrain(ing)? (custom |our own |large )?models?\b|\bmodel training\b|\btraining runs?\b|\bpre-?train": "training models",
        r"\bpytorch\b|\btensorflow\b|\bjax\b|\bdeep learning\b|\bneural networks?\b": "deep-learning frameworks",
        r"\bgpus?\b|\bcuda\b|\bdistributed training\b|\bserving cluster\b|\btpus?\b": "GPUs and training infrastructure",
        r"\bmodel architectures?\b|\barchitecture search\b|\bhyperparameters?\b|\bloss\b|\boptimi[sz]ers?\b": "model architecture and optimization",
        r"\bmlops\b|\bmodel serving\b|\bdeploy(ing|ment of)? (ml )?models?\b|\bcheckpoints?\b|\bfeature stores?\b": "deploying models",
        r"\brecommend(ation|er) (systems?|models?)\b|\branking models?\b|\bcomputer vision\b": "custom model systems",
        r"\bfine-?tun(e|ing)\b": "fine-tuning",
    },
    "Data Scientist": {
        r"\bsql\b|\bqueries\b|\bquerying\b": "SQL",
        r"\ba/b test(s|ing)?\b|\bexperiment(s|ation)? design\b|\bexperiments?\b|\bpower (analysis|calculations?)\b": "experiments and A/B tests",
        r"\bstatistic(s|al)\b|\bhypothesis\b|\bcausal\b|\bregression\b|\binference\b|\beconometric": "statistics",
        r"\bdashboards?\b|\btableau\b|\blooker\b|\bpower bi\b|\breporting\b|\bvisuali[sz]ation": "dashboards and reporting",
        r"\binsights?\b|\bstakeholders?\b|\bbusiness questions?\b|\bleadership\b|\brecommendations to\b|\bdecision[- ]making\b": "insights and recommendations",
        r"\bchurn\b|\bconversion\b|\bforecast(s|ing)?\b|\bkpis?\b|\bmetrics\b|\bsegmentation\b": "business metrics",
    },
}
_COMPILED = {role: [(re.compile(p, re.I), label) for p, label in sig.items()] for role, sig in SIGNALS.items()}
_SENTENCES = re.compile(r"(?<=[.!?;])\s+|\n+")


@dataclass
class Evidence:
    role: str
    signal: str
    sentence: str
    ships: bool


@dataclass
class JobVerdict:
    role: str | None
    scores: dict[str, float]
    evidence: list[Evidence]
    title: str
    title_roles: list[str]
    blend_with: str | None = None
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def title_mismatch(self) -> bool:
        return bool(self.role and self.title_roles and self.role not in self.title_roles)


def _clean(posting: str) -> str:
    if not isinstance(posting, str):
        raise InputError("the job description must be text")
    text = strip_invisible(posting).replace("\r\n", "\n").strip()
    if len(text.split()) < MIN_POSTING_WORDS:
        raise InputError("paste the whole job description (at least a few sentences): the title alone says little")
    if len(text) > MAX_POSTING_CHARS:
        raise InputError(f"the job description is too long ({len(text):,} characters; at most {MAX_POSTING_CHARS:,})")
    return text


def classify(posting: str, title: str = "") -> JobVerdict:
    """The deterministic part: which role the posting's sentences describe, with the evidence."""
    text = _clean(posting)
    title = title.strip() or next((line.strip() for line in text.splitlines() if line.strip()), "")[:120]
    evidence: list[Evidence] = []
    weights: dict[tuple[str, str], float] = {}
    for raw in _SENTENCES.split(text):
        sentence = raw.strip(" -•*\t")
        if not sentence or sentence == title:
            continue
        ships = bool(SHIPS.search(sentence))
        for role, signals in _COMPILED.items():
            for pattern, label in signals:
                if pattern.search(sentence):
                    evidence.append(Evidence(role, label, sentence[:400], ships))
                    key = (role, label)
                    weights[key] = max(weights.get(key, 0.0), 2.0 if ships else 1.0)
    scores = dict.fromkeys(ROLES, 0.0)
    for (name, _), weight in weights.items():
        scores[name] += weight
    ranked = sorted(ROLES, key=lambda r: (-scores[r], ROLES.index(r)))
    best, second = ranked[0], ranked[1]
    verdict_role = best if scores[best] > 0 else None
    blend = second if verdict_role and scores[second] > 0 and scores[second] >= BLEND_RATIO * scores[best] else None
    verdict = JobVerdict(verdict_role, scores, evidence, title, roles_in(title), blend)
    if verdict_role is None:
        verdict.notes.append(
            "The posting doesn't say what the team builds or ships in terms the article uses for any of the three "
            "roles, so it can't tell which role this is. Ask the hiring team what the role ships."
        )
    if blend:
        verdict.notes.append(
            f"The work is split between {best} and {blend}: this looks like a blend of the two. "
            "The article notes that at smaller companies one person often does parts of all three jobs."
        )
    return verdict


def assess(advisor: Any, posting: str, title: str = "") -> JobVerdict:
    """``classify`` plus the article's view, retrieved and cited."""
    verdict = classify(posting, title)
    asks: list[tuple[str, str]] = [
        (
            "Read the job description, not the title",
            "Should I read the job description or the title when evaluating a role?",
        ),
    ]
    if verdict.role:
        asks.append((f"what {verdict.role}s ship", f"What does {ARTICLE_NAMES[verdict.role]} ship?"))
    if verdict.title_mismatch:
        named = verdict.title_roles[0]
        asks.append(
            (
                f"When the title says {named}",
                f'Are some "{named}" roles really {verdict.role} work?',
            )
        )
    for heading, question in asks:
        answer: Answer = advisor.ask(question)
        if not answer.refused:
            verdict.sections.append(Section(heading, answer))
    return verdict
