import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from renkei.suppliers.choices import CertificationKind
from renkei.suppliers.models import Certification, Supplier
from renkei.suppliers.validators import (
    corporate_number_check_digit,
    normalize_digits,
    validate_corporate_number,
    validate_pmark_number,
)


@pytest.mark.parametrize("number", ["7000012050002", "1010001000006", "4000012090001"])
def test_published_corporate_numbers_are_valid(number):
    # National Tax Agency (7000012050002) and other published numbers.
    validate_corporate_number(number)


@pytest.mark.parametrize(
    "number", ["8000012050002", "700001205000", "70000120500021", "70000120500x2"]
)
def test_wrong_corporate_numbers_are_refused(number):
    with pytest.raises(ValidationError):
        validate_corporate_number(number)


def test_check_digit_message_is_japanese_by_default():
    with translation.override("ja"), pytest.raises(ValidationError) as exc:
        validate_corporate_number("8000012050002")
    assert "チェックディジット" in exc.value.messages[0]


def test_check_digit_matches_the_nta_formula():
    assert corporate_number_check_digit("000012050002") == 7


@pytest.mark.parametrize("number", ["10820123", "10820123(05)", "21000001(12)"])
def test_pmark_numbers_in_the_published_format(number):
    validate_pmark_number(number)


@pytest.mark.parametrize(
    "number", ["09820123", "1082012", "10820123(5)", "10820123-05", "A0820123"]
)
def test_pmark_numbers_in_other_formats_are_refused(number):
    with pytest.raises(ValidationError):
        validate_pmark_number(number)


def test_full_width_digits_are_normalised():
    assert normalize_digits("１０８２０１２３（０５）") == "10820123(05)"
    assert normalize_digits("7000-0120-50002") == "7000012050002"


@pytest.mark.django_db
class TestModelRules:
    def test_pmark_certification_number_is_checked(self, world):
        cert = Certification(supplier=world.s1, kind=CertificationKind.PMARK, number="12345")
        with pytest.raises(ValidationError) as exc:
            cert.full_clean()
        assert "number" in exc.value.message_dict

    def test_expiry_before_issue_is_refused(self, world):
        cert = Certification(
            supplier=world.s1,
            kind=CertificationKind.ISMS,
            issued_on=datetime.date(2025, 1, 1),
            expires_on=datetime.date(2024, 1, 1),
        )
        with pytest.raises(ValidationError) as exc:
            cert.full_clean()
        assert "expires_on" in exc.value.message_dict

    def test_certification_status(self, world):
        today = datetime.date(2026, 11, 21)
        cert = Certification(kind=CertificationKind.ISMS)
        assert cert.status(today) == "unknown"
        cert.expires_on = today - datetime.timedelta(days=1)
        assert cert.status(today) == "expired"
        cert.expires_on = today + datetime.timedelta(days=30)
        assert cert.status(today) == "expiring"
        cert.expires_on = today + datetime.timedelta(days=400)
        assert cert.status(today) == "valid"

    def test_subcontractor_tier_must_follow_its_parent(self, world):
        child = Supplier(
            organization=world.buyer, code="S1-1", name="子", subcontracted_by=world.s1, tier=3
        )
        with pytest.raises(ValidationError) as exc:
            child.full_clean()
        assert "tier" in exc.value.message_dict
        child.tier = 2
        child.full_clean()

    def test_subcontracting_loop_is_refused(self, world):
        child = Supplier.objects.create(
            organization=world.buyer, code="S1-1", name="子", subcontracted_by=world.s1, tier=2
        )
        world.s1.subcontracted_by = child
        world.s1.tier = 3
        with pytest.raises(ValidationError) as exc:
            world.s1.full_clean()
        assert "subcontracted_by" in exc.value.message_dict

    def test_subcontractor_of_another_organization_is_refused(self, world):
        child = Supplier(
            organization=world.buyer, code="S1-9", name="子", subcontracted_by=world.x1, tier=2
        )
        with pytest.raises(ValidationError) as exc:
            child.full_clean()
        assert "subcontracted_by" in exc.value.message_dict

    def test_corporate_number_unique_per_organization_but_blank_allowed_twice(self, world):
        Supplier(organization=world.buyer, code="S7", name="a").full_clean()
        dup = Supplier(
            organization=world.buyer, code="S8", name="b", corporate_number="7000012050002"
        )
        with pytest.raises(ValidationError):
            dup.full_clean()
        Supplier(
            organization=world.other, code="S8", name="b", corporate_number="7000012050002"
        ).full_clean()
