"""A web process's first requests, paid once when it loads instead: the URLconf imported and its
reverse lookups built (every view module with it), Remit's own templates compiled into the cached
loader, the form widgets' templates with them.

Measured in a fresh process (bench/README.md): the first GET of the sign-in page cost 437 ms of
CPU, of which importing the URLconf was ~309 ms and compiling the first templates ~93 ms; a warm
page costs ~5 ms. `remit/wsgi.py` calls `warm_up()` at import, so under `gunicorn --preload` the
master pays it once before forking and every worker starts warm (docs/deploy.md); without
`--preload` each worker pays it as it boots, before it takes a request.

Nothing here opens a database connection (a connection made before gunicorn forks would be shared
by every worker), sends a query or reads the cache: only Python imports and template compilation,
the same objects every request would build on its own.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def _template_names(directory: Path) -> list[str]:
    return sorted(
        path.relative_to(directory).as_posix()
        for path in directory.rglob("*")
        if path.is_file() and path.suffix in {".html", ".txt"}
    )


def _own_template_dirs(engine) -> list[Path]:
    """The engine's template directories inside the project (its DIRS and Remit's apps'), not
    the admin's or other packages' (the back office's admin pages warm as they are used)."""
    from django.template.utils import get_app_template_dirs

    base = Path(settings.BASE_DIR).resolve()
    candidates = [Path(d) for d in engine.dirs]
    if engine.app_dirs:
        candidates += [Path(d) for d in get_app_template_dirs("templates")]
    own = []
    for directory in candidates:
        resolved = directory.resolve()
        if resolved.is_dir() and resolved.is_relative_to(base) and ".venv" not in resolved.parts:
            own.append(resolved)
    return list(dict.fromkeys(own))


def warm_templates() -> int:
    """Every template of Remit's own loaded through each engine's cached loader; returns how many."""
    from django.forms.renderers import get_default_renderer
    from django.template import engines

    loaded = 0
    for backend in engines.all():
        engine = getattr(backend, "engine", None)
        if engine is None:  # not a Django templates backend
            continue
        for directory in _own_template_dirs(engine):
            for name in _template_names(directory):
                engine.get_template(name)
                loaded += 1
    # The form renderer keeps its own engine: its widget and field templates.
    renderer = get_default_renderer()
    renderer_engine = getattr(renderer, "engine", None)
    if renderer_engine is not None:
        import django.forms

        forms_templates = Path(django.forms.__file__).parent / "templates"
        for name in _template_names(forms_templates):
            if name.startswith("django/forms/") and name.endswith(".html"):
                renderer_engine.get_template(name)
                loaded += 1
    return loaded


def warm_urls() -> None:
    """The URLconf imported (and every view module it names) and its reverse lookups built."""
    from django.urls import get_resolver

    resolver = get_resolver()
    resolver.reverse_dict  # noqa: B018 (populates the resolver, importing every view)


def warm_up() -> None:
    warm_urls()
    warm_templates()
