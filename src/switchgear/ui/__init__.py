"""The admin web UI's files: Jinja2 templates (``templates/``) and the stylesheet (``static/``),
shipped inside the package and served by ``switchgear.server.ui_app`` at ``/ui`` (no CDN, no script:
the UI works air-gapped under a strict Content-Security-Policy)."""
