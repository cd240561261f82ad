import factory

from users.models import Device, Language, Mood, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    mood = Mood.JOYFUL
    language = Language.FRENCH
    password = factory.django.Password("correct horse battery staple")

    # Not a field: a token device, as PATCH users/me {"fcm_token"} registers one (the old way);
    # `fcm_token=""`: none (the user is not active). Kept on the instance as `user.fcm_token`.
    fcm_token = factory.LazyAttribute(lambda user: f"token-{user.email.partition('@')[0]}:APA91b{'x' * 40}")

    @classmethod
    def _build(cls, model_class, *args, fcm_token="", **kwargs):
        user = super()._build(model_class, *args, **kwargs)
        user.fcm_token = fcm_token
        return user

    @classmethod
    def _create(cls, model_class, *args, fcm_token="", **kwargs):
        user = super()._create(model_class, *args, **kwargs)
        user.fcm_token = fcm_token
        if fcm_token:
            Device.objects.create(user=user, kind=Device.Kind.TOKEN, identifier=fcm_token)
        return user


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    user = factory.SubFactory(UserFactory, fcm_token="")
    kind = Device.Kind.FID
    # FIDs are 22 characters, the first c, d, e or f.
    identifier = factory.Sequence(lambda n: f"f{n:021d}")
    platform = Device.Platform.ANDROID
    app_version = "2.4.0"


def devices_bulk_create(users, *, kind: str = Device.Kind.TOKEN, prefix: str = "t") -> list[Device]:
    """One device per user, identified `<prefix><n>` (n: the user's position), in one INSERT."""
    return Device.objects.bulk_create(
        [Device(user=user, kind=kind, identifier=f"{prefix}{n}") for n, user in enumerate(users)]
    )


def token_key_for(user: User) -> str:
    """A new API token of `user` (as a device signing in gets one); its key."""
    from users.services import api_token_create

    return api_token_create(user=user)[1]
