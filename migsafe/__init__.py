"""migsafe: keeps database migrations from taking production down."""

__version__ = "0.1.0"


def install_hint(extra: str) -> str:
    """How to get an optional part. migsafe is installed from its repository: the PyPI
    package of the same name is another project, so a bare ``pip install 'migsafe[x]'``
    would fetch that one instead."""
    return (
        f"install migsafe's {extra} extra (pip install '/path/to/migsafe-checkout[{extra}]'; "
        "the PyPI package named migsafe is a different project)"
    )
