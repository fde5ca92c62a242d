"""The questions the app asks the knowledge base, built from the names its documents use.

Templates take a role's or a background's name (``{a}`` is "a" or "an"); the example questions the chat
page offers come from the knowledge base's catalog. Whatever careers the documents compare, these ask
about them: nothing here names one.
"""

from __future__ import annotations

from collections.abc import Sequence

from advisor.kb.entities import EntityCatalog
from advisor.text import indefinite

BACKGROUND_QUESTION = "I'm {a} {background}, which role should I go for?"
DAY_TO_DAY_QUESTION = "What does {a} {entity} do day to day?"
INTERVIEW_QUESTION = "What are {entity} interviews like?"
DEGREE_QUESTION = "Do I need a graduate degree to become {a} {entity}?"
DEGREE_QUESTION_ANY = "Do I need a graduate degree for these roles?"
CHOOSE_QUESTION = "How should I choose between {first} and {second}?"
PAY_QUESTION_ANY = "Which role pays the most?"
READING_QUESTION = "How can I tell which role a job really is: by its title or by its description?"
TITLE_QUESTION = 'What do "{named}" job titles really mean, and can the work be {entity} work?'

LISTED_NAMES = 4  # a list of roles in a sentence names this many, then "another role"


def role_list(names: Sequence[str], conjunction: str = "or", limit: int | None = LISTED_NAMES) -> str:
    """ "X, Y or Z"; past ``limit`` names (None: no limit), the rest are "another role"."""
    shown = list(names if limit is None else names[:limit])
    if len(shown) < len(names):
        shown.append("another role")
    if len(shown) <= 1:
        return "".join(shown)
    return f"{', '.join(shown[:-1])} {conjunction} {shown[-1]}"


def starter_questions(catalog: EntityCatalog) -> list[str]:
    """Example questions for a new chat: the first background's path, the first role's day, pay, degrees."""
    out = []
    if catalog.backgrounds:
        label = catalog.backgrounds[0].label
        out.append(BACKGROUND_QUESTION.format(a=indefinite(label), background=label))
    if catalog.names:
        first = catalog.names[0]
        out.append(DAY_TO_DAY_QUESTION.format(a=indefinite(first), entity=first))
        out += [PAY_QUESTION_ANY, DEGREE_QUESTION_ANY]
    return out
