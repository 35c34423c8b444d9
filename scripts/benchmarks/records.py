"""Valid record bodies for pushing: every one passes the registry's rules and is distinct.

Record i carries external_id bench-<tag>-<i> and a subject identifier that only i produces: legal
persons get a unified social credit code whose organization part is i, natural persons a resident
identity number whose (birth date, sequence) pair is decoded from i. Everyone is an adult (born
1950–1999), the domain is telecom fraud (公安部 leads it), decisions fall within the last 5 days.
Each carries the notice served on the subject 30 days before (国办发〔2020〕49号: a serious black
listing needs one, served at least 5 working days before the push; 30 days need no calendar).
"""

import random
from datetime import date, timedelta
from typing import Any

from app.kit.clock import china_today
from app.kit.identifiers import complete_uscc, resident_id_check_character

DOMAIN = "telecom_fraud"
AGENCY = "national.public_security"  # a lead unit of telecom_fraud in the seed plans
_FIRST_BIRTH = date(1950, 1, 1)
_BIRTH_DAYS = 18_000  # 1950-01-01 .. 1999-04-13: adults on any decision date
_AREAS = ("110101", "310104", "440305", "370402", "510107", "320106")  # GB/T 2260 district codes
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚"
_CITIES = ("枣庄", "深圳", "成都", "上海")
_COMPANY_WORDS = ("科技", "网络", "信息", "通信", "商贸", "数据", "传媒", "电子")
_CONDUCTS = (
    "为电信网络诈骗提供支付结算帮助",
    "出租、出借、出售电话卡和物联网卡",
    "非法买卖、出租、出借银行账户",
    "为电信网络诈骗提供互联网接入和推广引流",
)
_LEGAL_BASIS = "《中华人民共和国反电信网络诈骗法》第三十一条"
NOTICE_DAYS_BEFORE = 30
MAX_RECORDS = _BIRTH_DAYS * 1000  # distinct (birth date, sequence) pairs for natural persons


def _uscc(serial: int, area: str) -> str:
    return complete_uscc(f"91{area}{serial:08d}")


def _resident_id(serial: int, area: str) -> str:
    birth = _FIRST_BIRTH + timedelta(days=serial % _BIRTH_DAYS)
    body = f"{area}{birth:%Y%m%d}{serial // _BIRTH_DAYS:03d}"
    return body + resident_id_check_character(body)


def generate(count: int, *, tag: str, start: int = 0, seed: int = 20261122) -> list[dict[str, Any]]:
    """Record bodies start .. start+count-1, about half legal and half natural persons."""
    if start + count > MAX_RECORDS:
        raise ValueError(f"at most {MAX_RECORDS} distinct records")
    rng = random.Random(seed + start)
    today = china_today()
    served_on = (today - timedelta(days=NOTICE_DAYS_BEFORE)).isoformat()
    bodies = []
    for i in range(start, start + count):
        area = rng.choice(_AREAS)
        if rng.random() < 0.5:
            subject = {
                "kind": "legal_person",
                "name": f"{rng.choice(_CITIES)}{rng.choice(_COMPANY_WORDS)}有限公司{i}",
                "identifier_type": "uscc",
                "identifier": _uscc(i, area),
            }
        else:
            subject = {
                "kind": "natural_person",
                "name": rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.randint(1, 2))),
                "identifier_type": "resident_id",
                "identifier": _resident_id(i, area),
            }
        decided = today - timedelta(days=rng.randint(0, 4))
        bodies.append(
            {
                "external_id": f"bench-{tag}-{i:08d}",
                "domain": DOMAIN,
                "list_type": "black",
                "severity": rng.choice(("serious", "general")),
                "subject": subject,
                "conduct": rng.choice(_CONDUCTS),
                "decision_no": f"公(反诈)决字〔{decided.year}〕{i}号",
                "decision_date": decided.isoformat(),
                "legal_basis": _LEGAL_BASIS,
                "notice": {"document_no": f"公(反诈)告字〔{decided.year}〕{i}号", "served_on": served_on},
            }
        )
    return bodies
