"""What an answer cost, for the models whose price is known.

Prices are US dollars per million tokens (input, output) from OpenAI's public price list. A cost is
only given when the request really went to OpenAI: a local GGUF or a self-hosted OpenAI-compatible
server costs nothing per token, whatever its model is called. It deliberately knows no other vendors.
"""

from __future__ import annotations

from advisor.providers.chat_models import Usage
from advisor.settings import Settings

# (input $/1M tokens, output $/1M tokens)
OPENAI_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o4-mini": (1.10, 4.40),
    "o3-mini": (1.10, 4.40),
}


def price_for(settings: Settings) -> tuple[float, float] | None:
    """The (input, output) price of the configured chat model, or None when unknown or free."""
    if settings.provider != "openai" or settings.openai_base_url:
        return None
    model = settings.chat_model.lower()
    if model in OPENAI_PRICES:
        return OPENAI_PRICES[model]
    # Dated snapshots ("gpt-4o-mini-2024-07-18") cost what their family costs; longest name first.
    for name in sorted(OPENAI_PRICES, key=len, reverse=True):
        if model.startswith(name + "-") and model[len(name) + 1 : len(name) + 2].isdigit():
            return OPENAI_PRICES[name]
    return None


def cost_usd(settings: Settings, usage: Usage) -> float | None:
    price = price_for(settings)
    if price is None:
        return None
    return (usage.prompt_tokens * price[0] + usage.completion_tokens * price[1]) / 1_000_000
