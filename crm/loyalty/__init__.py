"""Loyalty: stamp cards and coupons, with append-only ledgers (DESIGN "Loyalty ledger").

- `programs`: stamp-card rules and the default program;
- `stamps`: granting, revoking and expiring stamps, cards that roll over, milestone rewards;
- `coupons`: coupon templates, issuing codes, redeeming exactly once, undo, revocation, expiry;
- `counter`: the rotating counter QR and member numbers;
- `reminders`: what is about to expire and who should hear about it;
- `fields`: segment fields; `reports`: the loyalty report's figures;
- `cards`: the stamp card, coupon cards and member card as Flex messages; `notify`: sending them;
- `welcome`: starter stamps and the welcome coupon; `survey_rewards`: a survey's reward coupon.

Other capabilities use these modules' public functions only.
"""
