"""Loyalty: stamp cards and coupons, with append-only ledgers (DESIGN "Loyalty ledger").

- `programs`: stamp-card rules and the default program;
- `stamps`: granting, revoking and expiring stamps, cards that roll over, milestone rewards;
- `coupons`: coupon templates, issuing codes, redeeming exactly once, undo, revocation, expiry;
- `counter`: the rotating counter QR and member numbers;
- `reminders`: what is about to expire and who should hear about it;
- `fields`: segment fields; `reports`: the loyalty report's figures.

Other capabilities use these modules' public functions only.
"""
