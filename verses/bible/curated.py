"""Curated fallback verses per mood, in French (Louis Segond 1910) and English (World English Bible).

Each passage is numbered twice: ``book``/``chapter``/``verse_*`` follow the English (WEB) numbering,
``fr_chapter``/``fr_verse_*`` the Louis Segond numbering, which differs in many Psalms.
"""

from __future__ import annotations

from dataclasses import dataclass

from verses.bible.references import passage_key, reference_display

MOODS: tuple[str, ...] = ("joyful", "sad", "anxious", "grateful", "lonely", "stressed", "angry", "hopeful")
DEFAULT_MOOD = "default"


@dataclass(frozen=True)
class CuratedVerse:
    """A short passage with its French (LSG 1910) and English (WEB) text and numbering."""

    book: int
    chapter: int
    verse_start: int
    verse_end: int
    fr_chapter: int
    fr_verse_start: int
    fr_verse_end: int
    text_fr: str
    text_en: str

    @property
    def key(self) -> str:
        """Stable identifier from the English numbering, e.g. "19:023:001-004"."""
        return passage_key(book=self.book, chapter=self.chapter, verse_start=self.verse_start, verse_end=self.verse_end)

    def reference(self, language: str) -> str:
        """Display reference: LSG numbering for "fr", WEB numbering otherwise."""
        if language == "fr":
            return reference_display(
                book=self.book,
                chapter=self.fr_chapter,
                verse_start=self.fr_verse_start,
                verse_end=self.fr_verse_end,
                language="fr",
            )
        return reference_display(
            book=self.book,
            chapter=self.chapter,
            verse_start=self.verse_start,
            verse_end=self.verse_end,
            language=language,
        )

    def numbering(self, language: str) -> tuple[int, int, int]:
        """(chapter, first verse, last verse) in the language's edition."""
        if language == "fr":
            return self.fr_chapter, self.fr_verse_start, self.fr_verse_end
        return self.chapter, self.verse_start, self.verse_end

    def text(self, language: str) -> str:
        """Verse text in French for "fr", English otherwise."""
        return self.text_fr if language == "fr" else self.text_en


def _v(
    book: int,
    chapter: int,
    verse_start: int,
    verse_end: int,
    fr_chapter: int,
    fr_verse_start: int,
    fr_verse_end: int,
    text_fr: str,
    text_en: str,
) -> CuratedVerse:
    """Compact positional constructor for the table below."""
    return CuratedVerse(
        book, chapter, verse_start, verse_end, fr_chapter, fr_verse_start, fr_verse_end, text_fr, text_en
    )


# _v(book, chapter, verse_start, verse_end, fr_chapter, fr_verse_start, fr_verse_end, text_fr, text_en)
# The comment on each entry gives the English (WEB) reference.
CURATED_VERSES: dict[str, tuple[CuratedVerse, ...]] = {
    "joyful": (
        _v(
            19,
            118,
            24,
            24,
            118,
            24,
            24,  # Psalm 118:24
            "C'est ici la journée que l'Éternel a faite: Qu'elle soit pour nous un sujet d'allégresse et de joie!",
            "This is the day that Yahweh has made. We will rejoice and be glad in it!",
        ),
        _v(
            16,
            8,
            10,
            10,
            8,
            10,
            10,  # Nehemiah 8:10
            "Ils leur dirent: Allez, mangez des viandes grasses et buvez des liqueurs douces, et envoyez des portions à ceux qui n'ont rien de préparé, car ce jour est consacré à notre Seigneur; ne vous affligez pas, car la joie de l'Éternel sera votre force.",
            "Then he said to them, Go your way, eat the fat, and drink the sweet, and send portions to him for whom nothing is prepared; for this day is holy to our Lord: neither be you grieved; for the joy of Yahweh is your strength.",
        ),
        _v(
            50,
            4,
            4,
            4,
            4,
            4,
            4,  # Philippians 4:4
            "Réjouissez-vous toujours dans le Seigneur; je le répète, réjouissez-vous.",
            "Rejoice in the Lord always. Again I will say, Rejoice!",
        ),
        _v(
            19,
            16,
            11,
            11,
            16,
            11,
            11,  # Psalm 16:11
            "Tu me feras connaître le sentier de la vie; Il y a d'abondantes joies devant ta face, Des délices éternelles à ta droite.",
            "You will show me the path of life. In your presence is fullness of joy. In your right hand there are pleasures forevermore.",
        ),
        _v(
            43,
            15,
            11,
            11,
            15,
            11,
            11,  # John 15:11
            "Je vous ai dit ces choses, afin que ma joie soit en vous, et que votre joie soit parfaite.",
            "I have spoken these things to you, that my joy may be in you, and that your joy may be made full.",
        ),
        _v(
            36,
            3,
            17,
            17,
            3,
            17,
            17,  # Zephaniah 3:17
            "L'Éternel, ton Dieu, est au milieu de toi, comme un héros qui sauve; Il fera de toi sa plus grande joie; Il gardera le silence dans son amour; Il aura pour toi des transports d'allégresse.",
            "Yahweh, your God, is in the midst of you, a mighty one who will save. He will rejoice over you with joy. He will rest in his love. He will rejoice over you with singing.",
        ),
        _v(
            19,
            126,
            3,
            3,
            126,
            3,
            3,  # Psalm 126:3
            "L'Éternel a fait pour nous de grandes choses; Nous sommes dans la joie.",
            "Yahweh has done great things for us, And we are glad.",
        ),
        _v(
            23,
            61,
            10,
            10,
            61,
            10,
            10,  # Isaiah 61:10
            "Je me réjouirai en l'Éternel, Mon âme sera ravie d'allégresse en mon Dieu; Car il m'a revêtu des vêtements du salut, Il m'a couvert du manteau de la délivrance, Comme le fiancé s'orne d'un diadème, Comme la fiancée se pare de ses joyaux.",
            "I will greatly rejoice in Yahweh, my soul shall be joyful in my God; for he has clothed me with the garments of salvation, he has covered me with the robe of righteousness, as a bridegroom decks himself with a garland, and as a bride adorns herself with her jewels.",
        ),
        _v(
            20,
            17,
            22,
            22,
            17,
            22,
            22,  # Proverbs 17:22
            "Un coeur joyeux est un bon remède, Mais un esprit abattu dessèche les os.",
            "A cheerful heart makes good medicine, But a crushed spirit dries up the bones.",
        ),
        _v(
            35,
            3,
            17,
            18,
            3,
            17,
            18,  # Habakkuk 3:17-18
            "Car le figuier ne fleurira pas, La vigne ne produira rien, Le fruit de l'olivier manquera, Les champs ne donneront pas de nourriture; Les brebis disparaîtront du pâturage, Et il n'y aura plus de boeufs dans les étables. Toutefois, je veux me réjouir en l'Éternel, Je veux me réjouir dans le Dieu de mon salut.",
            "For though the fig tree doesn't flourish, Nor fruit be in the vines; The labor of the olive fails, The fields yield no food; The flocks are cut off from the fold, And there is no herd in the stalls: Yet I will rejoice in Yahweh. I will be joyful in the God of my salvation!",
        ),
    ),
    "sad": (
        _v(
            19,
            34,
            18,
            18,
            34,
            19,
            19,  # Psalm 34:18
            "L'Éternel est près de ceux qui ont le coeur brisé, Et il sauve ceux qui ont l'esprit dans l'abattement.",
            "Yahweh is near to those who have a broken heart, And saves those who have a crushed spirit.",
        ),
        _v(
            40,
            5,
            4,
            4,
            5,
            4,
            4,  # Matthew 5:4
            "Heureux les affligés, car ils seront consolés!",
            '"Blessed are those who mourn, for they shall be comforted.',
        ),
        _v(
            19,
            147,
            3,
            3,
            147,
            3,
            3,  # Psalm 147:3
            "Il guérit ceux qui ont le coeur brisé, Et il panse leurs blessures.",
            "He heals the broken in heart, And binds up their wounds.",
        ),
        _v(
            66,
            21,
            4,
            4,
            21,
            4,
            4,  # Revelation 21:4
            "Il essuiera toute larme de leurs yeux, et la mort ne sera plus, et il n'y aura plus ni deuil, ni cri, ni douleur, car les premières choses ont disparu.",
            "He will wipe away every tear from their eyes. Death will be no more; neither will there be mourning, nor crying, nor pain, any more. The first things have passed away.",
        ),
        _v(
            19,
            30,
            5,
            5,
            30,
            6,
            6,  # Psalm 30:5
            "Car sa colère dure un instant, Mais sa grâce toute la vie; Le soir arrivent les pleurs, Et le matin l'allégresse.",
            "For his anger is but for a moment; His favor is for a lifetime. Weeping may stay for the night, But joy comes in the morning.",
        ),
        _v(
            47,
            1,
            3,
            4,
            1,
            3,
            4,  # 2 Corinthians 1:3-4
            "Béni soit Dieu, le Père de notre Seigneur Jésus Christ, le Père des miséricordes et le Dieu de toute consolation, qui nous console dans toutes nos afflictions, afin que, par la consolation dont nous sommes l'objet de la part de Dieu, nous puissions consoler ceux qui se trouvent dans quelque l'affliction!",
            "Blessed be the God and Father of our Lord Jesus Christ, the Father of mercies and God of all comfort; who comforts us in all our affliction, that we may be able to comfort those who are in any affliction, through the comfort with which we ourselves are comforted by God.",
        ),
        _v(
            19,
            42,
            11,
            11,
            42,
            12,
            12,  # Psalm 42:11
            "Pourquoi t'abats-tu, mon âme, et gémis-tu au dedans de moi? Espère en Dieu, car je le louerai encore; Il est mon salut et mon Dieu.",
            "Why are you in despair, my soul? Why are you disturbed within me? Hope in God! For I shall still praise him, The saving help of my countenance, and my God.",
        ),
        _v(
            19,
            73,
            26,
            26,
            73,
            26,
            26,  # Psalm 73:26
            "Ma chair et mon coeur peuvent se consumer: Dieu sera toujours le rocher de mon coeur et mon partage.",
            "My flesh and my heart fails, But God is the strength of my heart and my portion forever.",
        ),
        _v(
            19,
            126,
            5,
            5,
            126,
            5,
            5,  # Psalm 126:5
            "Ceux qui sèment avec larmes Moissonneront avec chants d'allégresse.",
            "Those who sow in tears will reap in joy.",
        ),
        _v(
            43,
            16,
            33,
            33,
            16,
            33,
            33,  # John 16:33
            "Je vous ai dit ces choses, afin que vous ayez la paix en moi. Vous aurez des tribulations dans le monde; mais prenez courage, j'ai vaincu le monde.",
            'I have told you these things, that in me you may have peace. In the world you have oppression; but cheer up! I have overcome the world."',
        ),
    ),
    "anxious": (
        _v(
            50,
            4,
            6,
            7,
            4,
            6,
            7,  # Philippians 4:6-7
            "Ne vous inquiétez de rien; mais en toute chose faites connaître vos besoins à Dieu par des prières et des supplications, avec des actions de grâces. Et la paix de Dieu, qui surpasse toute intelligence, gardera vos coeurs et vos pensées en Jésus Christ.",
            "In nothing be anxious, but in everything, by prayer and petition with thanksgiving, let your requests be made known to God. The peace of God, which passes all understanding, will guard your hearts and your thoughts in Christ Jesus.",
        ),
        _v(
            60,
            5,
            7,
            7,
            5,
            7,
            7,  # 1 Peter 5:7
            "et déchargez-vous sur lui de tous vos soucis, car lui-même prend soin de vous.",
            "casting all your worries on him, because he cares for you.",
        ),
        _v(
            40,
            6,
            34,
            34,
            6,
            34,
            34,  # Matthew 6:34
            "Ne vous inquiétez donc pas du lendemain; car le lendemain aura soin de lui-même. A chaque jour suffit sa peine.",
            "Therefore don't be anxious for tomorrow, for tomorrow will be anxious for itself. Each day's own evil is sufficient.",
        ),
        _v(
            23,
            41,
            10,
            10,
            41,
            10,
            10,  # Isaiah 41:10
            "Ne crains rien, car je suis avec toi; Ne promène pas des regards inquiets, car je suis ton Dieu; Je te fortifie, je viens à ton secours, Je te soutiens de ma droite triomphante.",
            "Don't you be afraid, for I am with you; don't be dismayed, for I am your God; I will strengthen you; yes, I will help you; yes, I will uphold you with the right hand of my righteousness.",
        ),
        _v(
            43,
            14,
            27,
            27,
            14,
            27,
            27,  # John 14:27
            "Je vous laisse la paix, je vous donne ma paix. Je ne vous donne pas comme le monde donne. Que votre coeur ne se trouble point, et ne s'alarme point.",
            "Peace I leave with you. My peace I give to you; not as the world gives, give I to you. Don't let your heart be troubled, neither let it be fearful.",
        ),
        _v(
            19,
            94,
            19,
            19,
            94,
            19,
            19,  # Psalm 94:19
            "Quand les pensées s'agitent en foule au dedans de moi, Tes consolations réjouissent mon âme.",
            "In the multitude of my thoughts within me, Your comforts delight my soul.",
        ),
        _v(
            19,
            56,
            3,
            3,
            56,
            4,
            4,  # Psalm 56:3
            "Quand je suis dans la crainte, En toi je me confie.",
            "When I am afraid, I will put my trust in you.",
        ),
        _v(
            6,
            1,
            9,
            9,
            1,
            9,
            9,  # Joshua 1:9
            "Ne t'ai-je pas donné cet ordre: Fortifie-toi et prends courage? Ne t'effraie point et ne t'épouvante point, car l'Éternel, ton Dieu, est avec toi dans tout ce que tu entreprendras.",
            "Haven't I commanded you? Be strong and of good courage; don't be afraid, neither be dismayed: for Yahweh your God is with you wherever you go.",
        ),
        _v(
            19,
            23,
            4,
            4,
            23,
            4,
            4,  # Psalm 23:4
            "Quand je marche dans la vallée de l'ombre de la mort, Je ne crains aucun mal, car tu es avec moi: Ta houlette et ton bâton me rassurent.",
            "Even though I walk through the valley of the shadow of death, I will fear no evil, for you are with me. Your rod and your staff, they comfort me.",
        ),
        _v(
            55,
            1,
            7,
            7,
            1,
            7,
            7,  # 2 Timothy 1:7
            "Car ce n'est pas un esprit de timidité que Dieu nous a donné, mais un esprit de force, d'amour et de sagesse.",
            "For God didn't give us a spirit of fear, but of power and love and discipline.",
        ),
    ),
    "grateful": (
        _v(
            52,
            5,
            16,
            18,
            5,
            16,
            18,  # 1 Thessalonians 5:16-18
            "Soyez toujours joyeux. Priez sans cesse. Rendez grâces en toutes choses, car c'est à votre égard la volonté de Dieu en Jésus Christ.",
            "Rejoice always. Pray without ceasing. In everything give thanks, for this is the will of God in Christ Jesus toward you.",
        ),
        _v(
            19,
            107,
            1,
            1,
            107,
            1,
            1,  # Psalm 107:1
            "Louez l'Éternel, car il est bon, Car sa miséricorde dure à toujours!",
            "Give thanks to Yahweh, For he is good, For his lovingkindness endures forever.",
        ),
        _v(
            19,
            100,
            4,
            5,
            100,
            4,
            5,  # Psalm 100:4-5
            "Entrez dans ses portes avec des louanges, Dans ses parvis avec des cantiques! Célébrez-le, bénissez son nom! Car l'Éternel est bon; sa bonté dure toujours, Et sa fidélité de génération en génération.",
            "Enter into his gates with thanksgiving, Into his courts with praise. Give thanks to him, and bless his name. For Yahweh is good. His lovingkindness endures forever, His faithfulness to all generations.",
        ),
        _v(
            51,
            3,
            17,
            17,
            3,
            17,
            17,  # Colossians 3:17
            "Et quoi que vous fassiez, en parole ou en oeuvre, faites tout au nom du Seigneur Jésus, en rendant par lui des actions de grâces à Dieu le Père.",
            "Whatever you do, in word or in deed, do all in the name of the Lord Jesus, giving thanks to God, the Father, through him.",
        ),
        _v(
            59,
            1,
            17,
            17,
            1,
            17,
            17,  # James 1:17
            "toute grâce excellente et tout don parfait descendent d'en haut, du Père des lumières, chez lequel il n'y a ni changement ni ombre de variation.",
            "Every good gift and every perfect gift is from above, coming down from the Father of lights, with whom can be no variation, nor turning shadow.",
        ),
        _v(
            19,
            28,
            7,
            7,
            28,
            7,
            7,  # Psalm 28:7
            "L'Éternel est ma force et mon bouclier; En lui mon coeur se confie, et je suis secouru; J'ai de l'allégresse dans le coeur, Et je le loue par mes chants.",
            "Yahweh is my strength and my shield. My heart has trusted in him, and I am helped. Therefore my heart greatly rejoices. With my song I will thank him.",
        ),
        _v(
            19,
            136,
            1,
            1,
            136,
            1,
            1,  # Psalm 136:1
            "Louez l'Éternel, car il est bon, Car sa miséricorde dure à toujours!",
            "Give thanks to Yahweh, for he is good; For his lovingkindness endures forever.",
        ),
        _v(
            19,
            9,
            1,
            1,
            9,
            2,
            2,  # Psalm 9:1
            "Je louerai l'Éternel de tout mon coeur, Je raconterai toutes tes merveilles.",
            "I will give thanks to Yahweh with my whole heart. I will tell of all your marvelous works.",
        ),
        _v(
            49,
            5,
            20,
            20,
            5,
            20,
            20,  # Ephesians 5:20
            "rendez continuellement grâces pour toutes choses à Dieu le Père, au nom de notre Seigneur Jésus Christ,",
            "giving thanks always for all things in the name of our Lord, Jesus Christ, to God, even the Father;",
        ),
        _v(
            47,
            9,
            15,
            15,
            9,
            15,
            15,  # 2 Corinthians 9:15
            "Grâces soient rendues à Dieu pour son don ineffable!",
            "Thanks be to God for his unspeakable gift!",
        ),
    ),
    "lonely": (
        _v(
            5,
            31,
            8,
            8,
            31,
            8,
            8,  # Deuteronomy 31:8
            "L'Éternel marchera lui-même devant toi, il sera lui-même avec toi, il ne te délaissera point, il ne t'abandonnera point; ne crains point, et ne t'effraie point.",
            "Yahweh, he it is who does go before you; he will be with you, he will not fail you, neither forsake you: don't be afraid, neither be dismayed.",
        ),
        _v(
            19,
            68,
            6,
            6,
            68,
            7,
            7,  # Psalm 68:6
            "Dieu donne une famille à ceux qui étaient abandonnés, Il délivre les captifs et les rend heureux; Les rebelles seuls habitent des lieux arides.",
            "God sets the lonely in families. He brings out the prisoners with singing, But the rebellious dwell in a sun-scorched land.",
        ),
        _v(
            58,
            13,
            5,
            5,
            13,
            5,
            5,  # Hebrews 13:5
            "Ne vous livrez pas à l'amour de l'argent; contentez-vous de ce que vous avez; car Dieu lui-même a dit: Je ne te délaisserai point, et je ne t'abandonnerai point.",
            'Be free from the love of money, content with such things as you have, for he has said, "I will in no way leave you, neither will I in any way forsake you."',
        ),
        _v(
            40,
            28,
            20,
            20,
            28,
            20,
            20,  # Matthew 28:20
            "et enseignez-leur à observer tout ce que je vous ai prescrit. Et voici, je suis avec vous tous les jours, jusqu'à la fin du monde.",
            'teaching them to observe all things which I commanded you. Behold, I am with you always, even to the end of the age." Amen.',
        ),
        _v(
            19,
            27,
            10,
            10,
            27,
            10,
            10,  # Psalm 27:10
            "Car mon père et ma mère m'abandonnent, Mais l'Éternel me recueillera.",
            "When my father and my mother forsake me, Then Yahweh will take me up.",
        ),
        _v(
            23,
            43,
            2,
            2,
            43,
            2,
            2,  # Isaiah 43:2
            "Si tu traverses les eaux, je serai avec toi; Et les fleuves, ils ne te submergeront point; Si tu marches dans le feu, tu ne te brûleras pas, Et la flamme ne t'embrasera pas.",
            "When you pass through the waters, I will be with you; and through the rivers, they shall not overflow you: when you walk through the fire, you shall not be burned, neither shall the flame kindle on you.",
        ),
        _v(
            19,
            139,
            9,
            10,
            139,
            9,
            10,  # Psalm 139:9-10
            "Si je prends les ailes de l'aurore, Et que j'aille habiter à l'extrémité de la mer, Là aussi ta main me conduira, Et ta droite me saisira.",
            "If I take the wings of the dawn, And settle in the uttermost parts of the sea; Even there your hand will lead me, And your right hand will hold me.",
        ),
        _v(
            43,
            14,
            18,
            18,
            14,
            18,
            18,  # John 14:18
            "Je ne vous laisserai pas orphelins, je viendrai à vous.",
            "I will not leave you orphans. I will come to you.",
        ),
        _v(
            45,
            8,
            38,
            39,
            8,
            38,
            39,  # Romans 8:38-39
            "Car j'ai l'assurance que ni la mort ni la vie, ni les anges ni les dominations, ni les choses présentes ni les choses à venir, ni les puissances, ni la hauteur, ni la profondeur, ni aucune autre créature ne pourra nous séparer de l'amour de Dieu manifesté en Jésus Christ notre Seigneur.",
            "For I am persuaded, that neither death, nor life, nor angels, nor principalities, nor things present, nor things to come, nor powers, nor height, nor depth, nor any other creature, will be able to separate us from the love of God, which is in Christ Jesus our Lord.",
        ),
        _v(
            23,
            49,
            15,
            15,
            49,
            15,
            15,  # Isaiah 49:15
            "Une femme oublie-t-elle l'enfant qu'elle allaite? N'a-t-elle pas pitié du fruit de ses entrailles? Quand elle l'oublierait, Moi je ne t'oublierai point.",
            "Can a woman forget her sucking child, that she should not have compassion on the son of her womb? yes, these may forget, yet I will not forget you.",
        ),
        _v(
            19,
            25,
            16,
            16,
            25,
            16,
            16,  # Psalm 25:16
            "Regarde-moi et aie pitié de moi, Car je suis abandonné et malheureux.",
            "Turn to me, and have mercy on me, For I am desolate and afflicted.",
        ),
    ),
    "stressed": (
        _v(
            40,
            11,
            28,
            30,
            11,
            28,
            30,  # Matthew 11:28-30
            "Venez à moi, vous tous qui êtes fatigués et chargés, et je vous donnerai du repos. Prenez mon joug sur vous et recevez mes instructions, car je suis doux et humble de coeur; et vous trouverez du repos pour vos âmes. Car mon joug est doux, et mon fardeau léger.",
            '"Come to me, all you who labor and are heavily burdened, and I will give you rest. Take my yoke on you, and learn from me, for I am humble and lowly in heart; and you will find rest for your souls. For my yoke is easy, and my burden is light."',
        ),
        _v(
            19,
            55,
            22,
            22,
            55,
            23,
            23,  # Psalm 55:22
            "Remets ton sort à l'Éternel, et il te soutiendra, Il ne laissera jamais chanceler le juste.",
            "Cast your burden on Yahweh, and he will sustain you. He will never allow the righteous to be moved.",
        ),
        _v(
            23,
            40,
            29,
            31,
            40,
            29,
            31,  # Isaiah 40:29-31
            "Il donne de la force à celui qui est fatigué, Et il augmente la vigueur de celui qui tombe en défaillance. Les adolescents se fatiguent et se lassent, Et les jeunes hommes chancellent; Mais ceux qui se confient en l'Éternel renouvellent leur force. Ils prennent le vol comme les aigles; Ils courent, et ne se lassent point, Ils marchent, et ne se fatiguent point.",
            "He gives power to the faint; and to him who has no might he increases strength. Even the youths shall faint and be weary, and the young men shall utterly fall: but those who wait for Yahweh shall renew their strength; they shall mount up with wings as eagles; they shall run, and not be weary; they shall walk, and not faint.",
        ),
        _v(
            47,
            12,
            9,
            9,
            12,
            9,
            9,  # 2 Corinthians 12:9
            "et il m'a dit: Ma grâce te suffit, car ma puissance s'accomplit dans la faiblesse. Je me glorifierai donc bien plus volontiers de mes faiblesses, afin que la puissance de Christ repose sur moi.",
            'He has said to me, "My grace is sufficient for you, for my power is made perfect in weakness." Most gladly therefore will I rather glory in my weaknesses, that the power of Christ may rest on me.',
        ),
        _v(
            19,
            46,
            1,
            1,
            46,
            2,
            2,  # Psalm 46:1
            "Dieu est pour nous un refuge et un appui, Un secours qui ne manque jamais dans la détresse.",
            "God is our refuge and strength, A very present help in trouble.",
        ),
        _v(
            23,
            26,
            3,
            3,
            26,
            3,
            3,  # Isaiah 26:3
            "A celui qui est ferme dans ses sentiments Tu assures la paix, la paix, Parce qu'il se confie en toi.",
            "You will keep him in perfect peace, whose mind is stayed on you; because he trusts in you.",
        ),
        _v(
            2,
            14,
            14,
            14,
            14,
            14,
            14,  # Exodus 14:14
            "L'Éternel combattra pour vous; et vous, gardez le silence.",
            'Yahweh will fight for you, and you shall be still."',
        ),
        _v(
            19,
            4,
            8,
            8,
            4,
            9,
            9,  # Psalm 4:8
            "Je me couche et je m'endors en paix, Car toi seul, ô Éternel! tu me donnes la sécurité dans ma demeure.",
            "In peace I will both lay myself down and sleep, For you, Yahweh alone, make me live in safety.",
        ),
        _v(
            19,
            62,
            5,
            5,
            62,
            6,
            6,  # Psalm 62:5
            "Oui, mon âme, confie-toi en Dieu! Car de lui vient mon espérance.",
            "My soul, wait in silence for God alone, For my expectation is from him.",
        ),
    ),
    "angry": (
        _v(
            49,
            4,
            26,
            27,
            4,
            26,
            27,  # Ephesians 4:26-27
            "Si vous vous mettez en colère, ne péchez point; que le soleil ne se couche pas sur votre colère, et ne donnez pas accès au diable.",
            "\"Be angry, and don't sin.\" Don't let the sun go down on your wrath, neither give place to the devil.",
        ),
        _v(
            59,
            1,
            19,
            20,
            1,
            19,
            20,  # James 1:19-20
            "Sachez-le, mes frères bien-aimés. Ainsi, que tout homme soit prompt à écouter, lent à parler, lent à se mettre en colère; car la colère de l'homme n'accomplit pas la justice de Dieu.",
            "So, then, my beloved brothers, let every man be swift to hear, slow to speak, and slow to anger; for the anger of man doesn't produce the righteousness of God.",
        ),
        _v(
            20,
            15,
            1,
            1,
            15,
            1,
            1,  # Proverbs 15:1
            "Une réponse douce calme la fureur, Mais une parole dure excite la colère.",
            "A gentle answer turns away wrath, But a harsh word stirs up anger.",
        ),
        _v(
            49,
            4,
            31,
            32,
            4,
            31,
            32,  # Ephesians 4:31-32
            "Que toute amertume, toute animosité, toute colère, toute clameur, toute calomnie, et toute espèce de méchanceté, disparaissent du milieu de vous. Soyez bons les uns envers les autres, compatissants, vous pardonnant réciproquement, comme Dieu vous a pardonné en Christ.",
            "Let all bitterness, wrath, anger, outcry, and slander, be put away from you, with all malice. Be kind to one another, tenderhearted, forgiving each other, just as God also in Christ forgave you.",
        ),
        _v(
            20,
            29,
            11,
            11,
            29,
            11,
            11,  # Proverbs 29:11
            "L'insensé met en dehors toute sa passion, Mais le sage la contient.",
            "A fool vents all of his anger, But a wise man brings himself under control.",
        ),
        _v(
            51,
            3,
            13,
            13,
            3,
            13,
            13,  # Colossians 3:13
            "Supportez-vous les uns les autres, et, si l'un a sujet de se plaindre de l'autre, pardonnez-vous réciproquement. De même que Christ vous a pardonné, pardonnez-vous aussi.",
            "bearing with one another, and forgiving each other, if any man has a complaint against any; even as the Lord forgave you, so also do.",
        ),
        _v(
            19,
            37,
            8,
            8,
            37,
            8,
            8,  # Psalm 37:8
            "Laisse la colère, abandonne la fureur; Ne t'irrite pas, ce serait mal faire.",
            "Cease from anger, and forsake wrath. Don't fret, it leads only to evildoing.",
        ),
        _v(
            45,
            12,
            21,
            21,
            12,
            21,
            21,  # Romans 12:21
            "Ne te laisse pas vaincre par le mal, mais surmonte le mal par le bien.",
            "Don't be overcome by evil, but overcome evil with good.",
        ),
        _v(
            20,
            16,
            32,
            32,
            16,
            32,
            32,  # Proverbs 16:32
            "Celui qui est lent à la colère vaut mieux qu'un héros, Et celui qui est maître de lui-même, que celui qui prend des villes.",
            "One who is slow to anger is better than the mighty; One who rules his spirit, than he who takes a city.",
        ),
        _v(
            21,
            7,
            9,
            9,
            7,
            9,
            9,  # Ecclesiastes 7:9
            "Ne te hâte pas en ton esprit de t'irriter, car l'irritation repose dans le sein des insensés.",
            "Don't be hasty in your spirit to be angry, for anger rests in the bosom of fools.",
        ),
    ),
    "hopeful": (
        _v(
            24,
            29,
            11,
            11,
            29,
            11,
            11,  # Jeremiah 29:11
            "Car je connais les projets que j'ai formés sur vous, dit l'Éternel, projets de paix et non de malheur, afin de vous donner un avenir et de l'espérance.",
            "For I know the thoughts that I think toward you, says Yahweh, thoughts of peace, and not of evil, to give you hope in your latter end.",
        ),
        _v(
            45,
            15,
            13,
            13,
            15,
            13,
            13,  # Romans 15:13
            "Que le Dieu de l'espérance vous remplisse de toute joie et de toute paix dans la foi, pour que vous abondiez en espérance, par la puissance du Saint Esprit!",
            "Now may the God of hope fill you with all joy and peace in believing, that you may abound in hope, in the power of the Holy Spirit.",
        ),
        _v(
            25,
            3,
            22,
            23,
            3,
            22,
            23,  # Lamentations 3:22-23
            "Les bontés de l'Éternel ne sont pas épuisés, Ses compassions ne sont pas à leur terme; Elles se renouvellent chaque matin. Oh! que ta fidélité est grande!",
            "It is of Yahweh's lovingkindnesses that we are not consumed, because his compassion doesn't fail. They are new every morning; great is your faithfulness.",
        ),
        _v(
            45,
            8,
            28,
            28,
            8,
            28,
            28,  # Romans 8:28
            "Nous savons, du reste, que toutes choses concourent au bien de ceux qui aiment Dieu, de ceux qui sont appelés selon son dessein.",
            "We know that all things work together for good for those who love God, to those who are called according to his purpose.",
        ),
        _v(
            58,
            11,
            1,
            1,
            11,
            1,
            1,  # Hebrews 11:1
            "Or la foi est une ferme assurance des choses qu'on espère, une démonstration de celles qu'on ne voit pas.",
            "Now faith is assurance of things hoped for, proof of things not seen.",
        ),
        _v(
            45,
            5,
            5,
            5,
            5,
            5,
            5,  # Romans 5:5
            "Or, l'espérance ne trompe point, parce que l'amour de Dieu est répandu dans nos coeurs par le Saint Esprit qui nous a été donné.",
            "and hope doesn't disappoint us, because God's love has been poured out into our hearts through the Holy Spirit which was given to us.",
        ),
        _v(
            19,
            31,
            24,
            24,
            31,
            25,
            25,  # Psalm 31:24
            "Fortifiez-vous et que votre coeur s'affermisse, Vous tous qui espérez en l'Éternel!",
            "Be strong, and let your heart take courage, All you who hope in Yahweh.",
        ),
        _v(
            23,
            43,
            19,
            19,
            43,
            19,
            19,  # Isaiah 43:19
            "Voici, je vais faire une chose nouvelle, sur le point d'arriver: Ne la connaîtrez-vous pas? Je mettrai un chemin dans le désert, Et des fleuves dans la solitude.",
            "Behold, I will do a new thing; now shall it spring forth; shall you not know it? I will even make a way in the wilderness, and rivers in the desert.",
        ),
        _v(
            58,
            10,
            23,
            23,
            10,
            23,
            23,  # Hebrews 10:23
            "Retenons fermement la profession de notre espérance, car celui qui a fait la promesse est fidèle.",
            "let us hold fast the confession of our hope unyieldingly. For he who promised is faithful.",
        ),
        _v(
            19,
            130,
            5,
            5,
            130,
            5,
            5,  # Psalm 130:5
            "J'espère en l'Éternel, mon âme espère, Et j'attends sa promesse.",
            "I wait for Yahweh. My soul waits. I hope in his word.",
        ),
        _v(
            45,
            12,
            12,
            12,
            12,
            12,
            12,  # Romans 12:12
            "Réjouissez-vous en espérance. Soyez patients dans l'affliction. Persévérez dans la prière.",
            "rejoicing in hope; enduring in oppression; continuing steadfastly in prayer;",
        ),
    ),
    "default": (
        _v(
            43,
            3,
            16,
            16,
            3,
            16,
            16,  # John 3:16
            "Car Dieu a tant aimé le monde qu'il a donné son Fils unique, afin que quiconque croit en lui ne périsse point, mais qu'il ait la vie éternelle.",
            "For God so loved the world, that he gave his one and only Son, that whoever believes in him should not perish, but have eternal life.",
        ),
        _v(
            19,
            23,
            1,
            1,
            23,
            1,
            1,  # Psalm 23:1
            "Cantique de David. L'Éternel est mon berger: je ne manquerai de rien.",
            "Yahweh is my shepherd: I shall lack nothing.",
        ),
        _v(
            20,
            3,
            5,
            6,
            3,
            5,
            6,  # Proverbs 3:5-6
            "Confie-toi en l'Éternel de tout ton coeur, Et ne t'appuie pas sur ta sagesse; Reconnais-le dans toutes tes voies, Et il aplanira tes sentiers.",
            "Trust in Yahweh with all your heart, And don't lean on your own understanding. In all your ways acknowledge him, And he will direct your paths.",
        ),
        _v(
            50,
            4,
            13,
            13,
            4,
            13,
            13,  # Philippians 4:13
            "Je puis tout par celui qui me fortifie.",
            "I can do all things through Christ, who strengthens me.",
        ),
        _v(
            19,
            119,
            105,
            105,
            119,
            105,
            105,  # Psalm 119:105
            "Ta parole est une lampe à mes pieds, Et une lumière sur mon sentier.",
            "Your word is a lamp to my feet, And a light for my path.",
        ),
        _v(
            40,
            6,
            33,
            33,
            6,
            33,
            33,  # Matthew 6:33
            "Cherchez premièrement le royaume et la justice de Dieu; et toutes ces choses vous seront données par-dessus.",
            "But seek first God's Kingdom, and his righteousness; and all these things will be added to you.",
        ),
        _v(
            47,
            5,
            17,
            17,
            5,
            17,
            17,  # 2 Corinthians 5:17
            "Si quelqu'un est en Christ, il est une nouvelle créature. Les choses anciennes sont passées; voici, toutes choses sont devenues nouvelles.",
            "Therefore if anyone is in Christ, he is a new creation. The old things have passed away. Behold, they have become new.",
        ),
        _v(
            33,
            6,
            8,
            8,
            6,
            8,
            8,  # Micah 6:8
            "On t'a fait connaître, ô homme, ce qui est bien; Et ce que l'Éternel demande de toi, C'est que tu pratiques la justice, Que tu aimes la miséricorde, Et que tu marches humblement avec ton Dieu.",
            "He has showed you, man, what is good; and what does Yahweh require of you, but to do justly, and to love kindness, and to walk humbly with your God?",
        ),
        _v(
            24,
            29,
            11,
            11,
            29,
            11,
            11,  # Jeremiah 29:11
            "Car je connais les projets que j'ai formés sur vous, dit l'Éternel, projets de paix et non de malheur, afin de vous donner un avenir et de l'espérance.",
            "For I know the thoughts that I think toward you, says Yahweh, thoughts of peace, and not of evil, to give you hope in your latter end.",
        ),
        _v(
            45,
            8,
            28,
            28,
            8,
            28,
            28,  # Romans 8:28
            "Nous savons, du reste, que toutes choses concourent au bien de ceux qui aiment Dieu, de ceux qui sont appelés selon son dessein.",
            "We know that all things work together for good for those who love God, to those who are called according to his purpose.",
        ),
        _v(
            19,
            121,
            7,
            8,
            121,
            7,
            8,  # Psalm 121:7-8
            "L'Éternel te gardera de tout mal, Il gardera ton âme; L'Éternel gardera ton départ et ton arrivée, Dès maintenant et à jamais.",
            "Yahweh will keep you from all evil. He will keep your soul. Yahweh will keep your going out and your coming in, From this time forth, and forevermore.",
        ),
    ),
}


def curated_pool(mood: str) -> tuple[CuratedVerse, ...]:
    """Return the curated verses for a mood, or the default pool for an empty or unknown mood."""
    return CURATED_VERSES.get(mood or DEFAULT_MOOD, CURATED_VERSES[DEFAULT_MOOD])
