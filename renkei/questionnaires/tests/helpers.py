"""Small template documents for the questionnaire tests."""

from __future__ import annotations

import copy
from typing import Any

from renkei.audit.services import Actor
from renkei.questionnaires.services import LoadResult, load_template_data

SMALL: dict[str, Any] = {
    "key": "mini",
    "name": {"ja": "ミニ質問票", "en": "Mini questionnaire"},
    "sections": [
        {
            "key": "basics",
            "title": {"ja": "基本", "en": "Basics"},
            "items": [
                {"id": "B-01", "text": {"ja": "バックアップを取っていますか", "en": "Backups?"},
                 "type": "tri_state", "critical": True},
                {"id": "B-02", "text": "委託先はありますか", "type": "yes_no"},
                {"id": "B-03", "text": "委託契約に秘密保持条項がありますか", "type": "tri_state",
                 "condition": {"item": "B-02", "in": ["yes"]}, "weight": 2},
            ],
        },
        {
            "key": "more",
            "title": "その他",
            "items": [
                {"id": "M-01", "text": "利用しているクラウド", "type": "multiple_choice",
                 "not_applicable": True,
                 "choices": [
                     {"value": "m365", "label": "Microsoft 365", "points": 80},
                     {"value": "other", "label": {"ja": "その他", "en": "Other"}, "points": 40},
                 ]},
                {"id": "M-02", "text": "備考", "type": "text", "required": False},
            ],
        },
    ],
}


def small(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SMALL)
    data.update(changes)
    return data


def many_items(count: int, key: str = "many") -> dict[str, Any]:
    return {
        "key": key,
        "name": "大きな質問票",
        "sections": [{
            "key": "all",
            "title": "全部",
            "items": [{"id": f"Q-{n:04d}", "text": f"設問 {n}", "type": "tri_state"}
                      for n in range(count)],
        }],
    }


def load(data: dict[str, Any], organization: Any = None) -> LoadResult:
    return load_template_data(data, organization=organization, actor=Actor.system("test"))
