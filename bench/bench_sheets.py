"""Time of importing 1,000 filled Excel answer sheets through sheets.import_assessment_sheet.

    python bench/bench_sheets.py [--sheets 1000] [--database-url URL]

Set-up (not timed): SHEETS suppliers, the built-in サプライチェーンリスク管理シート sent to each,
each assessment exported as .xlsx (sheets.export_assessment) and filled the way a supplier does
(every ○/△/× and yes/no item answered, in the answer column), written to a temporary directory.
Timed: importing every file (validation, all answers written, audit entries, scores), then the
same files again (all unchanged). Target: the first pass < 60 s.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import time
from pathlib import Path

from common import bench_organization, parser, setup_django, summary_ms
from generate import ensure_suppliers

TARGET_S = 60
TRI = ["○ 対応済み", "△ 対応中", "× 未対応", "○", "◯"]
YES_NO = ["はい", "いいえ"]


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sheets", type=int, default=1000)
    args = p.parse_args()
    db = setup_django(args.database_url)

    from openpyxl import load_workbook

    from renkei.audit.services import Actor
    from renkei.questionnaires.assessments_services import create_assessment, latest_template
    from renkei.questionnaires.choices import AnswerType
    from renkei.questionnaires.models import Assessment
    from renkei.questionnaires.sheets import export_assessment, import_assessment_sheet
    from renkei.suppliers.models import Supplier

    org = bench_organization(f"bench-sheets-{int(time.time())}")
    ensure_suppliers(org, args.sheets)
    template = latest_template(org.pk, "scrm-sheet")
    assert template is not None, "the built-in scrm-sheet is not loaded"
    kinds = {i.item_id: i.answer_type for i in template.items.all()}
    actor = Actor.system("bench")
    started = time.perf_counter()
    for supplier in Supplier.objects.filter(organization=org).order_by("pk")[:args.sheets]:
        create_assessment(actor, supplier, template)
    assessments = list(Assessment.objects.filter(organization=org).select_related(
        "supplier", "template", "organization").order_by("pk"))
    tmp = Path(tempfile.mkdtemp(prefix="renkei-bench-sheets-"))
    files = []
    for n, assessment in enumerate(assessments):
        buffer = io.BytesIO()
        export_assessment(assessment, buffer, lang="ja")
        workbook = load_workbook(io.BytesIO(buffer.getvalue()))
        sheet = workbook.worksheets[0]
        for row in range(9, sheet.max_row + 1):
            kind = kinds.get(sheet.cell(row, 2).value)
            if kind == AnswerType.TRI_STATE:
                sheet.cell(row, 5).value = TRI[(n + row) % len(TRI)]
            elif kind == AnswerType.YES_NO:
                sheet.cell(row, 5).value = YES_NO[(n + row) % 2]
        path = tmp / f"sheet-{assessment.pk}.xlsx"
        workbook.save(path)
        files.append(path)
    print(f"database: {db}; {len(files)} filled sheets in {tmp} "
          f"(set-up {time.perf_counter() - started:.1f} s, "
          f"{sum(f.stat().st_size for f in files) / len(files) / 1024:.0f} KB each)")

    ok = True
    for label in ("import", "same files again"):
        samples, changed, errors = [], 0, 0
        started = time.perf_counter()
        for path in files:
            one = time.perf_counter()
            with path.open("rb") as fileobj:
                result = import_assessment_sheet(fileobj, path.name, actor)
            samples.append(time.perf_counter() - one)
            changed += result.changed
            errors += len(result.errors)
            if result.errors and errors <= 3:
                print(f"    {path.name}: {result.errors[:2]}")
        elapsed = time.perf_counter() - started
        median, p95 = summary_ms(samples)
        print(f"{label:<17} {elapsed:7.2f} s   per sheet median {median:5.1f} ms p95 {p95:5.1f} ms   "
              f"answers changed {changed}, errors {errors}")
        if label == "import":
            ok = elapsed < TARGET_S and errors == 0 and changed > 0
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'within' if ok else 'NOT within'} the {TARGET_S} s target")


if __name__ == "__main__":
    main()
