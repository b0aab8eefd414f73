from tests.social.conftest import make_user, social_live  # noqa: F401  (the same module-wide server)
