"""The impact rubric, the configuration's validation, the matrix and criticality."""

from __future__ import annotations

from renkei.risk.config import default_config, validate
from renkei.risk.impact import Profile, describe, impact
from renkei.risk.services import criticality_of, level_of

RUBRIC = default_config()["impact"]


def test_a_supplier_without_data_or_access_has_impact_from_its_function_only():
    value, reasons = impact(Profile(business_function="sales"), RUBRIC)
    assert value == 1
    assert [r["name"] for r in reasons] == ["business_function"]


def test_remote_access_into_our_network_gives_the_highest_impact():
    """Seed 001: the subsidiary's remote-connection device was the way in."""
    value, reasons = impact(Profile(access_methods=("remote_desktop",)), RUBRIC)
    assert value == 5
    assert reasons[0]["name"] == "access" and reasons[0]["level"] == 5


def test_personal_information_volume_steps_up_at_the_thresholds():
    levels = [impact(Profile(personal_info_records=n, business_function="sales"), RUBRIC)[0]
              for n in (0, 1, 999, 1000, 10000, 100000)]
    assert levels == [1, 2, 2, 3, 4, 5]


def test_many_confidential_classes_add_the_bonus():
    two = impact(Profile(data_classes=("technical", "sales_info")), RUBRIC)[0]
    three = impact(Profile(data_classes=("technical", "sales_info", "customer")), RUBRIC)[0]
    assert (two, three) == (3, 4)


def test_software_and_service_providers_reach_many():
    business = impact(Profile(data_classes=("customer",), chain_type="business"), RUBRIC)
    software = impact(Profile(data_classes=("customer",), chain_type="software"), RUBRIC)
    assert (business[0], software[0]) == (3, 4)
    assert software[1][0]["name"] == "reach"
    # Nothing worth reaching through: no bonus.
    assert impact(Profile(business_function="sales", chain_type="software"), RUBRIC)[0] == 1


def test_single_source_tag_raises_business_dependency():
    value, reasons = impact(Profile(business_function="procurement", tags=frozenset({"単一調達先"})), RUBRIC)
    assert value == 4 and reasons[0]["name"] == "single_source"


def test_every_reason_has_a_sentence():
    _value, reasons = impact(Profile(
        personal_info_records=5000, data_classes=("customer",), export_controlled=True,
        access_methods=("vpn",), chain_type="service", tags=frozenset({"単一調達先"})), RUBRIC)
    for reason in reasons:
        text = describe(reason["name"], reason["params"])
        assert text and text != reason["name"]


def test_validation_fills_defaults_and_keeps_changes():
    config, errors = validate({"impact": {"access": {"api": 4}}, "criticality": {"1": 5}})
    assert errors == {}
    assert config["impact"]["access"]["api"] == 4
    assert config["impact"]["access"]["vpn"] == 5
    assert config["criticality"] == {"1": 5, "2": 3}


def test_validation_names_each_offending_field():
    _config, errors = validate({
        "impact": {"access": {"vpn": 7, "fax": 2}, "personal_info": [[100, 3], [50, 4]]},
        "likelihood": {"missing_certification": -1, "assessment_fresh_days": "soon"},
        "matrix": [["low"] * 5] * 4,
        "criticality": {"1": 2, "2": 3},
        "colour": "red",
    })
    assert set(errors) == {
        "impact.access.vpn", "impact.access.fax", "impact.personal_info[1]",
        "likelihood.missing_certification", "likelihood.assessment_fresh_days", "matrix",
        "criticality.2", "colour",
    }


def test_a_matrix_that_steps_down_is_refused():
    matrix = default_config()["matrix"]
    matrix[4][4] = "low"
    _config, errors = validate({"matrix": matrix})
    assert "matrix[4][4]" in errors


def test_default_matrix_levels_and_criticality():
    config = default_config()
    assert level_of(config, 1, 1) == "low"
    assert level_of(config, 5, 5) == "critical"
    assert level_of(config, 5, 3) == "high"
    assert [criticality_of(config, i) for i in (1, 2, 3, 4, 5)] == [3, 3, 2, 1, 1]


def test_a_custom_matrix_changes_the_level():
    matrix = [["medium"] * 5 for _ in range(5)]
    config, errors = validate({"matrix": matrix})
    assert not errors and level_of(config, 1, 1) == "medium"


def test_settings_text_keeps_every_value():
    import json

    from renkei.risk.services import config_json

    config, errors = validate({"impact": {"single_source_tags": ["単一, 調達先", "a\nb", "[x]"]}})
    assert not errors
    text = config_json(config)
    assert json.loads(text) == config
    assert '["low", "low", "low", "medium", "medium"]' in text
