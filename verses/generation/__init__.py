"""The verse of the day: one per (day, mood, language), made once and given to the users of the pair."""
