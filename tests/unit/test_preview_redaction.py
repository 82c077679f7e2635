"""`consumers.redaction`: what an operator's listing may show of a message."""

from __future__ import annotations

import json

from consumers.redaction import mask_text, preview, redact


def test_identifying_fields_are_masked_at_any_depth_and_the_rest_is_kept() -> None:
    value = {
        "event_id": "e1",
        "payload": {
            "reporter": {"name": "Siti", "phone": "+6281244556677", "email": "s@x.id"},
            "contact_handle": "@siti",
            "agency": "DINKES",
            "items": [{"nama_lengkap": "Budi"}, 7],
            "email": None,
        },
    }
    assert redact(value) == {
        "event_id": "e1",
        "payload": {
            "reporter": {"name": "***", "phone": "***", "email": "***"},
            "contact_handle": "***",
            "agency": "DINKES",
            "items": [{"nama_lengkap": "***"}, 7],
            "email": None,
        },
    }


def test_addresses_and_phone_numbers_in_free_text_are_masked() -> None:
    text = "telepon 0812-4455-6677 atau +62 (812) 4455 6677, email siti.r@example.co.id; kode 2026"
    assert mask_text(text) == "telepon [telepon] atau [telepon], email [email]; kode 2026"


def test_a_preview_is_one_line_cut_to_its_width_and_survives_bytes_that_are_not_json() -> None:
    raw = json.dumps({"text": "a\nb " * 100, "phone": "0812"}).encode()
    line = preview(raw, 60)
    assert len(line) == 60
    assert "\n" not in line
    assert line.endswith("...")
    assert (
        preview(b"\xff\xfe call 081244556677", 80)
        == "(20 bytes, not JSON) \ufffd\ufffd call [telepon]"
    )
    assert preview(None) == "(no value)"
