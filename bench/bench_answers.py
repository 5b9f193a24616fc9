"""Server time of saving one answer: through the assessment page POST and through the API.

    python bench/bench_answers.py [--saves 50] [--database-url URL]

Sends the built-in サプライチェーンリスク管理シート to a benchmark supplier, then saves the
answer to one ○/△/× item SAVES times through each path with django.test.Client in-process
(the value alternates, so every save is a real change: validation, write, audit entry, score
recompute). Page: the section form of the item POSTed (all its items, one changed). API: POST
/api/v1/assessments/{id}/answers/ {"item", "value"}. Prints the median and p95 of each.
Target: < 50 ms.
"""

from __future__ import annotations

import time

from common import bench_organization, parser, setup_django, summary_ms

TARGET_MS = 50


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--saves", type=int, default=50)
    args = p.parse_args()
    db = setup_django(args.database_url)

    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse
    from rest_framework.authtoken.models import Token

    from renkei.accounts.models import Membership, User
    from renkei.audit.services import Actor
    from renkei.core.permissions import Role
    from renkei.questionnaires.assessments_services import create_assessment, latest_template
    from renkei.questionnaires.choices import AnswerType
    from renkei.questionnaires.models import template_parts
    from renkei.suppliers.models import Supplier

    setup_test_environment()  # lets the test client's host in
    org = bench_organization("bench-answers")
    user, _ = User.objects.get_or_create(username="bench-answers-analyst")
    Membership.objects.get_or_create(user=user, organization=org, defaults={"role": Role.ANALYST})
    code = f"BA{int(time.time())}"
    supplier = Supplier.objects.create(organization=org, code=code, name=f"ベンチ回答 {code}")
    template = latest_template(org.pk, "scrm-sheet")
    assert template is not None, "the built-in scrm-sheet is not loaded"
    assessment = create_assessment(Actor.system("bench"), supplier, template)
    parts = template_parts(template)
    section = next(s for s in parts["sections"]
                   if any(i.answer_type == AnswerType.TRI_STATE for i in s.item_list))
    item = next(i for i in section.item_list if i.answer_type == AnswerType.TRI_STATE)
    print(f"database: {db}; assessment #{assessment.pk}, item {item.item_id} in section "
          f"{section.key} ({len(section.item_list)} items), {args.saves} saves per path")

    page = Client()
    page.force_login(user)
    page_url = reverse("questionnaires:assessment-detail", args=[assessment.pk])
    api = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    api_url = reverse("assessment-answers", args=[assessment.pk])
    values = ["done", "not_done"]

    def page_save(n: int) -> int:
        form = {"section": section.key}
        for other in section.item_list:
            form[f"c-{other.item_id}"] = ""
        form[f"a-{item.item_id}"] = values[n % 2]
        return page.post(page_url, form).status_code

    def api_save(n: int) -> int:
        return api.post(api_url, {"item": item.item_id, "value": values[n % 2]},
                        content_type="application/json").status_code

    ok = True
    for label, save, expected in (("page POST", page_save, 302), ("API POST", api_save, 200)):
        for n in range(3):  # warm up (first requests load translations, templates)
            save(n)
        samples = []
        for n in range(args.saves):
            started = time.perf_counter()
            code_ = save(n)
            samples.append(time.perf_counter() - started)
            assert code_ == expected, f"{label}: HTTP {code_}"
        median, p95 = summary_ms(samples)
        within = median < TARGET_MS
        ok = ok and within
        print(f"{label:<10} median {median:6.1f} ms   p95 {p95:6.1f} ms   "
              f"{'ok' if within else 'SLOW'}")
    print(f"{'within' if ok else 'NOT within'} the {TARGET_MS} ms target (median)")


if __name__ == "__main__":
    main()
