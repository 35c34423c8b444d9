"""What refuses a change to the measures and rules."""

from app.errors import Conflict


class MeasureExists(Conflict):
    code = "measure_exists"


class RuleOverlap(Conflict):
    code = "rule_overlap"


class RuleRetired(Conflict):
    code = "rule_retired"
