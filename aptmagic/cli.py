"""The aptmagic command: serve, api, worker, serve-model, migrate, backup, restore, models, user; and the client commands (aptmagic.client.cli)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from aptmagic.client.cli import register as register_client_commands

app = typer.Typer(help="aptmagic: self-hostable generative AI.", no_args_is_help=True, add_completion=False)
models_app = typer.Typer(help="The model registry.", no_args_is_help=True)
app.add_typer(models_app, name="models")
user_app = typer.Typer(help="Accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")
register_client_commands(app)  # generate, vary, caption, chat, transcribe: against a server
console = Console()

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Folder for database, blobs and models.")]


def _settings(**overrides: Any) -> Any:
    from aptmagic.config import Settings
    from aptmagic.kit.secret_refs import SecretRefError

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:  # a ValidationError, or APTMAGIC_CONFIG_FILE naming no file
        console.print(f"[red]Invalid settings:[/red] {exc}")
        raise typer.Exit(2) from None
    except SecretRefError as exc:  # an aws-sm:// or aws-ssm:// value that cannot be read
        console.print(f"[red]Settings not read:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


@app.command()
def serve(
    demo: Annotated[bool, typer.Option("--demo", help="Use the tiny offline models as the defaults.")] = False,
    host: Annotated[str | None, typer.Option(help="Listen address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Run the API, the web page and an in-process worker. Applies migrations first."""
    import uvicorn

    from aptmagic.app import create_app
    from aptmagic.observability.logging import configure_logging

    settings = _settings(demo=demo or None, host=host, port=port, data_dir=data_dir)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    configure_logging(settings.log_level)
    console.print(f"aptmagic on http://{settings.host}:{settings.port}  (data in {settings.data_dir})", highlight=False)
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=5
    )


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Listen address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="HTTP processes (settings from the environment).")] = 1,
    data_dir: DataDir = None,
) -> None:
    """Run the HTTP API only; jobs run in `aptmagic worker` processes (queue_backend = celery)."""
    import uvicorn

    from aptmagic.app import create_app
    from aptmagic.observability.logging import configure_logging

    settings = _settings(host=host, port=port, data_dir=data_dir, worker_concurrency=0)
    configure_logging(settings.log_level)
    if settings.queue_backend != "celery":
        console.print("[yellow]queue_backend is inprocess: nothing will run the jobs; use `aptmagic serve`.[/yellow]")
    console.print(f"aptmagic API on http://{settings.host}:{settings.port}", highlight=False)
    if workers > 1:  # each process builds its app from the environment: pass the options on through it
        for key, value in {"HOST": settings.host, "PORT": settings.port, "DATA_DIR": settings.data_dir}.items():
            os.environ[f"APTMAGIC_{key}"] = str(value)
        os.environ["APTMAGIC_WORKER_CONCURRENCY"] = "0"
        uvicorn.run("aptmagic.app:create_app", factory=True, workers=workers, host=settings.host, port=settings.port,
                    log_config=None, timeout_graceful_shutdown=5)  # fmt: skip
        return
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=5
    )


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queues to take jobs from: gpu, cpu.")] = "gpu,cpu",
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Jobs run at once (threads).")] = 1,
    data_dir: DataDir = None,
) -> None:
    """Run jobs from the broker (queue_backend = celery). SIGTERM: finish or release the running job, then exit."""
    from aptmagic.observability.logging import configure_logging
    from aptmagic.queue.routing import QUEUES

    names = [name.strip() for name in queues.split(",") if name.strip()]
    unknown = sorted(set(names) - set(QUEUES))
    if not names or unknown:
        console.print(f"[red]--queues:[/red] choose from {', '.join(QUEUES)}; got {queues!r}")
        raise typer.Exit(2)
    settings = _settings(data_dir=data_dir, worker_concurrency=0)
    if settings.queue_backend != "celery":
        console.print("[red]aptmagic worker needs APTMAGIC_QUEUE_BACKEND=celery and APTMAGIC_BROKER_URL.[/red]")
        raise typer.Exit(2)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    configure_logging(settings.log_level)
    from aptmagic.worker import run_worker

    raise typer.Exit(run_worker(settings, list(dict.fromkeys(names)), concurrency))


@app.command("serve-model")
def serve_model(
    model: Annotated[
        str | None, typer.Option("--model", envvar="APTMAGIC_SERVE_MODEL", help="Registry id of the model to serve.")
    ] = None,
    sagemaker: Annotated[
        str | None, typer.Argument(hidden=True, help="'serve', as SageMaker starts a container.")
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Listen address (127.0.0.1; 0.0.0.0 when started as 'serve').")
    ] = None,
    port: Annotated[int, typer.Option(help="Port (SageMaker calls 8080).")] = 8080,
    demo: Annotated[bool, typer.Option("--demo", help="Use the tiny offline models as the defaults.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Serve one registry model as a SageMaker container: GET /ping, POST /invocations (no database)."""
    import uvicorn

    from aptmagic.observability.logging import configure_logging
    from aptmagic.serving.app import create_model_app
    from aptmagic.wiring.models import build_models

    if sagemaker not in (None, "serve"):
        console.print(f"[red]unexpected argument {sagemaker!r}[/red] (SageMaker passes 'serve')")
        raise typer.Exit(2)
    settings = _settings(demo=demo or None, data_dir=data_dir)
    registry, models = build_models(settings)
    if model is None or model not in {spec.id for spec in registry.all()}:
        known = ", ".join(spec.id for spec in registry.all())
        console.print(f"[red]--model (or APTMAGIC_SERVE_MODEL):[/red] a registry id; got {model!r}; known: {known}")
        raise typer.Exit(2)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    configure_logging(settings.log_level)
    listen = host or ("0.0.0.0" if sagemaker == "serve" else "127.0.0.1")
    console.print(f"model {model} on http://{listen}:{port}  (/ping, /invocations)", highlight=False)
    uvicorn.run(create_model_app(registry, models, model), host=listen, port=port, log_config=None)


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Apply database migrations up to the newest."""
    from aptmagic.db.session import create_db_engine
    from aptmagic.migrations import migrate as db_migrate

    settings = _settings(data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.resolved_database_url)
    db_migrate.upgrade(engine)
    console.print(f"database at revision {db_migrate.current_revision(engine)}")
    engine.dispose()


@app.command()
def backup(
    destination: Annotated[str, typer.Argument(help="A new or empty folder, or s3://bucket/prefix.")],
    data_dir: DataDir = None,
) -> None:
    """Back up the embedded database and blob folder, consistent with each other; the server may keep running."""
    from aptmagic.backup.base import BackupError
    from aptmagic.wiring.backup import NotEmbedded, backup_service, open_location

    settings = _settings(data_dir=data_dir)
    try:
        target = open_location(settings, destination)
        manifest = backup_service(settings).backup(target)
    except NotEmbedded as exc:
        console.print(str(exc), highlight=False)
        raise typer.Exit(2) from None
    except BackupError as exc:
        console.print(f"[red]Backup failed:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"backed up the database (revision {manifest.alembic_revision}) and {manifest.blob_count} blobs, "
                  f"{manifest.total_bytes} bytes, to {target.location}", highlight=False)  # fmt: skip
    if manifest.missing_blobs:
        console.print(f"[yellow]{len(manifest.missing_blobs)} asset rows name blobs the store had already lost "
                      f"(listed in the manifest), e.g. {manifest.missing_blobs[0]}[/yellow]", highlight=False)  # fmt: skip


@app.command()
def restore(
    source: Annotated[str, typer.Argument(help="A backup folder, or s3://bucket/prefix.")],
    force: Annotated[bool, typer.Option("--force", help="Replace the data folder's database and blobs.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Restore a backup into an empty data folder (stop aptmagic first), after checking every file's checksum."""
    from aptmagic.backup.base import BackupError
    from aptmagic.wiring.backup import NotEmbedded, backup_service, open_location

    settings = _settings(data_dir=data_dir)
    try:
        manifest = backup_service(settings).restore(open_location(settings, source), force=force)
    except NotEmbedded as exc:
        console.print(str(exc), highlight=False)
        raise typer.Exit(2) from None
    except BackupError as exc:
        console.print(f"[red]Not restored:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"restored the database (revision {manifest.alembic_revision}) and {manifest.blob_count} blobs "
                  f"made {manifest.created_at:%Y-%m-%d %H:%M:%S} UTC into {settings.data_dir}", highlight=False)  # fmt: skip


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option(help="3-32 letters, digits, '_', '.', '-'.")],
    email: Annotated[str, typer.Option(help="The account's email address.")],
    admin: Annotated[bool, typer.Option("--admin", help="Give the account the admin role.")] = False,
    plan: Annotated[str | None, typer.Option(help="Plan name from the settings' plans; default: default_plan.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Create an account. The password comes from APTMAGIC_NEW_USER_PASSWORD, standard input
    (--password-stdin), or a prompt. Migrates the database first."""
    import sys

    from aptmagic.auth.models import Role
    from aptmagic.auth.service import AuthService
    from aptmagic.db.session import create_db_engine, create_session_factory
    from aptmagic.kit.errors import AppError
    from aptmagic.migrations import migrate as db_migrate

    password = os.environ.get("APTMAGIC_NEW_USER_PASSWORD")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = _settings(data_dir=data_dir)
    if plan is not None and plan not in settings.plans:
        console.print(f"[red]Not created:[/red] unknown plan {plan!r}; plans: {sorted(settings.plans)}")
        raise typer.Exit(1)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.resolved_database_url)
    try:
        db_migrate.upgrade(engine)
        with create_session_factory(engine).begin() as session:
            role = Role.admin if admin else Role.user
            user = AuthService(settings).create_user(session, email, username, password, role=role)
            user.plan = plan
            user_id = user.id
    except AppError as exc:
        console.print(f"[red]Not created:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    on_plan = plan or f"{settings.default_plan} (default)"
    console.print(
        f"created {'admin' if admin else 'user'} {username.lower()} ({user_id}) on plan {on_plan}", highlight=False
    )


@models_app.command("list")
def models_list(demo: Annotated[bool, typer.Option("--demo")] = False) -> None:
    """List registry entries: id, task, source, version, licence, size."""
    from aptmagic.inference.registry import build_registry

    settings = _settings(demo=demo or None)
    registry = build_registry(settings.models, settings.default_models, settings.demo)
    defaults = set(registry.defaults().values())
    table = Table("id", "task", "source", "version", "device", "licence", "size")
    for spec in registry.all():
        marker = " (default)" if spec.id in defaults else ""
        table.add_row(spec.id + marker, spec.task, spec.source, spec.version, spec.device, spec.license, spec.size)
    console.print(table)


def main() -> None:
    app()
