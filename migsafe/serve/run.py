"""Run the application under uvicorn, with logging set up for a container: access lines
(JSON, one per request) on standard output, everything else on standard error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migsafe.config import Config
    from migsafe.serve.app import Options

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "%(message)s"},
        "server": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "access": {
            "class": "logging.StreamHandler",
            "formatter": "line",
            "stream": "ext://sys.stdout",
        },
        "server": {
            "class": "logging.StreamHandler",
            "formatter": "server",
            "stream": "ext://sys.stderr",
        },
    },
    "loggers": {
        "migsafe.serve.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        "migsafe.serve.error": {"handlers": ["server"], "level": "INFO", "propagate": False},
        "uvicorn": {"handlers": ["server"], "level": "INFO", "propagate": False},
    },
}


def serve(
    dsn: str, cfg: Config, options: Options, *, host: str, port: int, cache_ttl: float
) -> None:
    import uvicorn

    from migsafe.serve.app import create_app
    from migsafe.serve.gatekeeper import Gatekeeper

    app = create_app(Gatekeeper(dsn, cfg, cache_ttl, deadline=options.deadline), options)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=LOGGING,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
