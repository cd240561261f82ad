"""The AI that proposes a verse and writes its reflection (Gemini)."""
