"""The one-stop search: a table of what people type and the entity that must come first (issue 19:
two-character trade names inside a name, homophones a pinyin input method offers, initials without
the place, traditional characters, a place left out or written otherwise), and what a miss says."""

from datetime import date

import pytest

from app.db import session_scope
from app.records.search_index import reindex
from tests.conftest import make_resident_id, make_uscc, record_body

TODAY = "2026-11-20T10:00"
COMPANIES = {
    "xingchen": (1, "北京星辰科技有限公司"),
    "xingchen_dev": (2, "北京星辰科技发展有限公司"),
    "shanghai": (3, "上海星辰贸易有限责任公司"),
    "abc": (4, "深圳ABC电子有限公司"),
    "changan": (5, "重庆长安汽车服务有限公司"),
    "hongri": (6, "枣庄红日建材股份有限公司"),
    "xinda": (7, "枣庄市鑫达通讯器材有限公司"),
    # Distractors: the same sounds in another trade, the same trade word elsewhere.
    "xinda_homophone": (8, "枣庄市新达建材有限公司"),
    "xinyuan": (9, "山东省济南市鑫源食品股份有限公司"),
    "tsmc": (10, "臺灣積體電路製造股份有限公司"),  # pushed in traditional characters
}
PERSONS = {
    "zhangsan": (date(1980, 3, 14), 11, "张三"),
    "zhangsanfeng": (date(1975, 6, 2), 12, "张三丰"),
    "lisi": (date(1990, 12, 30), 13, "李四"),
}


def person(key: str) -> dict:
    birth, serial, name = PERSONS[key]
    return {
        "kind": "natural_person",
        "name": name,
        "identifier_type": "resident_id",
        "identifier": make_resident_id(birth, serial),
    }


@pytest.fixture
def registry(http, police, clock, persons_published):
    clock(TODAY)
    bodies = [
        record_body(n, subject={"name": name}, decision_date="2026-11-18") for n, name in COMPANIES.values()
    ]
    bodies += [
        record_body(100 + i, subject=person(key), decision_date="2026-11-18") for i, key in enumerate(PERSONS)
    ]
    answer = http.post("/v1/records/batch", json={"records": bodies}, headers=police)
    assert answer.status_code == 200 and answer.json()["created"] == len(bodies), answer.text
    return {key: make_uscc(n) for key, (n, _) in COMPANIES.items()} | {
        key: person(key)["identifier"] for key in PERSONS
    }


QUALITY = [
    ("北京星辰科技有限公司", "北京星辰科技有限公司"),  # exact
    ("北京星辰科技有限责任公司", "北京星辰科技有限公司"),  # suffix variant
    ("北京星辰科技（有限公司）", "北京星辰科技有限公司"),  # brackets, full-width punctuation
    ("  北京 星辰·科技 ", "北京星辰科技有限公司"),  # spaces and separators
    ("星辰科技", "北京星辰科技有限公司"),  # substring: the shorter name before 星辰科技发展
    ("北京星晨科技", "北京星辰科技有限公司"),  # typo: 晨 for 辰
    ("北京星辰科枝有限公司", "北京星辰科技有限公司"),  # typo: 枝 for 技
    ("星辰科技发展", "北京星辰科技发展有限公司"),
    ("上海星辰贸易有限公司", "上海星辰贸易有限责任公司"),  # the other suffix variant
    ("深圳ＡＢＣ电子", "深圳ABC电子有限公司"),  # full-width letters
    ("深圳abc电子有限公司", "深圳ABC电子有限公司"),  # case
    ("红日建材股份有限公司", "枣庄红日建材股份有限公司"),
    ("枣庄红日建材有限公司", "枣庄红日建材股份有限公司"),  # a different legal form written
    ("zhangsan", "张三"),  # full pinyin
    ("zs", "张三"),  # initials (张三丰 is zsf)
    ("ZhangSan", "张三"),
    ("zhangsanfeng", "张三丰"),
    ("zsf", "张三丰"),
    ("张三", "张三"),
    ("张三丰", "张三丰"),
    ("lisi", "李四"),
    ("chongqingchangan", "重庆长安汽车服务有限公司"),  # pinyin prefix of a company
    ("cqca", "重庆长安汽车服务有限公司"),  # initials prefix
    ("xingchenkeji", "北京星辰科技有限公司"),  # pinyin inside a name
    ("zhangsna", "张三"),  # a pinyin typo
    ("鑫达", "枣庄市鑫达通讯器材有限公司"),  # a two-character trade name inside the name
    ("新达", "枣庄市新达建材有限公司"),  # ... which is not a homophone of itself
    ("鑫达通迅", "枣庄市鑫达通讯器材有限公司"),  # homophone: 迅 for 讯 (xun)
    ("新达通讯器材", "枣庄市鑫达通讯器材有限公司"),  # homophone: 新 for 鑫 (xin)
    ("星晨科技", "北京星辰科技有限公司"),  # homophone: 晨 for 辰 (chen)
    ("xdtx", "枣庄市鑫达通讯器材有限公司"),  # initials of the name without its place
    ("XDTX", "枣庄市鑫达通讯器材有限公司"),
    ("ｘｄｔｘ", "枣庄市鑫达通讯器材有限公司"),  # full-width letters
    ("zzsxdtx", "枣庄市鑫达通讯器材有限公司"),  # initials with the place
    ("xckj", "北京星辰科技有限公司"),
    ("棗莊市鑫達通訊器材有限公司", "枣庄市鑫达通讯器材有限公司"),  # traditional characters
    ("鑫達通訊", "枣庄市鑫达通讯器材有限公司"),
    ("台湾积体电路", "臺灣積體電路製造股份有限公司"),  # simplified for a name pushed in traditional
    ("鑫达通讯器材有限公司", "枣庄市鑫达通讯器材有限公司"),  # the place left out
    ("鑫达通讯器材有限责任公司", "枣庄市鑫达通讯器材有限公司"),  # ... and another suffix
    ("枣庄鑫达通讯", "枣庄市鑫达通讯器材有限公司"),  # the place written without 市
    ("山东省枣庄市鑫达通讯器材有限公司", "枣庄市鑫达通讯器材有限公司"),  # the province added
    ("鑫源", "山东省济南市鑫源食品股份有限公司"),
    ("济南鑫源食品有限公司", "山东省济南市鑫源食品股份有限公司"),
]


@pytest.mark.parametrize(("query", "first"), QUALITY, ids=[q for q, _ in QUALITY])
def test_search_quality(http, registry, query, first):
    answer = http.get("/v1/public/search", params={"q": query})
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert items, f"nothing found for {query!r}"
    assert items[0]["name"] == first, [item["name"] for item in items]


def test_search_by_identifier_finds_organisations_and_never_persons(http, registry):
    answer = http.get("/v1/public/search", params={"q": registry["xingchen"].lower()}).json()
    assert [item["name"] for item in answer["items"]] == ["北京星辰科技有限公司"]
    assert answer["items"][0]["identifier"] == registry["xingchen"]
    assert answer["items"][0]["black_count"] == 1 and answer["items"][0]["red_count"] == 0

    # A person is found by name, never by number (a hit would confirm a guessed number).
    full = registry["zhangsan"]
    assert http.get("/v1/public/search", params={"q": full}).json()["items"] == []
    (item,) = http.get("/v1/public/search", params={"q": "张三", "limit": 1}).json()["items"]
    assert item["name"] == "张三"
    assert item["identifier"] == full[:10] + "********"
    assert full[10:] not in str(item)


def test_results_are_limited_and_the_query_needs_two_characters(http, registry):
    answer = http.get("/v1/public/search", params={"q": "星辰科技", "limit": 1}).json()
    assert len(answer["items"]) == 1 and answer["total"] == 2
    # Two characters find the names holding them, and only those.
    assert [i["name"] for i in http.get("/v1/public/search", params={"q": "北京"}).json()["items"]] == [
        "北京星辰科技有限公司",
        "北京星辰科技发展有限公司",
    ]
    assert http.get("/v1/public/search", params={"q": "星", "limit": 5}).status_code == 422
    assert http.get("/v1/public/search", params={"q": "星辰", "limit": 500}).status_code == 422
    assert http.get("/v1/public/search", params={"q": "z"}).status_code == 422


def test_a_former_name_still_finds_the_subject(http, police, registry, clock):
    clock(TODAY)
    subject = {"name": "北京辰光智能有限公司", "identifier": registry["xingchen"]}
    renamed = record_body(50, subject=subject, decision_date="2026-11-18")
    assert http.post("/v1/records", json=renamed, headers=police).status_code == 201
    items = http.get("/v1/public/search", params={"q": "辰光智能"}).json()["items"]
    assert items[0]["name"] == "北京辰光智能有限公司"
    old = http.get("/v1/public/search", params={"q": "北京星辰科技有限公司"}).json()["items"]
    assert old[0]["name"] == "北京辰光智能有限公司" and old[0]["matched_name"] == "北京星辰科技有限公司"


def test_reindex_rebuilds_the_same_answers(http, registry):
    before = http.get("/v1/public/search", params={"q": "zhangsan"}).json()
    with session_scope() as session:
        assert reindex(session) == len(COMPANIES) + len(PERSONS)
    assert http.get("/v1/public/search", params={"q": "zhangsan"}).json() == before


def test_subjects_without_public_records_are_not_listed(http, police, clock):
    clock(TODAY)
    shared = record_body(
        70, subject={"name": "保密数据有限公司"}, visibility="shared", decision_date="2026-11-18"
    )
    assert http.post("/v1/records", json=shared, headers=police).status_code == 201
    assert http.get("/v1/public/search", params={"q": "保密数据有限公司"}).json()["items"] == []
    assert http.get("/v1/public/search", params={"q": make_uscc(70)}).json()["items"] == []


def test_cli_reindex_makes_unindexed_subjects_findable(http, registry):
    from sqlalchemy import delete
    from typer.testing import CliRunner

    from app.cli import cli
    from app.models import SubjectSearch

    with session_scope() as session:
        session.execute(delete(SubjectSearch))
    assert http.get("/v1/public/search", params={"q": "zhangsan"}).json()["items"] == []
    result = CliRunner().invoke(cli, ["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert f'"indexed_names": {len(COMPANIES) + len(PERSONS)}' in result.output
    assert http.get("/v1/public/search", params={"q": "zhangsan"}).json()["items"][0]["name"] == "张三"


def test_subjects_out_of_public_force_do_not_crowd_out_a_public_one(http, police, clock):
    clock(TODAY)
    # Sixty shorter names matching first, none in public force (exited records stay in the index for
    # ever; persons are mostly shared): the one public match must still be found.
    hidden = [
        record_body(200 + n, subject={"name": f"星辰科技{n}有限公司"}, visibility="shared") for n in range(60)
    ]
    public = record_body(300, subject={"name": "北京市星辰科技有限公司"})
    answer = http.post("/v1/records/batch", json={"records": [*hidden, public]}, headers=police)
    assert answer.status_code == 200 and answer.json()["created"] == 61, answer.text
    items = http.get("/v1/public/search", params={"q": "星辰科技"}).json()["items"]
    assert [item["name"] for item in items] == ["北京市星辰科技有限公司"]


def test_a_miss_says_it_is_not_a_clean_bill(http, registry):
    answer = http.get("/v1/public/search", params={"q": "不存在的公司名称"}).json()
    assert answer["items"] == []
    assert "不代表该主体不存在失信行为" in answer["note"]
    assert "共享或受限" in answer["note"] and "其他平台" in answer["note"]
    # The same note when a person's number was typed: nothing is confirmed either way.
    by_number = http.get("/v1/public/search", params={"q": registry["zhangsan"]}).json()
    assert by_number["items"] == [] and by_number["note"] == answer["note"]
    # A hit carries no note.
    assert "note" not in http.get("/v1/public/search", params={"q": "鑫达"}).json()


def test_the_new_ways_find_only_names_in_public_force(http, police, clock):
    clock(TODAY)
    # A shared record under a two-character trade name, and a public record of another subject.
    shared = record_body(71, subject={"name": "枣庄市保密通讯有限公司"}, visibility="shared")
    public = record_body(72, subject={"name": "枣庄市宝蜜食品有限公司"})
    answer = http.post("/v1/records/batch", json={"records": [shared, public]}, headers=police)
    assert answer.status_code == 200 and answer.json()["created"] == 2, answer.text
    for query in ("保密", "保密通讯", "bmtx", "保蜜通讯"):
        names = [item["name"] for item in http.get("/v1/public/search", params={"q": query}).json()["items"]]
        assert "枣庄市保密通讯有限公司" not in names, (query, names)
    # The homophone finds the public one (宝蜜 bao mi), never the shared one.
    names = [item["name"] for item in http.get("/v1/public/search", params={"q": "保密"}).json()["items"]]
    assert names == ["枣庄市宝蜜食品有限公司"]


def test_a_name_only_a_hidden_record_carries_does_not_stop_the_search(http, police, clock):
    # One company, published under one name, shared under another; another company publicly under a
    # homophone of that other name. Asked for the hidden name, the search must answer as if it did
    # not exist: the homophone, exactly as when asked for the homophone itself (stopping at the hidden
    # name's exact match left it out, telling that the hidden name exists).
    clock(TODAY)
    published = record_body(73, subject={"name": "枣庄市甲乙商贸有限公司"})
    hidden = record_body(74, subject={"identifier": make_uscc(73), "name": "枣庄市保密通讯有限公司"})
    hidden["visibility"] = "shared"
    homophone = record_body(75, subject={"name": "枣庄市宝蜜通讯有限公司"})
    answer = http.post("/v1/records/batch", json={"records": [published, hidden, homophone]}, headers=police)
    assert answer.status_code == 200 and answer.json()["created"] == 3, answer.text

    def names(query):
        return [item["name"] for item in http.get("/v1/public/search", params={"q": query}).json()["items"]]

    assert names("保密通讯") == names("宝蜜通讯") == ["枣庄市宝蜜通讯有限公司"]


def test_a_code_merged_into_another_subject_finds_the_subject_it_leads_to(http, police, token_for):
    # The entity page under the old code shows the surviving subject's records; the search by that
    # code must not answer "nothing found" for the same entity.
    admin = token_for("national.market_regulation", "admin")
    for n in (31, 32):
        assert http.post("/v1/records", json=record_body(n), headers=police).status_code == 201
    merge = {"from": make_uscc(31), "into": make_uscc(32), "reason": "同一企业"}
    assert http.post("/v1/admin/subjects/merge", json=merge, headers=admin).status_code == 200
    assert http.get(f"/v1/public/subjects/{make_uscc(31)}").status_code == 200
    found = http.get("/v1/public/search", params={"q": make_uscc(31)}).json()
    assert [item["identifier"] for item in found["items"]] == [make_uscc(32)]
    assert found["items"][0]["black_count"] == 2
