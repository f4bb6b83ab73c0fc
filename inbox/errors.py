"""What the inbox tells staff when a change is refused: error keys from crm/ → sentences."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ERROR_TEXTS = {
    "password_too_short": _l("The password must be at least 10 characters."),
    "email_invalid": _l("Enter a valid e-mail address."),
    "email_taken": _l("A staff member with this e-mail already exists."),
    "role_invalid": _l("Choose a role."),
    "language_invalid": _l("Choose Japanese or English."),
    "last_admin": _l("The shop needs at least one active admin."),
    "passwords_differ": _l("The two passwords differ."),
    "status_invalid": _l("Unknown status."),
    "assignee_inactive": _l("This staff member is deactivated."),
    "tag_name_invalid": _l("A tag name needs 1 to 50 characters."),
    "tag_color_invalid": _l("Choose a colour."),
    "tag_exists": _l("This tag already exists."),
    "note_invalid": _l("A note needs 1 to 5,000 characters."),
    "reply_empty": _l("Write a message first."),
    "reply_too_long": _l("LINE accepts at most 5,000 characters per message."),
    "reply_token_invalid": _l("The form expired. Reload the page and try again."),
    "reply_token_reused": _l("The form expired. Reload the page and try again."),
    "customer_blocked": _l("This customer has blocked the account; LINE would not deliver."),
    "not_retryable": _l("Only failed messages can be sent again."),
    "shortcut_invalid": _l("A shortcut is one word of letters, digits, - or _."),
    "shortcut_taken": _l("This shortcut is already used."),
    "canned_invalid": _l("A canned response needs a title and a text of at most 5,000 characters."),
    "attribute_key_invalid": _l("A key starts with a letter: a-z, 0-9 and _ only."),
    "attribute_key_taken": _l("This key is already used."),
    "attribute_invalid": _l("A field needs a label and a type."),
    "attribute_needs_choices": _l("A choice field needs at least one choice."),
    "value_too_long": _l("At most 500 characters."),
    "value_not_number": _l("Enter a number."),
    "value_not_date": _l("Enter a date as YYYY-MM-DD."),
    "value_not_choice": _l("Choose one of the listed values."),
    "hours_invalid": _l("Write hours like 09:00-18:00, several separated by commas."),
    "holiday_invalid": _l("Write holidays as YYYY-MM-DD, one per line."),
    "away_message_invalid": _l("The away message needs 1 to 5,000 characters."),
    "timezone_invalid": _l("Unknown time zone."),
    "bot_text_invalid": _l("A bot text needs 1 to 5,000 characters."),
    "campaign_saved": _l("Campaign saved as a draft. Check the preview, then approve it."),
    "campaign_scheduled": _l("Campaign approved: it goes out at its time."),
    "campaign_paused": _l("Campaign paused."),
    "campaign_resumed": _l("Campaign resumed."),
    "campaign_cancelled": _l("Campaign cancelled: nobody else will get it."),
    "campaign_deleted": _l("Draft deleted."),
    "test_send_unlinked": _l("This staff member has not linked their LINE."),
    "test_sent": _l("Test sent. Check the LINE app."),
    "test_send_failed": _l("LINE did not take the test send:"),
    "frequency_cap_invalid": _l("A cap is 0 to 100 messages within 1 to 90 days."),
    "quiet_hours_invalid": _l("Quiet hours need a start and an end time that differ."),
    "survey_saved": _l(
        "The survey is saved. Runs in progress finish on the questions they began with."
    ),
    "csat_days_invalid": _l("Choose 0 to 365 days."),
    "csat_question_invalid": _l("The question needs 1 to 1,000 characters."),
    "survey_sent": _l("The survey was sent; its first question is on its way."),
    "survey_blocked": _l("This customer has blocked the account; LINE would not deliver."),
    "survey_in_a_run": _l("This customer is answering another survey; send this one later."),
    "survey_inactive": _l("This survey is switched off."),
}


def error_text(key: str) -> str:
    """The sentence for an error key (the key itself if none is written yet)."""
    return str(ERROR_TEXTS.get(key, key))
