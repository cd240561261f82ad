from django.apps import AppConfig


class VersesConfig(AppConfig):
    name = "verses"
    verbose_name = "Versets"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save
        from knox.models import AuthToken

        from verses import (
            checks,  # noqa: F401  (registers the deploy checks)
            today_cache,
        )
        from verses.models import DailyVerse, VerseOfTheDay

        # What ends an answer kept for verses/today (verses.today_cache): the ORM's signals see every
        # path that ends a token (knox's views, the password hook, a user's deletion) or edits a verse.
        uid = "verses.today_cache."
        post_delete.connect(today_cache.token_deleted, sender=AuthToken, dispatch_uid=uid + "token")
        post_save.connect(today_cache.user_saved, sender=get_user_model(), dispatch_uid=uid + "user")
        post_save.connect(today_cache.verse_changed, sender=VerseOfTheDay, dispatch_uid=uid + "pair_saved")
        post_delete.connect(today_cache.verse_changed, sender=VerseOfTheDay, dispatch_uid=uid + "pair_deleted")
        post_save.connect(today_cache.verse_changed, sender=DailyVerse, dispatch_uid=uid + "daily_saved")
