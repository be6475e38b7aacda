"""trainops benchmarks: `make bench` prints the table; tests/test_budgets.py enforces the budgets."""
