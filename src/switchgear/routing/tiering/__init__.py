"""Cost-aware tiering: send each request to the cheapest tier that will answer it well.

``policy`` decides (hint, rules, the shipped classifier, or a cascade), ``stage.Tiering`` applies
the decision at the plan point, ``cascade.Cascade`` escalates failed cheap answers, ``metrics``
and ``evaluate`` measure a policy on labelled data, ``replay`` prices a spend log under another
configuration. See docs/tiering.md.
"""

from switchgear.routing.tiering.cascade import Cascade, Escalated, LogprobCascade
from switchgear.routing.tiering.stage import Tiering

__all__ = ["Cascade", "Escalated", "LogprobCascade", "Tiering"]
