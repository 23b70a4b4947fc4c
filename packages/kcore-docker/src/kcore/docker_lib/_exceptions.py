"""The errors of :mod:`kcore.docker_lib` (import the names from there)."""

from kcore.common import KcoreError

# The errors' module as tracebacks show it: where users import them from.
_HOME = "kcore.docker_lib"


class DockerLibError(KcoreError):
    """Root of the errors kcore.docker_lib raises."""

    __module__ = _HOME


class DockerUnavailable(DockerLibError, ImportError):
    """The docker SDK is not installed."""

    __module__ = _HOME


class EngineError(DockerLibError, ConnectionError):
    """The engine cannot be reached, or refused what was asked."""

    __module__ = _HOME


class ContainerNotFound(DockerLibError, LookupError):
    """No container has that name."""

    __module__ = _HOME


class NoCowDir(DockerLibError, LookupError):
    """The container's storage driver has no copy-on-write (upper) directory."""

    __module__ = _HOME


class ExpectationFailed(DockerLibError, AssertionError):
    """A testing helper found something other than what was expected."""

    __module__ = _HOME
