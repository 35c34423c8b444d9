"""Plans, domains, agencies and each agency's role in each domain: the catalog the seed plans define."""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime


class Plan(Base):
    __tablename__ = "plans"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    document_no: Mapped[str] = mapped_column(String(100))
    issuer: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[date] = mapped_column(Date)
    jurisdiction: Mapped[str] = mapped_column(String(32))


class Domain(Base):
    __tablename__ = "domains"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    # Whether natural persons' records of this domain are published, or only shared between agencies
    # (国办发〔2020〕49号: publication lawful and necessary). Administrators set it; the seed publishes
    # court listings (法释〔2017〕7号 第七条: the list is published through the court's list).
    persons_public: Mapped[bool] = mapped_column(default=False, server_default=false())
    persons_basis: Mapped[str] = mapped_column(String(500), default="", server_default="")

    @property
    def natural_persons(self) -> str:
        return "public" if self.persons_public else "shared"


class Agency(Base):
    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(96), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    jurisdiction: Mapped[str] = mapped_column(String(32))
    aliases: Mapped[list[str]] = mapped_column(JSONType, default=list)


class Assignment(Base):
    """An agency's role (lead or participant) in one item of one plan, which names its domain."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("plan_code", "item", "agency_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.code"), index=True)
    domain_code: Mapped[str] = mapped_column(ForeignKey("domains.code"), index=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    item: Mapped[int] = mapped_column(Integer)
    title_zh: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(300))


class CalendarOverride(Base):
    """An administrator's word on one day: a holiday or a make-up working day (调休) the package lacks."""

    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workday: Mapped[bool]
    note: Mapped[str] = mapped_column(String(200), default="")


class CalendarYear(Base):
    """A year whose official schedule (the State Council General Office's notice on the year's holidays)
    an administrator loaded as a whole: from then on the registry counts working days in it."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(300), default="")  # the notice, as the loader named it
    days: Mapped[int] = mapped_column(Integer)  # entries the schedule listed
    sha256: Mapped[str] = mapped_column(String(64))  # of the file as loaded
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    loaded_by: Mapped[str] = mapped_column(String(160))
