"""Spend budgets: monthly AWS Budgets per model and for the stack, notifying monitoring's alert
topics (`component.SpendBudgets`)."""

from components.budgets.component import SpendBudgets, SpendBudgetsArgs

__all__ = ["SpendBudgets", "SpendBudgetsArgs"]
