"""The words the bot says, with Japanese defaults a shop can override per key."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm.shop_settings import read_setting, write_setting

SETTING_KEY = "bot_texts"

DEFAULT_TEXTS: dict[str, str] = {
    "shop_name": "ショップ",
    "greeting_title": "友だち追加ありがとうございます！",
    "greeting_body": (
        "{shop_name}の公式アカウントです。お問い合わせはこのトークにメッセージを送ってください。"
        "担当者がお返事します。"
    ),
    "greeting_help_label": "できること",
    "help": (
        "このアカウントでできること:\n"
        "・メッセージを送る → 担当者が確認してお返事します\n"
        "・写真やスタンプもそのまま送れます\n"
        "・「ヘルプ」と送る → この案内を表示します"
    ),
    "ack": "メッセージを受け付けました。担当者より順にお返事しますので、少々お待ちください。",
    # Flows (surveys): what the bot says around the questions.
    "flow_thanks": "ご回答ありがとうございました！",
    "flow_cancel_label": "やめる",
    "flow_done_label": "決定",
    "flow_cancelled": "回答を中断しました。「再開」と送ると続きから答えられます。",
    "flow_nothing_to_resume": "再開できる回答はありません。",
    "flow_stale_tap": "このボタンは今の質問のものではありません。最新の質問にお答えください。",
    "flow_reask_choice": "すみません、読み取れませんでした。ボタンを押すか、番号でお答えください。",
    "flow_reask_number": "すみません、数字でお答えください。",
    "flow_reask_date": "すみません、日付が読み取れませんでした（例: 2026/4/1、4月1日）。",
    "flow_reask_text": "すみません、長すぎるか空のようです。もう一度お願いします。",
    "flow_reask_media": "いまはアンケートの途中です。文字かボタンでお答えください。",
    "flow_pick_first": "1つ以上選んでから「決定」を押してください。",
    "flow_reminder": "回答の途中です。よろしければ続きにお答えください（「やめる」で終了）。",
    "flow_choice_hint": "ボタンを押すか、番号でお答えください。",
}


class UnknownTextKey(KeyError):
    """No bot text has this key."""


def load_raw_texts(session: Session) -> dict[str, str]:
    """Defaults with the shop's overrides applied, as written (for editing)."""
    overrides = read_setting(session, SETTING_KEY) or {}
    return {**DEFAULT_TEXTS, **{k: v for k, v in overrides.items() if k in DEFAULT_TEXTS}}


def load_texts(session: Session) -> dict[str, str]:
    """Defaults with the shop's overrides applied, `{shop_name}` filled in."""
    texts = load_raw_texts(session)
    shop_name = texts["shop_name"]
    return {key: value.replace("{shop_name}", shop_name) for key, value in texts.items()}


def set_text(session: Session, key: str, value: str | None) -> None:
    """Override one text; None restores the default."""
    if key not in DEFAULT_TEXTS:
        raise UnknownTextKey(key)
    current = dict(read_setting(session, SETTING_KEY) or {})
    if value is None:
        current.pop(key, None)
    else:
        current[key] = value
    write_setting(session, SETTING_KEY, current)
