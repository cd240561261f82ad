from django.conf import settings
from django.db import models

from verses.bible.references import passage_key


class BibleVerse(models.Model):
    """One verse of an imported edition (French: Louis Segond 1910, `manage.py import_bible`)."""

    edition = models.CharField(max_length=16)
    book = models.PositiveSmallIntegerField(help_text="1-66, Protestant canon order")
    chapter = models.PositiveSmallIntegerField()
    verse = models.PositiveSmallIntegerField()
    text = models.TextField()

    class Meta:
        verbose_name = "verset biblique"
        verbose_name_plural = "versets bibliques"
        constraints = [
            models.UniqueConstraint(fields=["edition", "book", "chapter", "verse"], name="one_text_per_verse"),
        ]

    def __str__(self) -> str:
        return f"{self.edition} {self.book}:{self.chapter}:{self.verse}"


class PairVerseManager(models.Manager):
    """The pairs' current verses: without the provisional fallbacks a few early users were given,
    nor the verses an operator replaced after some users had received them."""

    def get_queryset(self):
        return super().get_queryset().filter(provisional=False, superseded_at__isnull=True)


class VerseOfTheDay(models.Model):
    """The verse shared by every user with one mood and language on one day.

    A *provisional* row is the curated fallback served to the users who asked for their verse
    before the pair's verse was made, while a worker asks the AI (verses.generation.on_demand
    daily_verse_for_user): those users keep it for the day; everyone else gets the pair's verse.
    A *superseded* row is a pair's verse an operator changed (verses/editorial) after some users
    had received it: they keep it; the pair's new row serves everyone else.
    `objects` hides provisional and superseded rows; `all_objects` has every row."""

    class Source(models.TextChoices):
        AI = "ai", "IA"
        FALLBACK = "fallback", "Verset de secours"
        PLAN = "plan", "Plan éditorial"

    day = models.DateField()
    mood = models.CharField(max_length=16, blank=True, help_text="empty: users without a mood")
    language = models.CharField(max_length=2)
    # The passage in the numbering of the language's edition (French: Louis Segond).
    book = models.PositiveSmallIntegerField()
    chapter = models.PositiveSmallIntegerField()
    verse_start = models.PositiveSmallIntegerField()
    verse_end = models.PositiveSmallIntegerField()
    reference = models.CharField(max_length=64)
    text = models.TextField(help_text="always the edition's text, never the model's")
    reflection = models.TextField()
    source = models.CharField(max_length=16, choices=Source.choices)
    ai_failure = models.CharField(max_length=32, blank=True, help_text="why the AI answer was not used")
    provisional = models.BooleanField(default=False, help_text="a fallback served while the AI was asked")
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True, help_text="reviewed by an operator (or planned)")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    superseded_at = models.DateTimeField(
        null=True, blank=True, help_text="replaced by an operator; kept for the users who had received it"
    )

    objects = PairVerseManager()
    all_objects = models.Manager()  # noqa: DJ012

    class Meta:
        verbose_name = "verset du jour (par humeur)"
        verbose_name_plural = "versets du jour (par humeur)"
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "mood", "language"],
                condition=models.Q(provisional=False, superseded_at__isnull=True),
                name="one_current_verse_per_day_mood_language",
            ),
            # Its insert is the single-flight lock of the pair's on-demand AI task.
            models.UniqueConstraint(
                fields=["day", "mood", "language"],
                condition=models.Q(provisional=True),
                name="one_provisional_verse_per_day_mood_language",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.mood or 'default'}/{self.language} {self.reference}"

    @property
    def passage_key(self) -> str:
        return passage_key(book=self.book, chapter=self.chapter, verse_start=self.verse_start, verse_end=self.verse_end)


class DailyVerse(models.Model):
    """The verse one user receives on one day. A narrow row: the content lives in the shared
    VerseOfTheDay. The primary key is (user, day): one index serves uniqueness and lookups by
    user. On PostgreSQL the table is range-partitioned by month (verses/partitions.py) so old
    months are dropped whole.

    No foreign-key constraints in the database (Django still cascades a user's deletion): the
    per-row check locked each user's row and doubled the cost of writing a day (bench/daily_run.py),
    and every row is written joined to its user and its verse, which are never deleted by a raw
    statement."""

    pk = models.CompositePrimaryKey("user_id", "day")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="daily_verses",
        db_index=False,
        db_constraint=False,
    )
    day = models.DateField()
    verse = models.ForeignKey(VerseOfTheDay, on_delete=models.PROTECT, related_name="deliveries", db_constraint=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "verset du jour"
        verbose_name_plural = "versets du jour"
        indexes = [models.Index(fields=["day", "verse"], name="dailyverse_day_verse_idx")]

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.verse_id}"


class DailyVerseRecord(models.Model):
    """DailyVerse as the admin sees it, through a database view with a one-column key
    "<user id>/<day>": Django 5.2's admin refuses models with a composite primary key."""

    id = models.CharField(primary_key=True, max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    day = models.DateField()
    verse = models.ForeignKey(VerseOfTheDay, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    created_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "verses_dailyverse_admin"
        verbose_name = "verset du jour"
        verbose_name_plural = "versets du jour"
        # Not created (unmanaged): tells the admin that (day, user) orders totally.
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="dailyverserecord_user_day")]

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.verse_id}"


class VerseOpen(models.Model):
    """A user opened the push of their verse of `day` (their local date, as the delivery's): at most
    one row per (user, day), the first open's time."""

    pk = models.CompositePrimaryKey("user", "day")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField(db_index=True)
    opened_at = models.DateTimeField()

    class Meta:
        verbose_name = "notification ouverte"
        verbose_name_plural = "notifications ouvertes"

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.user_id.hex[:8]}"


class Delivery(models.Model):
    """The push of one user's verse for one local date: (user, day) is unique, so a user is sent
    at most one verse a day whatever ticks, workers and clusters do."""

    class State(models.TextChoices):
        PENDING = "pending", "En attente"
        SENDING = "sending", "En cours d'envoi"  # claimed by a chunk: handed to FCM, verdict not yet recorded
        SENT = "sent", "Envoyé"
        INVALID_TOKEN = "invalid_token", "Jeton invalide"  # every device of the user was dead
        FAILED = "failed", "Échec"

    # No index of its own: the unique (user, day) index serves lookups by user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    day = models.DateField(help_text="the user's local date")
    verse = models.ForeignKey(VerseOfTheDay, on_delete=models.PROTECT, related_name="pushes")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="ticks that tried to send it")
    message_id = models.CharField(max_length=200, blank=True, help_text="FCM's message name")
    error = models.CharField(max_length=200, blank=True, help_text="the last error")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # While `sending`: the chunk that claimed it ("chunk:<id>"; a re-run of that chunk after its
    # worker died resends it) and until when (then any tick may take it over).
    claim = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # The user's devices FCM has accepted the verse for (device ids): a delivery taken up again
    # sends only to the others.
    sent_devices = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "envoi push"
        verbose_name_plural = "envois push"
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="one_delivery_per_user_day"),
        ]
        indexes = [models.Index(fields=["day", "state"], name="delivery_day_state_idx")]

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.state}"


class VersePlan(models.Model):
    """An operator's choice of the verse of a day for one language and one mood (or every mood):
    those pairs get it (source `plan`) and the AI is not asked for them (verses/editorial)."""

    day = models.DateField()
    language = models.CharField(max_length=2)
    # NULL and "" differ here: every mood, or the users without a mood.
    mood = models.CharField(max_length=16, null=True, blank=True, help_text="null: every mood; empty: no mood")  # noqa: DJ001
    book = models.PositiveSmallIntegerField()
    chapter = models.PositiveSmallIntegerField()
    verse_start = models.PositiveSmallIntegerField()
    verse_end = models.PositiveSmallIntegerField()
    reference = models.CharField(max_length=64, help_text="as the language's edition shows it")
    reflection = models.TextField(blank=True, help_text="empty: the mood's curated reflection")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "verset planifié"
        verbose_name_plural = "versets planifiés"
        ordering = ["day", "language", "mood"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "language", "mood"], condition=models.Q(mood__isnull=False), name="one_plan_per_pair"
            ),
            models.UniqueConstraint(
                fields=["day", "language"], condition=models.Q(mood__isnull=True), name="one_all_moods_plan_per_day"
            ),
        ]

    def __str__(self) -> str:
        mood = "toutes humeurs" if self.mood is None else self.mood or "sans humeur"
        return f"{self.day.isoformat()} {self.language} ({mood}) {self.reference}"


class FeastSetting(models.Model):
    """An operator's choice for a feast of the calendar (verses/editorial/feasts.py) in one
    language: its default reference accepted, another one, or switched off."""

    feast = models.CharField(max_length=32)
    language = models.CharField(max_length=2)
    enabled = models.BooleanField(default=True)
    # Empty: the feast's default reference (verses/editorial/data/feasts.tsv).
    reference = models.CharField(max_length=64, blank=True)
    reflection = models.TextField(blank=True, help_text="empty: the feast's default reflection")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "fête (choix)"
        verbose_name_plural = "fêtes (choix)"
        constraints = [models.UniqueConstraint(fields=["feast", "language"], name="one_setting_per_feast_language")]

    def __str__(self) -> str:
        return f"{self.feast} {self.language}"


class VerseReview(models.Model):
    """One editorial action on a pair's verse (approve, edit, replace, ask the AI again): who,
    when, before and after."""

    class Action(models.TextChoices):
        APPROVE = "approve", "Approuvé"
        EDIT = "edit", "Réflexion modifiée"
        REPLACE = "replace", "Référence remplacée"
        REGENERATE = "regenerate", "IA redemandée"

    verse = models.ForeignKey(VerseOfTheDay, on_delete=models.PROTECT, related_name="reviews")
    day = models.DateField()
    mood = models.CharField(max_length=16, blank=True)
    language = models.CharField(max_length=2)
    action = models.CharField(max_length=16, choices=Action.choices)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(auto_now_add=True)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)

    class Meta:
        verbose_name = "relecture de verset"
        verbose_name_plural = "relectures de versets"
        indexes = [models.Index(fields=["day", "reviewed_at"], name="versereview_day_idx")]

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.mood or 'default'}/{self.language} {self.action}"


from verses.campaigns.models import Campaign, CampaignDelivery  # noqa: E402, F401  (the app's models)
