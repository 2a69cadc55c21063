"""Reading ahead for a hash run: within a memory budget, in the order files are hashed."""

from __future__ import annotations

from lora_desktop.services.inspect.read_ahead import LARGE_BUDGET_MAX, large_budget, within_budget


def test_files_are_asked_for_in_order_until_the_budget_is_spent() -> None:
    files = [("a", 40), ("b", 50), ("c", 30), ("d", 1)]
    assert within_budget(files, 100) == ["a", "b"]  # c would pass the budget: it stops there
    assert within_budget(files, 0) == []
    assert within_budget(files, 10**9) == ["a", "b", "c", "d"]


def test_the_budget_is_a_fraction_of_the_memory_and_capped() -> None:
    budget = large_budget()
    assert 0 < budget <= LARGE_BUDGET_MAX
