"""Entry point of the ``tlslens`` command, kept free of imports that take time: the commands are
imported inside ``main()``, so Ctrl-C at any moment (during those imports too) ends with
``interrupted`` on stderr and exit status 130, never a traceback. A closed stdout (``tlslens verify
chain.pem | head -1``) ends quietly, with the exit status the command's verdict calls for. The
interpreter's teardown skips the garbage collector's walk over what the command left (``gc.freeze``).
"""

from __future__ import annotations

import gc
import sys

INTERRUPTED = 130
"""128 + SIGINT, what a shell reports for a command ended by Ctrl-C."""


def interrupted() -> None:
    try:
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
    except (OSError, ValueError, KeyboardInterrupt):
        pass
    raise SystemExit(INTERRUPTED)


def main() -> None:
    try:
        from tlslens.cli.quiet_stdout import guard_stdout

        guard_stdout()
        import click

        from tlslens.cli.commands import cli

        try:
            code = cli.main(prog_name="tlslens", standalone_mode=False)
            if isinstance(code, int):  # --help, --version
                raise SystemExit(code)
        except click.exceptions.Abort as exc:  # click's answer to Ctrl-C inside a command
            if isinstance(exc.__context__, KeyboardInterrupt) or isinstance(exc.__cause__, KeyboardInterrupt):
                interrupted()
            raise SystemExit(1) from None
        except click.exceptions.Exit as exc:
            raise SystemExit(exc.exit_code) from None
        except click.ClickException as exc:
            exc.show()
            raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        interrupted()
    finally:
        # The command is done; what is left is the interpreter's teardown, whose garbage collections
        # walk every object the imports and the command made (about 0.1 s of a scan's 0.5 s on a small
        # machine). Frozen objects are not walked, and the process ends all the same. (``main`` is
        # the process's entry point only: nothing runs after it that would need those collections.)
        gc.freeze()
