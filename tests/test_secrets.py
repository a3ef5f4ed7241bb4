from batchscribe.secrets import Redactor


def test_known_secret_and_header_shaped_secrets_are_masked() -> None:
    redact = Redactor(["0123456789abcdef0123456789abcdef"])
    text = "failed for key 0123456789abcdef0123456789abcdef; Ocp-Apim-Subscription-Key: zzz9; Authorization: Bearer tok.en"
    masked = redact(text)
    assert "0123456789abcdef" not in masked
    assert "zzz9" not in masked and "tok.en" not in masked
    assert masked.count("***") == 3


def test_short_or_empty_secrets_do_not_mask_everything() -> None:
    assert Redactor(["", "a"])("a banana") == "a banana"
