import factory

from users.models import Language, Mood, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    fcm_token = factory.Sequence(lambda n: f"token-{n}:APA91b{'x' * 40}")
    mood = Mood.JOYFUL
    language = Language.FRENCH
    password = factory.django.Password("correct horse battery staple")


def token_key_for(user: User) -> str:
    """A new API token of `user` (as a device signing in gets one); its key."""
    from users.services import api_token_create

    return api_token_create(user=user)[1]
