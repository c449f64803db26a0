"""migsafe: keeps database migrations from taking production down."""

__version__ = "0.1.0"
