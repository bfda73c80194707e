"""Personal data never reaches a broadcast."""

import pytest

from services.notify.redaction import redact


def test_emails_phones_and_cards_are_redacted() -> None:
    text = ("Mail me at jo.smith+x@mail.example.com or call +44 20 7946 0958, (555) 123-4567, 030-1234567. "
            "Card 4111 1111 1111 1111 and 5500-0000-0000-0004 were charged twice.")
    out = redact(text)
    assert "jo.smith" not in out and out.count("[email]") == 1
    assert "7946" not in out and "123-4567" not in out and "1234567" not in out
    assert "4111" not in out and "5500" not in out and out.count("[card]") == 2


@pytest.mark.parametrize("phone", [
    "+1 (415) 555-0100", "(555) 123-4567", "415.555.0100", "415-555-0100", "+49 30 1234567", "0044 20 7946 0958",
    "+44 7700 900123", "07700900123", "+33 6 12 34 56 78", "030-1234567",
])
def test_phone_numbers_in_many_formats_are_redacted(phone: str) -> None:
    assert redact(f"Call me on {phone} today.") == "Call me on [phone] today."


@pytest.mark.parametrize("card", ["4111111111111111", "4111 1111 1111 1111", "5500-0000-0000-0004",
                                  "378282246310005", "6011 0009 9013 9424"])
def test_card_numbers_that_pass_luhn_are_redacted(card: str) -> None:
    assert redact(f"charged {card} twice") == "charged [card] twice"


def test_emails_are_redacted_wherever_they_sit() -> None:
    assert redact("(ana.b@sub.example.co.uk), MAIL: X_Y@EXAMPLE.ORG.") == "([email]), MAIL: [email]."


def test_ordinary_numbers_and_dates_survive() -> None:
    assert redact("Order 1234 arrived 3 days late, 2 of 6 glasses broken") == (
        "Order 1234 arrived 3 days late, 2 of 6 glasses broken")
    assert redact("Ordered on 2026-11-02, arrived 09.11.2026") == "Ordered on 2026-11-02, arrived 09.11.2026"
    assert redact("Charged 129.99 EUR instead of 99.99") == "Charged 129.99 EUR instead of 99.99"
