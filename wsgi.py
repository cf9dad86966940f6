"""The application gunicorn serves (the Procfile's `web`): `gunicorn --config gunicorn.conf.py wsgi:app`.

Kept apart from app.py, as Falcon's asgilook example does, so that importing the factory (tests, tools)
never builds an app from the environment. `read_model` is here for gunicorn's warm-up hook.
"""
from app import create_app, make_read_model
from config import Config

config = Config.from_env()
read_model = make_read_model(config)
app = create_app(config, read_model=read_model)
