"""Measures (public list) and sanction rules (read by approvers and administrators, changed by
`rules:admin`)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from app.auth.deps import Caller, RulesAdmin, RulesRead
from app.auth.scopes import Scope
from app.auth.service import Principal
from app.db import DbSession
from app.kit.clock import china_today
from app.kit.dates import IsoDate
from app.rules import service
from app.rules.schemas import CoverageOut, MeasureIn, MeasureOut, RuleIn, RuleOut

router = APIRouter(tags=["rules"])

# The credit office keeps the rules (rules:admin) and oversees the registry (admin): both may ask
# where the rules leave a kind of listing without a measure.
RulesOverseer = Annotated[Principal, Depends(Caller(Scope.rules_admin, Scope.admin))]


@router.get("/v1/measures", response_model=list[MeasureOut], tags=["catalog"])
def list_measures(session: DbSession) -> Any:
    """The measures list: what may be imposed or granted, on which actions, on what legal basis."""
    return service.list_measures(session)


@router.post("/v1/admin/measures", response_model=MeasureOut, status_code=201, tags=["administration"])
def create_measure(body: MeasureIn, principal: RulesAdmin, session: DbSession) -> Any:
    """Add a measure to the list; it needs a legal basis (国办发〔2020〕49号)."""
    return service.create_measure(session, principal.actor, body)


@router.get("/v1/rules", response_model=list[RuleOut])
def list_rules(
    principal: RulesRead,
    session: DbSession,
    domain: Annotated[
        str | None, Query(description="Rules that apply in this domain (its own and every-domain ones)")
    ] = None,
    as_of: Annotated[IsoDate | None, Query(description="The rule versions in force on this day")] = None,
) -> Any:
    """Rules in force on `as_of`; without it, every rule's current version (including scheduled ones)."""
    return service.list_rules(session, domain, as_of)


@router.get("/v1/admin/rules/coverage", response_model=CoverageOut, tags=["administration"])
def rules_coverage(
    principal: RulesOverseer,
    session: DbSession,
    as_of: Annotated[IsoDate | None, Query(description="Rules in force on this day (default: today)")] = None,
) -> Any:
    """For every domain × list type × severity, the measures that apply and the actions they bear on;
    a kind of record no rule leads to a measure is flagged `uncovered`."""
    return service.coverage(session, as_of or china_today())


@router.get("/v1/rules/{rule_id:uuid}/versions", response_model=list[RuleOut])
def rule_versions(rule_id: uuid.UUID, principal: RulesRead, session: DbSession) -> Any:
    """Every version of a rule, oldest first, with the period each was in force."""
    return service.rule_versions(session, rule_id)


@router.post("/v1/admin/rules", response_model=RuleOut, status_code=201, tags=["administration"])
def create_rule(body: RuleIn, principal: RulesAdmin, session: DbSession) -> Any:
    """A new rule (version 1). One rule per domain, list and measure at a time (else 409)."""
    return service.create_rule(session, principal.actor, body)


@router.put("/v1/admin/rules/{rule_id:uuid}", response_model=RuleOut, tags=["administration"])
def replace_rule(rule_id: uuid.UUID, body: RuleIn, principal: RulesAdmin, session: DbSession) -> Any:
    """A new version, in force from its effective_from (today or later); the old version ends the day
    before and stays for as-of answers."""
    return service.replace_rule(session, principal.actor, rule_id, body)


@router.delete("/v1/admin/rules/{rule_id:uuid}", response_model=RuleOut, tags=["administration"])
def retire_rule(rule_id: uuid.UUID, principal: RulesAdmin, session: DbSession) -> Any:
    """Retire the rule from today on; its versions stay for as-of answers."""
    return service.retire_rule(session, principal.actor, rule_id)
