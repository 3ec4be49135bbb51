"""From passages to an answer: prompts, drafting, verification, refusal, follow-ups."""
