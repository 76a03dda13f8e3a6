"""A small, overridable price table for cost estimates (USD per 1M tokens).

Prices change and differ per account; these are list prices for a few common models, meant for an
order-of-magnitude figure in run stats, not billing. Pass your own table to the provider to override.
An unknown model yields no estimate (None) rather than a wrong one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelPrice:
    input_per_1m: float
    output_per_1m: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_1m + completion_tokens * self.output_per_1m) / 1_000_000


DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    "gpt-4o-mini": ModelPrice(0.15, 0.60),
    "gpt-4o": ModelPrice(2.50, 10.00),
    "gpt-4.1-nano": ModelPrice(0.10, 0.40),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60),
    "gpt-4.1": ModelPrice(2.00, 8.00),
}


def price_for(model: str, table: Mapping[str, ModelPrice]) -> ModelPrice | None:
    """Exact name first, then the longest known prefix (dated snapshots such as gpt-4o-2024-08-06)."""
    if model in table:
        return table[model]
    prefixes = sorted((name for name in table if model.startswith(name + "-")), key=len, reverse=True)
    return table[prefixes[0]] if prefixes else None
