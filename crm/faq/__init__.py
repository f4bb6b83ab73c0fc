"""FAQ: answering customers' common questions in the chat.

- `matching`: normalising Japanese the way customers write it and matching a message against the
  FAQs' example questions: answer, suggest the closest few, or hand over to staff.

FAQ entries (answers, categories, the active flag) and inquiries will join as their own modules.
Other capabilities use these modules' public functions only.
"""
