"""The ``chaoscert`` entry point: registers the commands a call needs, runs them, turns errors into exit codes.

Exit codes follow elle-cli: 0 all valid, 1 something invalid, 2 nothing invalid but something
unknown, 255 on an error (bad input, bad option). Errors are one line, never a stack trace.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path
from typing import NoReturn

import typer

from chaos.cli.app import CliError, app
from chaos.run.exits import EXIT_ERROR
from checkers import HistoryFormatError

__all__ = ["main"]

PIPED_WIDTH = 120  # --help's width when stdout is no terminal (a pipe, a file, a CI log)


# Commands defined in chaos/cli/app.py need only ``checkers``; the others pull in clusters, workloads,
# scipy and the database drivers, so they are registered only when the command line may need them:
# `chaoscert check` on a hundred files must not pay for what `chaoscert run` imports.
LIGHT_COMMANDS = frozenset({"check", "history", "models", "version"})


def register_all_commands() -> None:
    """Add run, suite, report, analyze, serve, certificate, sla's peers, cluster, image and clean to ``app``."""
    if getattr(register_all_commands, "done", False):
        return
    from chaos.cli import certificate, report, run, suite  # noqa: F401  (their decorators register them)
    from chaos.cli.cluster import register

    register(app)
    register_all_commands.done = True  # type: ignore[attr-defined]


def _last_line(e: BaseException) -> str:
    tb = e.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return "?" if tb is None else f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"


class _ReaderMayLeave(io.TextIOWrapper):
    """stdout whose reader may go away (`chaoscert check ... | head`): the rest of the output then goes
    to /dev/null, and the command runs on and ends with its own exit code. On a broken pipe click and
    rich exit 1 themselves, which says "invalid" (check) or "violated" (sla) of valid histories."""

    def write(self, text: str) -> int:
        try:
            return super().write(text)
        except BrokenPipeError:
            self._reader_left()
            return len(text)

    def flush(self) -> None:
        try:
            super().flush()
        except BrokenPipeError:
            self._reader_left()
            super().flush()  # what was pending, into /dev/null

    def _reader_left(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.fileno())
        os.close(devnull)


def _stdout_whose_reader_may_leave() -> None:
    out = sys.stdout
    with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
        out.fileno()  # a real file or pipe, not a test's capture
        sys.stdout = _ReaderMayLeave(out.buffer, encoding=out.encoding, errors=out.errors,
                                     line_buffering=out.line_buffering)


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point: run the app; one line and exit 255 for any user error."""
    args = sys.argv[1:] if argv is None else argv
    if not sys.stdout.isatty() and not os.environ.get("COLUMNS") and not os.environ.get("TERMINAL_WIDTH"):
        # rich assumes 80 columns, and cuts option help short; typer reads this when it imports rich
        # for --help (importing it here would cost every command a tenth of a second)
        os.environ["TERMINAL_WIDTH"] = str(PIPED_WIDTH)
    # numpy's OpenBLAS starts a thread per core on import, which costs 35 ms and 0.1 s of CPU spinning;
    # chaoscert does no linear algebra, only array ops that run on one thread anyway
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    light = bool(args) and args[0] in LIGHT_COMMANDS
    if argv is None:
        _stdout_whose_reader_may_leave()
    if not light:
        register_all_commands()
    try:
        code = app(args=argv, standalone_mode=False)
    except typer.Exit as e:
        code = e.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("chaoscert: interrupted", err=True)
        code = 130
    except typer.TyperException as e:  # bad option or argument
        typer.echo(f"chaoscert: {e.format_message()}", err=True)
        code = EXIT_ERROR
    except (CliError, HistoryFormatError) as e:
        typer.echo(f"chaoscert: {e}", err=True)
        code = EXIT_ERROR
    except RecursionError:
        typer.echo("chaoscert: input nested too deeply to handle", err=True)
        code = EXIT_ERROR
    except MemoryError:
        typer.echo("chaoscert: out of memory", err=True)
        code = EXIT_ERROR
    except Exception as e:  # a bug of ours: one line, and where to report it
        where = f" (at {_last_line(e)})"
        typer.echo(f"chaoscert: internal error: {type(e).__name__}: {str(e)[:200]}{where}; please file a "
                   f"chaoscert issue titled \"internal error in chaoscert {' '.join(args[:1])}\" with the command "
                   "and its input", err=True)
        code = EXIT_ERROR
    code = code if isinstance(code, int) else 0
    if light and argv is None:
        # A history of 100k txns is millions of objects (kept alive by app.LAST_READ); freeing them one
        # by one, then the modules, took 0.17 s after the verdict was printed. These commands leave no
        # threads, temporary files or exit handlers behind, so the process (the `chaoscert` command,
        # not a caller of main(argv)) ends without that teardown.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a reader that went away (`| head`), a closed stream
                stream.flush()
        os._exit(code)
    sys.exit(code)

