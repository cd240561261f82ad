"""Short reflections shown with a curated (fallback) verse, per mood and language."""

FALLBACK_REFLECTIONS: dict[str, dict[str, str]] = {
    "joyful": {
        "fr": "Ta joie est un don de Dieu : rends-lui grâce et partage-la autour de toi aujourd'hui.",
        "en": "Your joy is a gift from God: thank him for it and share it with someone today.",
    },
    "sad": {
        "fr": "Dieu est proche des cœurs brisés. Confie-lui ta tristesse, il ne t'abandonne pas.",
        "en": "God is close to the brokenhearted. Bring him your sorrow; he will not leave you.",
    },
    "anxious": {
        "fr": "Dépose tes inquiétudes devant Dieu dans la prière ; sa paix gardera ton cœur.",
        "en": "Lay your worries before God in prayer; his peace will guard your heart.",
    },
    "grateful": {
        "fr": "La reconnaissance ouvre les yeux sur la bonté de Dieu. Compte ses bienfaits aujourd'hui.",
        "en": "Gratitude opens our eyes to God's goodness. Count his blessings today.",
    },
    "lonely": {
        "fr": "Tu n'es jamais seul : le Seigneur marche avec toi à chaque instant de cette journée.",
        "en": "You are never alone: the Lord walks with you through every moment of this day.",
    },
    "stressed": {
        "fr": "Arrête-toi un instant et respire : Dieu porte ce qui te pèse, reçois son repos.",
        "en": "Pause and breathe: God carries what weighs on you; receive his rest.",
    },
    "angry": {
        "fr": "Remets ta colère à Dieu ; il te donne la douceur et la force de pardonner.",
        "en": "Hand your anger to God; he gives you gentleness and the strength to forgive.",
    },
    "hopeful": {
        "fr": "Ton espérance repose sur un Dieu fidèle : avance avec confiance, il tient ses promesses.",
        "en": "Your hope rests on a faithful God: go forward with confidence, he keeps his promises.",
    },
    "default": {
        "fr": "Que cette parole t'accompagne aujourd'hui et te rappelle l'amour fidèle de Dieu.",
        "en": "May this word go with you today and remind you of God's faithful love.",
    },
}


def fallback_reflection(mood: str, language: str) -> str:
    by_language = FALLBACK_REFLECTIONS.get(mood) or FALLBACK_REFLECTIONS["default"]
    return by_language.get(language) or by_language["fr"]
