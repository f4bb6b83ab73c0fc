"""The staff inbox: conversations, customers and the shop's settings, in Japanese and English."""
