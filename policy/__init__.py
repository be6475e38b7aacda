"""trainops guardrails: the CrossGuard policy pack and the rules it shares with the tests."""
