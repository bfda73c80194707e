"""Personal data never reaches a broadcast."""

from services.notify.redaction import redact


def test_emails_phones_and_cards_are_redacted() -> None:
    text = ("Mail me at jo.smith+x@mail.example.com or call +44 20 7946 0958, (555) 123-4567, 030-1234567. "
            "Card 4111 1111 1111 1111 and 5500-0000-0000-0004 were charged twice.")
    out = redact(text)
    assert "jo.smith" not in out and out.count("[email]") == 1
    assert "7946" not in out and "123-4567" not in out and "1234567" not in out
    assert "4111" not in out and "5500" not in out and out.count("[card]") == 2


def test_ordinary_numbers_survive() -> None:
    assert redact("Order 1234 arrived 3 days late, 2 of 6 glasses broken") == (
        "Order 1234 arrived 3 days late, 2 of 6 glasses broken")
