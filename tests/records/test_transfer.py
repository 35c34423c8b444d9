"""Bulk import and export from the command line."""

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.db import get_engine
from app.records.transfer import CSV_COLUMNS
from tests.conftest import COURT, POLICE, make_resident_id, record_body


def _csv_text(bodies):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for body in bodies:
        writer.writerow(
            body
            | {f"subject_{key}": value for key, value in body["subject"].items()}
            | {f"notice_{key}": value for key, value in (body.get("notice") or {}).items()}
        )
    return out.getvalue()


def _import(path, *extra):
    return CliRunner().invoke(cli, ["records", "import", str(path), "--agency", POLICE, *extra])


def test_import_reports_refused_lines_and_is_idempotent(tmp_path):
    path = tmp_path / "records.ndjson"
    lines = [json.dumps(record_body(n), ensure_ascii=False) for n in range(1, 4)]
    lines.insert(1, "{broken json")
    lines.append(json.dumps(record_body(9, domain="nowhere"), ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    first = CliRunner().invoke(cli, ["records", "import", str(path), "--agency", POLICE])
    assert first.exit_code == 1  # some lines were refused
    summary = json.loads(first.output.strip().splitlines()[-1])
    assert (summary["created"], summary["refused"]) == (3, 2)
    assert [r["line"] for r in summary["refused_lines"]] == [2, 5]
    assert summary["refused_by_reason"] == {"validation_error": 2}

    good = tmp_path / "good.ndjson"
    good.write_text(
        "\n".join(line for i, line in enumerate(lines) if i not in (1, 4)) + "\n", encoding="utf-8"
    )
    again = CliRunner().invoke(cli, ["records", "import", str(good), "--agency", POLICE])
    assert again.exit_code == 0
    assert json.loads(again.output.strip().splitlines()[-1])["unchanged"] == 3


def test_csv_export_imports_back_unchanged(tmp_path, http, police):
    for n in range(1, 4):
        http.post("/v1/records", json=record_body(n), headers=police)
    exported = tmp_path / "out.csv"
    result = CliRunner().invoke(cli, ["records", "export", str(exported), "--agency", POLICE])
    assert result.exit_code == 0 and json.loads(result.output)["exported"] == 3
    rows = list(csv.DictReader(exported.open(encoding="utf-8-sig")))
    assert {row["external_id"] for row in rows} == {"ext-1", "ext-2", "ext-3"}
    assert rows[0]["subject_identifier"] and rows[0]["status"] == "active"
    back = CliRunner().invoke(cli, ["records", "import", str(exported), "--agency", POLICE])
    assert back.exit_code == 0, back.output
    assert json.loads(back.output.strip().splitlines()[-1])["unchanged"] == 3


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_a_court_listing_keeps_its_ground_through_export_and_import(tmp_path, http, token_for, fmt):
    """A listing for refusing despite ability has no end date (法释〔2017〕7号 第一条): an export that
    dropped its ground would import back as a two-year listing."""
    court = token_for(COURT, "records:write")
    body = record_body(
        1, domain="court_judgments", severity="general", listing_basis="refuses_despite_ability"
    )
    assert http.post("/v1/records", json=body, headers=court).status_code == 201
    exported = tmp_path / f"out.{fmt}"
    assert CliRunner().invoke(cli, ["records", "export", str(exported), "--agency", COURT]).exit_code == 0
    if fmt == "csv":
        row = next(csv.DictReader(exported.open(encoding="utf-8-sig")))
        assert (row["listing_basis"], row["publicity_end"]) == ("refuses_despite_ability", "")
    else:
        row = json.loads(exported.read_text("utf-8"))
        assert (row["listing_basis"], row["publicity_end"]) == ("refuses_despite_ability", None)
    back = CliRunner().invoke(cli, ["records", "import", str(exported), "--agency", COURT])
    assert back.exit_code == 0, back.output
    assert json.loads(back.output.strip().splitlines()[-1])["unchanged"] == 1


# --- Encodings, error sentences, stdout for pipes (issue 14) ---------------------------------------------


@pytest.mark.parametrize(
    "encoding",
    [
        "gbk",  # what Chinese Excel's "CSV (逗号分隔)" writes: no BOM
        "gb18030",
        "utf-8",
        "utf-8-sig",  # Excel's "CSV UTF-8"
    ],
)
def test_csv_from_chinese_excel_imports_in_any_of_its_encodings(tmp_path, encoding):
    path = tmp_path / "records.csv"
    path.write_bytes(_csv_text([record_body(n) for n in (1, 2)]).encode(encoding))
    result = _import(path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["created"] == 2
    exported = tmp_path / "out.ndjson"
    CliRunner().invoke(cli, ["records", "export", str(exported), "--agency", POLICE])
    names = {json.loads(line)["subject"]["name"] for line in exported.read_text("utf-8").splitlines()}
    assert names == {"测试科技有限公司1", "测试科技有限公司2"}  # the Chinese arrived intact


def test_a_file_in_no_accepted_encoding_is_one_sentence_and_exit_2(tmp_path, http, police):
    path = tmp_path / "records.csv"
    path.write_bytes(_csv_text([record_body(1)]).encode("utf-16"))  # Excel's "Unicode text"
    result = _import(path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: records.csv is neither UTF-8 nor GB18030")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert http.get("/v1/records", headers=police).json()["total"] == 0

    ndjson = tmp_path / "records.ndjson"
    ndjson.write_bytes(json.dumps(record_body(1), ensure_ascii=False).encode("gbk") + b"\n")
    result = _import(ndjson)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: records.ndjson is not UTF-8 text: line 1 holds byte 0xB2; NDJSON must be UTF-8"
    )


def test_a_csv_without_the_columns_says_which_are_missing(tmp_path):
    path = tmp_path / "records.csv"
    path.write_text("名称,统一社会信用代码\n测试,91350100M000100Y43\n", encoding="gbk")
    result = _import(path)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: records.csv has no column external_id, domain, list_type")


def test_csv_export_starts_with_a_bom_and_ndjson_does_not(tmp_path, http, police):
    http.post("/v1/records", json=record_body(1), headers=police)
    as_csv, as_ndjson = tmp_path / "out.csv", tmp_path / "out.ndjson"
    for path in (as_csv, as_ndjson):
        assert CliRunner().invoke(cli, ["records", "export", str(path)]).exit_code == 0
    assert as_csv.read_bytes().startswith(b"\xef\xbb\xbfexternal_id,")
    assert "测试科技有限公司1" in as_csv.read_bytes()[3:].decode("utf-8")
    assert as_ndjson.read_bytes().startswith(b'{"external_id": "ext-1"')


def test_bad_ndjson_lines_are_refused_with_a_sentence_naming_the_line(tmp_path):
    path = tmp_path / "records.ndjson"
    nested = '{"a":' * 100_000 + "1" + "}" * 100_000  # beyond any parser's depth
    lines = ["{broken json", "[1, 2]", '"text"', "42", nested, json.dumps(record_body(1), ensure_ascii=False)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _import(path)
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert (summary["created"], summary["refused"]) == (1, 5)
    details = {entry["line"]: entry["detail"] for entry in summary["refused_lines"]}
    assert details == {
        1: "line 1 is not valid JSON (Expecting property name enclosed in double quotes at column 2); "
        "each line must be one record as a JSON object",
        2: "line 2 holds an array, not a JSON object; each line must be one record",
        3: "line 3 holds a string, not a JSON object; each line must be one record",
        4: "line 4 holds a number, not a JSON object; each line must be one record",
        5: "line 5 is nested too deeply to be a record; each line must be one record",
    }
    assert summary["refused_by_reason"] == {"validation_error": 5}


def test_import_progress_goes_to_stderr_so_stdout_pipes_into_jq(tmp_path, database):
    path = tmp_path / "records.csv"
    path.write_bytes(_csv_text([record_body(1)]).encode("gbk"))
    registry = Path(sys.executable).parent / "registry"
    ran = subprocess.run(
        [str(registry), "records", "import", str(path), "--agency", POLICE],
        capture_output=True,
        text=True,
        env=os.environ | {"REGISTRY_DATABASE_URL": database},
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["created"] == 1  # the whole of stdout is the JSON summary
    assert "importing records.csv" in ran.stderr


def test_an_ndjson_export_keeps_the_people_named_behind_a_record(tmp_path, http, token_for):
    """A debtor's legal representative is reached by the high-consumption ban through the record
    (国9 相关责任主体): an export that dropped them would import back a record that reaches nobody."""
    court = token_for(COURT, "records:write")
    boss = {"kind": "natural_person", "name": "钱老板", "identifier_type": "resident_id"}
    boss["identifier"] = make_resident_id(date(1970, 1, 1), 5)
    related = [{"role": "legal_representative", "subject": boss}]
    body = record_body(1, domain="court_judgments", severity="general", related=related)
    assert http.post("/v1/records", json=body, headers=court).status_code == 201
    exported = tmp_path / "out.ndjson"
    assert CliRunner().invoke(cli, ["records", "export", str(exported), "--agency", COURT]).exit_code == 0
    row = json.loads(exported.read_text("utf-8"))
    assert row["related"] == related
    back = CliRunner().invoke(cli, ["records", "import", str(exported), "--agency", COURT])
    assert back.exit_code == 0, back.output
    assert json.loads(back.output.strip().splitlines()[-1])["unchanged"] == 1
    csv_file = tmp_path / "out.csv"
    assert CliRunner().invoke(cli, ["records", "export", str(csv_file), "--agency", COURT]).exit_code == 0


@pytest.mark.skipif(get_engine().dialect.name != "postgresql", reason="SQLite's planner needs no statistics")
def test_an_import_leaves_the_planner_statistics_of_what_it_loaded(tmp_path):
    # Autovacuum would gather them only later (and not at all where it is off, as on the CI's server):
    # until then plans are made for the tables as they were, and large reads take minutes.
    def planned_records() -> float:
        with get_engine().connect() as connection:
            query = "SELECT reltuples FROM pg_class WHERE relname = 'records'"
            return float(connection.exec_driver_sql(query).scalar())

    with get_engine().connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE records")
    assert planned_records() == 0
    path = tmp_path / "records.ndjson"
    lines = [json.dumps(record_body(n), ensure_ascii=False) for n in range(1, 6)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _import(path).exit_code == 0
    assert planned_records() == 5


def test_a_quote_not_closed_until_a_later_stray_one_is_an_error_too(tmp_path):
    bodies = [record_body(n) for n in (25, 26, 27, 28, 29)]
    bodies[1]["conduct"] = "OPEN普通行为"
    bodies[3]["conduct"] = "普通行为CLOSE"
    text = _csv_text(bodies).replace("OPEN", '"').replace("CLOSE", '"')
    path = tmp_path / "stray.csv"
    path.write_text(text, encoding="utf-8")
    result = _import(path)
    assert result.exit_code == 2, result.output
    assert "line 3: a quoted cell runs over the lines after it" in result.output
    with get_engine().connect() as connection:
        stored = connection.exec_driver_sql("SELECT external_id, conduct FROM records").all()
    assert [external_id for external_id, _ in stored] == ["ext-25"]
    assert all("\n" not in conduct for _, conduct in stored)


def test_an_unclosed_quote_is_an_error_not_the_rest_of_the_file_in_one_cell(tmp_path):
    bodies = [record_body(n) for n in (21, 22, 23, 24)]
    bodies[1]["legal_basis"] = '"《反电信网络诈骗法》第三十八条'  # its closing quote forgotten
    text = _csv_text(bodies).replace('"""《反电信网络诈骗法》第三十八条"', '"《反电信网络诈骗法》第三十八条')
    path = tmp_path / "quote.csv"
    path.write_text(text, encoding="utf-8")
    result = _import(path)
    assert result.exit_code == 2, result.output
    # The row that breaks is named by the line it starts on (the header is line 1), and the line
    # before it, in the same batch, is imported as the error says.
    assert "not valid CSV at line 3" in result.output and "the lines before it are imported" in result.output
    with get_engine().connect() as connection:
        stored = connection.exec_driver_sql("SELECT external_id, legal_basis FROM records").all()
    assert [external_id for external_id, _ in stored] == ["ext-21"]
    assert all("ext-23" not in basis and "\n" not in basis for _, basis in stored)


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_an_export_of_a_revoked_record_does_not_list_it_again(tmp_path, http, police, fmt):
    kept = http.post("/v1/records", json=record_body(31), headers=police).json()
    gone = http.post("/v1/records", json=record_body(32), headers=police).json()
    revoke = {"reason": "复议撤销", "decision_no": "复字〔2026〕32号"}
    assert http.post(f"/v1/records/{gone['id']}/revoke", json=revoke, headers=police).status_code == 200
    exported = tmp_path / f"out.{fmt}"
    assert CliRunner().invoke(cli, ["records", "export", str(exported), "--agency", POLICE]).exit_code == 0
    with get_engine().begin() as connection:  # a fresh registry, as a restore elsewhere would be
        connection.exec_driver_sql("DELETE FROM record_parties")
        connection.exec_driver_sql("DELETE FROM records")
    back = _import(exported)
    summary = json.loads(back.output.strip().splitlines()[-1])
    assert back.exit_code == 1 and summary["created"] == 1
    (refused,) = summary["refused_lines"]
    assert "revoked record" in refused["detail"]
    with get_engine().connect() as connection:
        ids = connection.exec_driver_sql("SELECT external_id, status FROM records").all()
    assert [tuple(row) for row in ids] == [(kept["external_id"], "active")]


def test_a_cell_a_spreadsheet_would_run_is_exported_as_text_and_imported_back(tmp_path, http, police):
    body = record_body(41, subject={"name": '=HYPERLINK("http://evil.example/","查看")'})
    body["conduct"] = "=cmd|' /C calc'!A0"
    body["decision_no"] = "'=1+1"  # already begins with the quote mark: comes back as it was
    assert http.post("/v1/records", json=body, headers=police).status_code == 201
    exported = tmp_path / "out.csv"
    assert CliRunner().invoke(cli, ["records", "export", str(exported), "--agency", POLICE]).exit_code == 0
    (row,) = list(csv.DictReader(exported.open(encoding="utf-8-sig")))
    assert row["subject_name"].startswith("'=") and row["conduct"].startswith("'=")
    back = _import(exported)
    assert back.exit_code == 0 and json.loads(back.output.strip().splitlines()[-1])["unchanged"] == 1


def test_a_utf8_csv_with_one_stray_byte_is_refused_naming_its_line(tmp_path):
    # These UTF-8 lines happen to decode as GB18030 too, every character wrong (鏋ｅ簞鍟嗚锤...):
    # with one byte UTF-8 refuses, the file must be refused, not read as GB18030.
    from app.records.transfer import TransferError, _text_encoding

    lines = ["subject_name,conduct\n", *["测试公司,虚假宣传\n"] * 3]
    raw = [line.encode("utf-8") for line in lines]
    raw[2] = raw[2].replace("公司".encode(), b"\xa1\xa1")
    assert all(line.decode("gb18030") for line in raw)  # no line GB18030 refuses
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(b"".join(raw))
    with pytest.raises(TransferError, match="UTF-8 text but for line 3"):
        _text_encoding(mixed, "csv")
    gb = tmp_path / "gb.csv"
    gb.write_bytes("".join(lines).encode("gb18030"))
    assert _text_encoding(gb, "csv") == "gb18030"  # a GB18030 file is still read as one


def test_an_unknown_agency_or_format_stops_before_anything_is_read_or_written(tmp_path):
    path = tmp_path / "records.ndjson"
    path.write_text(json.dumps(record_body(1)) + "\n", encoding="utf-8")
    unknown = CliRunner().invoke(cli, ["records", "import", str(path), "--agency", "nope.agency"])
    assert unknown.exit_code == 2 and "nope.agency" in unknown.output
    sheet = tmp_path / "records.xlsx"
    exported = CliRunner().invoke(cli, ["records", "export", str(sheet)])
    assert exported.exit_code == 2 and not sheet.exists() and "--format" in exported.output
    assert CliRunner().invoke(cli, ["records", "export", str(sheet), "--format", "csv"]).exit_code == 0
    nobody = CliRunner().invoke(
        cli, ["records", "export", str(tmp_path / "x.csv"), "--agency", "nope.agency"]
    )
    assert nobody.exit_code == 2 and "nope.agency" in nobody.output
    with get_engine().connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM records").scalar() == 0
