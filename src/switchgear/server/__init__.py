"""The ASGI application: hot-path handlers dispatched before any framework, health, lifecycle."""

from switchgear.server.app import App, build_app
from switchgear.server.run import serve

__all__ = ["App", "build_app", "serve"]
