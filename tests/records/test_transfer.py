"""Bulk import and export from the command line."""

import csv
import json

from typer.testing import CliRunner

from app.cli import cli
from tests.conftest import POLICE, record_body


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
    rows = list(csv.DictReader(exported.open(encoding="utf-8")))
    assert {row["external_id"] for row in rows} == {"ext-1", "ext-2", "ext-3"}
    assert rows[0]["subject_identifier"] and rows[0]["status"] == "active"
    back = CliRunner().invoke(cli, ["records", "import", str(exported), "--agency", POLICE])
    assert back.exit_code == 0, back.output
    assert json.loads(back.output.strip().splitlines()[-1])["unchanged"] == 3
