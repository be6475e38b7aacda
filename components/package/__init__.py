"""The trainops components as a Pulumi component package, usable from any Pulumi language."""
