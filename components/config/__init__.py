"""Typed stack configuration: the `trainops:` config contract, its defaults and its validation.

Every key a stack file may hold is declared once, beside what it configures: the primitives in
`components.platform.config_types`, one model's config in `components.platform.model_config`,
each feature's in its package (`components.monitoring.config`, ...). This package composes
them into `StackConfig` (with the rules that span features) and loads it: `load()` turns every
problem into one `pulumi.RunError` whose lines read ``trainops:<key path>: <problem> (got
<value>)``. Features never import this package: each reads only its own part of the config.
"""

from components.config.loading import ConfigError, current_config_map, load, parse
from components.config.stack import StackConfig

__all__ = ["ConfigError", "StackConfig", "current_config_map", "load", "parse"]
