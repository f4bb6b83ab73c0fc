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
        "・ご質問を送る → よくある質問からすぐにお答えします\n"
        "・「スタッフと話したい」と送る → 担当者が確認してお返事します\n"
        "・「スタンプカード」「クーポン」「会員証」→ それぞれを表示します\n"
        "・「配信設定」→ 受け取るお知らせを選べます（「配信停止」「配信再開」も）\n"
        "・「ヘルプ」と送る → この案内を表示します"
    ),
    "ack": "メッセージを受け付けました。担当者より順にお返事しますので、少々お待ちください。",
    # Loyalty reminders before expiry; {program}, {stamps}, {title} and {date} (shop time) are
    # filled in. A lottery coupon sent by a campaign that did not win says so.
    "loyalty_stamps_expiring": (
        "「{program}」のスタンプ{stamps}個の有効期限は{date}です。"
        "期限を過ぎるとスタンプは失効します。ご来店をお待ちしています！"
    ),
    "loyalty_coupon_expiring": (
        "クーポン「{title}」の有効期限は{date}です。お早めにご利用ください。"
    ),
    "loyalty_coupon_lottery_lost": "残念、はずれでした。またの機会をお楽しみに！",
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
    # Loyalty: stamp cards, coupons, the member card and the counter QR ({…} are filled in).
    "loyalty_stamps_added": "スタンプを{count}個押しました！",
    "loyalty_starter_stamps": "友だち追加の特典です。スタンプを{count}個プレゼント！",
    "loyalty_card_completed": "カード達成、おめでとうございます！",
    "loyalty_next_reward": "あと{left}個で {reward}",
    "loyalty_goal_left": "あと{left}個でカード達成",
    "loyalty_card_full": "カード達成！",
    "loyalty_reward_cell": "特典",
    "loyalty_cards_completed": "これまでに{count}枚達成",
    "loyalty_card_expires": "有効期限 {date}まで",
    "loyalty_expiry_from_last": "最後のスタンプから{days}日間有効",
    "loyalty_expiry_from_first": "最初のスタンプから{days}日間有効",
    "loyalty_per_day": "スタンプは1日{limit}個まで",
    "loyalty_coupons_label": "クーポン",
    "loyalty_member_label": "会員証",
    "loyalty_no_programs": "いまご利用いただけるスタンプカードはありません。",
    "loyalty_no_coupons": "いまお使いいただけるクーポンはありません。",
    "loyalty_coupons_alt": "お使いいただけるクーポン（{count}枚）",
    "loyalty_discount_amount": "{value}円引き",
    "loyalty_discount_percent": "{value}%OFF",
    "loyalty_discount_free_item": "無料",
    "loyalty_coupon_valid_until": "有効期限 {date}まで",
    "loyalty_coupon_no_end": "有効期限なし",
    "loyalty_coupon_valid_from": "{date}から使えます",
    "loyalty_coupon_uses_left": "あと{count}回使えます",
    "loyalty_coupon_from_follow": "友だち追加のお礼のクーポンです",
    "loyalty_coupon_from_survey": "アンケートご回答のお礼のクーポンです",
    "loyalty_coupon_from_reward": "スタンプカード達成のごほうびです",
    "loyalty_coupon_alt": "クーポン: {title}",
    "loyalty_code_label": "クーポンコード",
    "loyalty_coupon_hint": "お会計の際に、この画面をスタッフにお見せください。",
    "loyalty_member_title": "会員証",
    "loyalty_member_name": "{name} 様",
    "loyalty_member_number_label": "会員番号",
    "loyalty_member_hint": "ご来店の際にこのQRコードをスタッフにお見せください。",
    "loyalty_token_used": (
        "このQRコードはすでに使われています。レジに表示されている新しいQRコードを読み取ってください。"
    ),
    "loyalty_token_expired": (
        "QRコードの有効期限が切れています。レジに表示されている新しいQRコードを読み取ってください。"
    ),
    "loyalty_token_invalid": "このQRコードは読み取れませんでした。スタッフにお声がけください。",
    "loyalty_daily_limit": (
        "本日のスタンプはすでに押されています（1日{limit}個まで）。またのご来店をお待ちしています。"
    ),
    "loyalty_too_soon": (
        "前回のスタンプから間もないため押せませんでした。{time}以降にもう一度どうぞ。"
    ),
    "loyalty_program_closed": "このスタンプカードはいまお休み中です。",
    # The preference centre (配信設定); {topic} is filled in. What the customer saw when they
    # changed a setting is kept with the change, so a shop's own wording is what is recorded.
    "preferences_title": "配信設定",
    "preferences_intro": "受け取りたいお知らせを選べます。",
    "preferences_all_stopped": (
        "現在、すべてのお知らせの配信を停止しています。選んだお知らせも届きません。"
    ),
    "preferences_on_state": "配信中",
    "preferences_off_state": "停止中",
    "preferences_turn_off_label": "止める",
    "preferences_turn_on_label": "受け取る",
    "preferences_turn_off_display": "{topic}を受け取らない",
    "preferences_turn_on_display": "{topic}を受け取る",
    "preferences_stop_label": "配信停止",
    "preferences_resume_label": "配信再開",
    "preferences_stop_note": (
        "「配信停止」を押すと、お知らせやクーポンの配信がすべて止まります。"
        "お問い合わせへのお返事は届きます。"
    ),
    "preferences_resume_note": "「配信再開」を押すと、選んだお知らせがまた届くようになります。",
    "preferences_topic_on": "「{topic}」をお届けする設定にしました。",
    "preferences_topic_off": "「{topic}」の配信を止めました。",
    "preferences_stopped": (
        "配信を停止しました。お知らせやクーポンは届きません。"
        "「配信再開」と送ると、いつでも再開できます。"
    ),
    "preferences_resumed": "配信を再開しました。選んだお知らせをお届けします。",
    "preferences_topic_gone": (
        "このお知らせの設定はいまはありません。最新の配信設定をご覧ください。"
    ),
    # FAQ answers, もしかして suggestions, hand-off to staff and the お問い合わせ menu.
    "faq_resolved_label": "解決しました",
    "faq_handoff_label": "スタッフに聞く",
    "faq_suggest_intro": "もしかして、こちらのご質問ですか？",
    "faq_suggest_alt": "もしかして: {questions}",
    "faq_thanks": "お役に立ててよかったです！ほかにもご不明な点があればお送りください。",
    "faq_gone": "この質問の回答はいま公開されていません。ご用件をメッセージでお送りください。",
    "handoff_ack": (
        "担当スタッフにおつなぎします。順にお返事しますので、このトークでご用件をお送りください。"
    ),
    "handoff_already": "担当スタッフが確認中です。お返事まで少々お待ちください。",
    "inquiry_menu_intro": "お問い合わせの内容を選んでください。",
    "inquiry_category_intro": (
        "「{category}」についてのよくある質問です。当てはまるものがなければ、"
        "ご用件をそのままメッセージでお送りください。"
    ),
    "inquiry_category_no_faqs": (
        "「{category}」についてのお問い合わせですね。ご用件をメッセージでお送りください。"
    ),
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
